"""nox sessions: tests, lint, report, extras, docs, long, bench, bo, lock. Every session installs from the lock
file (docs from requirements/docs.txt, compiled within it)."""

from __future__ import annotations

import nox

# The locked environment: pip-compile's output for pyproject.toml + requirements/pins.in.
# torch is pinned there to 2.13.0, the CPU build where a CPU wheel is served; an unpinned torch
# can pull a multi-GB CUDA build.
LOCK = "requirements/lock.txt"
TORCH = "torch==2.13.0"

nox.options.sessions = ["tests", "lint"]
nox.options.reuse_existing_virtualenvs = True


def _install(session: nox.Session, extras: str) -> None:
    session.install("-c", LOCK, TORCH)
    session.install("-c", LOCK, "-e", f".[{extras}]")


@nox.session
def tests(session: nox.Session) -> None:
    """The test suite (real-data tests run where the Debian dataset package is installed; the C++
    kernel's tests where a compiler is, with the native extra's ninja)."""
    _install(session, "test,native")
    session.run("pytest", "-q", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff check, ruff format --check, and the package boundaries (import-linter contracts)."""
    session.install("-c", LOCK, "ruff", "import-linter")  # pinned: formatter output changes between releases
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    # the contracts in pyproject.toml; the packages are found from the repository root
    session.run("lint-imports", env={"PYTHONPATH": "."})


@nox.session
def report(session: nox.Session) -> None:
    """A small comparison's report rendered in headless Chromium, offline: every figure must render and
    the page must request nothing outside itself (Debian: apt-get install chromium)."""
    _install(session, "test")
    out = session.create_tmp()
    session.run(
        "bench",
        "compare",
        "--models",
        "softmax,svm",
        "--algorithms",
        "random,bo,sh,asha,examples.local_search:LocalSearch",  # a plug-in beside the built-ins
        "--seeds",
        "3",
        "--workers",
        "1,4",
        "--out",
        f"{out}/compare",
        "--quiet",
    )
    # regret and rank over time (2), the worker sweep, two critical-difference diagrams, the curves
    session.run(
        "python",
        "tools/check_report.py",
        f"{out}/compare/report.html",
        "--screenshot",
        f"{out}/report.png",
        "--min-images",
        "6",
    )


@nox.session
def extras(session: nox.Session) -> None:
    """The field's optimizers and frameworks (extras smac, synetune, carps): the tests that need them,
    then one small comparison with every baseline beside the built-ins."""
    _install(session, "test,smac,synetune,carps")
    session.run(
        "pytest",
        "-q",
        "tests/cache/test_clients.py",
        "tests/cache/test_frameworks.py",
        "tests/hpo/test_outside.py",
        "tests/hpo/test_formats.py",
        "tests/cache/test_blackbox.py",
        *session.posargs,
    )
    # the conformance kit for the slow library optimizers (Optuna's GP, SMAC3), left out of `tests`
    session.run(
        "pytest", "-q", "-m", "extras", "tests/bench/test_plugins.py", "-k", "not cqr", *session.posargs
    )
    # the searcher contract, the loop and live runs for each baseline
    session.run(
        "pytest",
        "-q",
        "tests/bench/test_plugins.py",
        "tests/hpo/test_searchers.py",
        "tests/hpo/test_tuner.py",
        "tests/bench/test_cli_run.py",
        "-k",
        "(smac or st-asha or st-bohb) and not (cqr and (four_workers or live))",
        *session.posargs,
    )
    out = session.create_tmp()
    session.run(
        "bench",
        "compare",
        "--models",
        "softmax,svm",
        "--algorithms",
        "random,asha,tpe,smac-bo,smac-hb,st-asha,st-bohb",
        "--seeds",
        "2",
        "--out",
        f"{out}/compare",
        "--quiet",
    )


@nox.session
def docs(session: nox.Session) -> None:
    """The documentation site, strictly (any warning fails): the guides and the API reference that
    mkdocstrings generates from the docstrings of every module's `__all__`."""
    session.install("-r", "requirements/docs.txt")
    session.run("mkdocs", "build", "--strict", "--site-dir", session.create_tmp() + "/site", *session.posargs)


@nox.session
def long(session: nox.Session) -> None:
    """The tests that wait a minute or more on purpose (marked long), left out of `tests`."""
    _install(session, "test")
    session.run("pytest", "-q", "-m", "long", *session.posargs)


@nox.session
def bench(session: nox.Session) -> None:
    """Speed benchmarks (pytest-benchmark) with the ratios the issues ask for."""
    _install(session, "test,native")
    session.run(
        "pytest",
        "benchmarks",
        "--benchmark-enable",
        "--benchmark-only",
        "--benchmark-columns=min,median,mean,rounds",
        "-p",
        "no:cacheprovider",
        "-s",
        *session.posargs,
    )


@nox.session
def bo(session: nox.Session) -> None:
    """The built-in BO against Optuna's GPSampler, both in one run (docs/engine.md's table; about 25
    minutes on two cores): `nox -s bo -- --seeds 20 --out bo.json`."""
    _install(session, "test")
    session.run("python", "benchmarks/bo_against_optuna.py", *session.posargs)


@nox.session
def lock(session: nox.Session) -> None:
    """Refresh requirements/lock.txt from pyproject.toml and requirements/pins.in (pip-tools)."""
    session.install("pip-tools")
    compile_ = (
        "pip-compile",
        "--quiet",
        "--upgrade",
        "--strip-extras",
        "--no-emit-index-url",
        "--no-emit-find-links",
    )
    extras = ("test", "dev", "smac", "synetune", "carps", "native")
    session.run(
        *compile_,
        *(f"--extra={e}" for e in extras),
        f"--output-file={LOCK}",
        "pyproject.toml",
        "requirements/pins.in",
    )
    _drop_local_version(LOCK, "torch")
    # the documentation build's tools, within the lock's versions of what both use
    session.run(*compile_, "--output-file=requirements/docs.txt", "requirements/docs.in")


def _drop_local_version(path: str, package: str) -> None:
    """`torch==2.13.0+cpu` -> `torch==2.13.0`: either build satisfies the pin (PEP 440), so the
    lock serves machines with a local CPU wheel and those that use PyTorch's CPU index alike."""
    with open(path) as fh:
        lines = fh.read().splitlines(keepends=True)
    prefix = f"{package}=="
    fixed = [line.split("+")[0] + "\n" if line.startswith(prefix) and "+" in line else line for line in lines]
    with open(path, "w") as fh:
        fh.writelines(fixed)
