"""Experimental designs over a search space: scrambled Sobol, random, grid."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy.stats import qmc

from cache.names import check_design
from hpo.space import SearchSpace
from hpo.validation import check_int

__all__ = ["design_configs"]


def design_points(dim: int, n: int, design: str, seed: int) -> np.ndarray:
    """`n` points of the unit cube; the first n of a larger request are the same points."""
    check_int("--configs", n)
    if design == "sobol":
        engine = qmc.Sobol(d=dim, scramble=True, seed=np.random.default_rng(seed))
        # Sobol balance holds for powers of two; other n are a prefix of the next power.
        points = engine.random(2 ** math.ceil(math.log2(n)))
        return points[:n]
    if design == "random":
        return np.random.default_rng(seed).random((n, dim))
    if design == "grid":
        per_dim = max(1, math.ceil(n ** (1.0 / dim)))
        axis = (np.arange(per_dim) + 0.5) / per_dim
        mesh = np.stack(np.meshgrid(*([axis] * dim), indexing="ij"), axis=-1).reshape(-1, dim)
        return mesh[:n]
    check_design(design)
    raise AssertionError(f"design {design!r} has no points")


def design_configs(space: SearchSpace, n: int, design: str = "sobol", seed: int = 0) -> list[dict[str, Any]]:
    """Decode a design into configs, dropping duplicates that integer rounding creates."""
    configs, seen = [], set()
    for point in design_points(space.dim, n, design, seed):
        config = space.from_unit(point)
        key = tuple(sorted(config.items()))
        if key not in seen:
            seen.add(key)
            configs.append(config)
    return configs
