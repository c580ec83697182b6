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
import torch

import hpo
from hpo.models import get_model
from hpo.training.device import cpu_has_native_bf16


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


def environment(device: torch.device | str | None = None, model: str | None = None) -> dict[str, Any]:
    """Versions, commit and machine facts to stamp on anything stored; with `model`, its code paths."""
    info: dict[str, Any] = {
        "package_version": hpo.__version__,
        "commit": git_commit(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "scipy": _version("scipy"),
        "pandas": _version("pandas"),
        "pyarrow": _version("pyarrow"),
        "platform": platform.platform(),
        "cpu": cpu_name(),
        # oneDNN picks its kernels by instruction set: the same code and seed give other bits
        # (and another speed) on an AVX2 CPU than on an AVX-512 one of the same name
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "cpu_bf16": cpu_has_native_bf16(),
        "threads": torch.get_num_threads(),
    }
    if device is not None:
        device = torch.device(device)
        info["device"] = str(device)
        if device.type == "cuda":
            info["gpu"] = torch.cuda.get_device_name(device)
    if model is not None:
        info.update(get_model(model).runtime_facts(torch.device(device or "cpu")))
    return info


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
