"""The declared public API: every module names what it offers in `__all__`, and the packages
use each other, and each module its neighbours, only through those names."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("hpo", "bench", "cache", "reports")


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


MODULES = _modules()


def _top_level_names(tree: ast.Module) -> set[str]:
    """What a module binds at its top level: definitions, assignments and imports."""
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
    if "__getattr__" in names:  # loaded on first use (PEP 562): the names a top-level dict maps
        for node in tree.body:
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Dict):
                names.update(k.value for k in node.value.keys if isinstance(k, ast.Constant))
    return names


def _declared(tree: ast.Module) -> list[str] | None:
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
        if any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets) and node.value is not None:
            return ast.literal_eval(node.value)
    return None


TREES = {name: ast.parse(path.read_text()) for name, path in MODULES.items()}


@pytest.mark.parametrize("module", sorted(MODULES))
def test_every_module_declares_what_it_offers(module) -> None:
    declared = _declared(TREES[module])
    assert declared is not None, f"{module} has no __all__"
    missing = set(declared) - _top_level_names(TREES[module])
    assert not missing, f"{module}.__all__ names what it does not define: {sorted(missing)}"


def test_modules_import_only_declared_names_from_each_other() -> None:
    """A name imported from another module of the product is in that module's `__all__` (or is
    one of its submodules): what is not declared can change without notice."""
    undeclared = []
    for module, tree in TREES.items():
        for node in ast.walk(tree):
            if not isinstance(node, ast.ImportFrom) or node.level or node.module not in MODULES:
                continue
            declared = set(_declared(TREES[node.module]) or ())
            for alias in node.names:
                if alias.name not in declared and f"{node.module}.{alias.name}" not in MODULES:
                    undeclared.append(f"{module}: from {node.module} import {alias.name}")
    assert not undeclared, "\n".join(undeclared)


def test_the_api_reference_covers_every_module() -> None:
    """docs/api/<package>.md renders each module's `__all__` (`nox -s docs`): a new module is listed there."""
    listed = set()
    for package in PACKAGES:
        text = (ROOT / "docs" / "api" / f"{package}.md").read_text()
        listed |= {line[4:].strip() for line in text.splitlines() if line.startswith("::: ")}
    expected = {name for name in MODULES if not name.endswith("__main__")}
    assert listed == expected, f"missing: {sorted(expected - listed)}; unknown: {sorted(listed - expected)}"
