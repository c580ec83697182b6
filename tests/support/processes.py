"""Finding and killing this process's local Dask workers, for fault-injection tests."""

from __future__ import annotations

import os
import signal

import psutil


def _is_worker(process: psutil.Process) -> bool:
    """A local Dask worker process (spawned by multiprocessing, not its resource tracker)."""
    try:
        cmdline = " ".join(process.cmdline())
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False  # a short-lived child (a compiler, say) that ended while we looked
    return "spawn_main" in cmdline and "resource_tracker" not in cmdline


def _cpu(process: psutil.Process) -> float:
    try:
        return process.cpu_percent(interval=0.05)
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return -1.0


def kill_busiest_worker() -> int:
    """SIGKILL the local Dask worker using the most CPU (the one training); return its pid."""
    workers = [p for p in psutil.Process().children(recursive=True) if _is_worker(p)]
    busy = max(workers, key=_cpu)
    os.kill(busy.pid, signal.SIGKILL)
    return busy.pid
