"""nox sessions: tests, lint, bench. torch is pinned to the CPU build on purpose."""

from __future__ import annotations

import nox

# An unpinned torch can pull a multi-GB CUDA build; this is the CPU build used everywhere here.
TORCH = "torch==2.13.0"

nox.options.sessions = ["tests", "lint"]
nox.options.reuse_existing_virtualenvs = True


def _install(session: nox.Session, extras: str) -> None:
    session.install(TORCH)
    session.install("-e", f".[{extras}]")


@nox.session
def tests(session: nox.Session) -> None:
    """The test suite (real-data tests run where the Debian dataset package is installed)."""
    _install(session, "test")
    session.run("pytest", "-q", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff check and ruff format --check."""
    session.install("ruff==0.17.6")  # pinned: formatter output changes between releases
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def bench(session: nox.Session) -> None:
    """Speed benchmarks (pytest-benchmark) with the ratios the issues ask for."""
    _install(session, "test")
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
