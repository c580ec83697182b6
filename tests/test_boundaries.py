"""The package boundaries of DESIGN.md: data flows hpo <- cache <- bench -> reports."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = {
    "hpo": {"cache", "bench", "reports"},
    "cache": {"bench", "reports"},
    "reports": {"hpo", "cache", "bench"},  # reports reads result rows only
}


def imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_imports_respect_the_design(package) -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(imported_packages(path) & FORBIDDEN[package])
        for path in sorted((ROOT / package).rglob("*.py"))
    }
    offenders = {k: v for k, v in offenders.items() if v}
    assert not offenders, offenders


def test_the_check_sees_imports_inside_functions(tmp_path) -> None:
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from bench.cli import cli\n    import cache.store\n")
    assert imported_packages(module) == {"bench", "cache"}
