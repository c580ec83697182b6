"""The learning-curve cache, in three rooms: `store` (files, shards, digests, reading rows back),
`collect` (real trainings into the store) and `lookup` (the curve table, its three modes, the
surrogate, and the black box over them).

Its face is `open_benchmark(model, mode)`: a model's benchmark as a black box (an objective with
a fidelity), imported from here (`from cache import open_benchmark`) and loaded on first use, so
that importing a light part of the package (`cache.names`) loads no pandas or scikit-learn.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["BlackBox", "open_benchmark"]

_FACE = {
    "open_benchmark": "cache.lookup.blackbox",
    "BlackBox": "cache.lookup.blackbox",
}


def __getattr__(name: str) -> Any:
    if name in _FACE:
        return getattr(importlib.import_module(_FACE[name]), name)
    raise AttributeError(f"module 'cache' has no attribute {name!r}")
