"""Process-wide runtime settings for training: thread count and the C allocator."""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

import torch

__all__ = ["configure", "tune_allocator"]

_M_TRIM_THRESHOLD = -1
_M_TOP_PAD = -2
_M_MMAP_THRESHOLD = -3
_tuned = False


def tune_allocator() -> bool:
    """Keep glibc from returning large activations to the OS after every step.

    By default glibc serves allocations over a few MB with mmap and unmaps them on free, so
    every training step page-faults its activations in again (32 MB is glibc's maximum; what
    raising the thresholds saves is in docs/speed.md). Idempotent; a no-op where glibc is
    absent. Returns whether the setting was applied.
    """
    global _tuned
    if _tuned:
        return True
    if not sys.platform.startswith("linux"):
        return False
    libc_name = ctypes.util.find_library("c")
    if libc_name is None:
        return False
    libc = ctypes.CDLL(libc_name)
    if not hasattr(libc, "mallopt"):
        return False
    ok = all(
        libc.mallopt(option, value)
        for option, value in (
            (_M_MMAP_THRESHOLD, 32 << 20),
            (_M_TRIM_THRESHOLD, 1 << 30),
            (_M_TOP_PAD, 256 << 20),
        )
    )
    _tuned = ok
    return ok


def configure(threads: int | None = None) -> None:
    """Set torch's intra-op thread count (when given) and tune the allocator."""
    if threads is not None:
        torch.set_num_threads(threads)
    tune_allocator()
