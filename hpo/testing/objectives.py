"""Standard synthetic functions (to minimise) with their search spaces."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from hpo.space import Parameter, SearchSpace

__all__ = ["BRANIN", "HARTMANN6", "SVM_LIKE", "Synthetic"]


@dataclass(frozen=True)
class Synthetic:
    """A function over a search space and its known minimum."""

    name: str
    space: SearchSpace
    function: Callable[[Mapping[str, Any]], float]
    minimum: float

    def __call__(self, config: Mapping[str, Any]) -> float:
        return self.function(config)


def _branin(c: Mapping[str, Any]) -> float:
    x1, x2 = c["x1"], c["x2"]
    b, cc, t = 5.1 / (4 * math.pi**2), 5 / math.pi, 1 / (8 * math.pi)
    return (x2 - b * x1**2 + cc * x1 - 6) ** 2 + 10 * (1 - t) * math.cos(x1) + 10


_H6_A = np.array(
    [
        [10, 3, 17, 3.5, 1.7, 8],
        [0.05, 10, 17, 0.1, 8, 14],
        [3, 3.5, 1.7, 10, 17, 8],
        [17, 8, 0.05, 10, 0.1, 14],
    ]
)
_H6_P = 1e-4 * np.array(
    [
        [1312, 1696, 5569, 124, 8283, 5886],
        [2329, 4135, 8307, 3736, 1004, 9991],
        [2348, 1451, 3522, 2883, 3047, 6650],
        [4047, 8828, 8732, 5743, 1091, 381],
    ]
)
_H6_ALPHA = np.array([1.0, 1.2, 3.0, 3.2])


def _hartmann6(c: Mapping[str, Any]) -> float:
    x = np.array([c[f"x{i}"] for i in range(1, 7)])
    return float(-np.sum(_H6_ALPHA * np.exp(-np.sum(_H6_A * (x - _H6_P) ** 2, axis=1))))


def _svm_like(c: Mapping[str, Any]) -> float:
    # Shaped like the SVM's validation error: a narrow good region in log learning rate,
    # log C and log gamma, a mild batch-size effect, and a floor of 0.12.
    lr, bs, cc, gamma = (
        math.log10(c["learning_rate"]),
        c["batch_size"],
        math.log10(c["C"]),
        math.log10(c["gamma"]),
    )
    bowl = (
        0.25 * (lr + 1.0) ** 2
        + 0.06 * (cc - 1.0) ** 2
        + 0.3 * (gamma + 2.5) ** 2
        + 0.05 * (math.log2(bs) - 6.5) ** 2
    )
    return 0.12 + 0.78 * (1.0 - math.exp(-bowl))


BRANIN = Synthetic(
    "branin",
    SearchSpace([Parameter("x1", "uniform", -5.0, 10.0), Parameter("x2", "uniform", 0.0, 15.0)]),
    _branin,
    0.397887,
)
HARTMANN6 = Synthetic(
    "hartmann6",
    SearchSpace([Parameter(f"x{i}", "uniform", 0.0, 1.0) for i in range(1, 7)]),
    _hartmann6,
    -3.32237,
)
SVM_LIKE = Synthetic(
    "svm-like",
    SearchSpace(
        [
            Parameter("learning_rate", "loguniform", 1e-4, 1.0),
            Parameter("batch_size", "int", 32, 511),
            Parameter("C", "loguniform", 1e-2, 1e2),
            Parameter("gamma", "loguniform", 1e-6, 1e-1),
        ]
    ),
    _svm_like,
    0.12,
)

SYNTHETIC = {f.name: f for f in (BRANIN, HARTMANN6, SVM_LIKE)}
