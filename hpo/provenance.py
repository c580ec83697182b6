"""Where a result came from: package versions, commit, machine, command, time."""

from __future__ import annotations

import datetime as _dt
import importlib.metadata
import platform
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np

import hpo

__all__ = ["command_line", "environment", "now_iso"]


def git_commit(path: Path | None = None) -> str | None:
    """The commit of the checkout holding this package (None outside a git checkout)."""
    path = path or Path(hpo.__file__).resolve().parent.parent
    try:
        out = subprocess.run(
            ["git", "-C", str(path), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    commit = out.stdout.strip()
    return commit if out.returncode == 0 and len(commit) == 40 else None


def cpu_name() -> str:
    """The CPU model name from /proc/cpuinfo, or platform's guess."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def environment() -> dict[str, Any]:
    """Versions, commit and machine facts to stamp on anything stored (without importing torch;
    a training adds its own facts: `hpo.training.facts`)."""
    return {
        "package_version": hpo.__version__,
        "commit": git_commit(),
        "python": platform.python_version(),
        "torch": _version("torch"),
        "numpy": np.__version__,
        "scipy": _version("scipy"),
        "pandas": _version("pandas"),
        "pyarrow": _version("pyarrow"),
        "platform": platform.platform(),
        "cpu": cpu_name(),
    }


def _version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def command_line() -> str:
    """The command that started this process, as a shell would read it."""
    argv = list(sys.argv)
    # the script, `python -m bench` or `python -m bench.cli`
    if argv and argv[0].endswith(("/bench", "bench", "bench/__main__.py", "bench/cli.py")):
        argv[0] = "bench"
    return shlex.join(argv)


def now_iso() -> str:
    """Current UTC time in ISO 8601."""
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
