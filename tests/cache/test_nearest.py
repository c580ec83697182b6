"""The nearest-config index answers exactly what the k-d tree answers, grid or no grid."""

from __future__ import annotations

import numpy as np
import pytest

from cache.lookup.nearest import NearestIndex


def _queries(points: np.ndarray, side: int, rng: np.random.Generator) -> np.ndarray:
    n, d = points.shape
    pairs = rng.integers(0, n, (3000, 2))
    return np.concatenate(
        [
            rng.random((20000, d)),
            points,  # the collected points themselves: distance 0
            (points[pairs[:, 0]] + points[pairs[:, 1]]) / 2,  # midpoints: exact ties for the tree
            np.round(rng.random((3000, d)) * side) / side,  # on the grid's cell edges and corners
            rng.integers(0, 2, (200, d)).astype(float),  # the cube's corners
        ]
    )


@pytest.mark.parametrize(
    "n, d, layout",
    [
        (300, 2, "random"),
        (300, 4, "random"),
        (64, 2, "grid"),
        (40, 3, "clustered"),
        (1, 2, "random"),
        (5, 4, "random"),
    ],
)
def test_the_grid_answers_what_the_tree_answers(n, d, layout) -> None:
    # a wrong candidate set or a tie decided by the grid would change which curve a nearest
    # replay reads, and with it every replay's bytes
    rng = np.random.default_rng(n * 10 + d)
    if layout == "grid":  # a regular design: many exact ties between neighbours
        axis = np.linspace(0, 1, round(n ** (1 / d)))
        points = np.stack(np.meshgrid(*[axis] * d, indexing="ij"), axis=-1).reshape(-1, d)
    elif layout == "clustered":
        points = np.clip(rng.normal(0.5, 0.02, (n, d)), 0, 1)
    else:
        points = rng.random((n, d))
    index = NearestIndex(points, grid_after=0)
    index.nearest([0.5] * d)
    assert index.has_grid
    queries = _queries(points, index._side, rng)
    want = index.tree.query(queries)[1]
    got = np.array([index.nearest(q) for q in queries.tolist()])
    assert (got == want).all(), np.flatnonzero(got != want)[:5]


def test_a_short_session_builds_no_grid() -> None:
    index = NearestIndex(np.random.default_rng(0).random((50, 2)), grid_after=100)
    for q in np.random.default_rng(1).random((100, 2)).tolist():
        index.nearest(q)
    assert not index.has_grid
    index.nearest([0.1, 0.2])
    assert index.has_grid
