"""The collected config nearest a point of the unit cube, at the cost of a few Python operations.

A k-d tree answers one point in about 10 us, nearly all of it the call's overhead, and a nearest
replay asks once per trial. So after the first `GRID_AFTER` queries the cube is cut into a grid,
and each cell keeps the few collected points that can be nearest to anything in it: for a cell
with centre c and half-diagonal r whose nearest point lies at distance d1 from c, those within
d1 + 2r of c (a point y of the cell is within r of c, so its nearest point is within
d1 + r of y and d1 + 2r of c). A query computes its distance to those few candidates; where one
is nearer than every other by a clear margin it is the answer, exactly what the tree says;
otherwise (a tie, or a cell with too many candidates) the tree answers. The answers, and so the
replays' bytes, do not depend on the grid.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Sequence

import numpy as np
from scipy.spatial import cKDTree

__all__ = ["NearestIndex"]

#: queries the tree answers before the grid is built (about 0.1 s of them, what building takes):
#: a short session never pays for a grid it would not use
GRID_AFTER = 10_000
MAX_CELLS = 1 << 17  # about 0.1-0.3 s to build, a few MB
MAX_CANDIDATES = 8  # a cell with more is left to the tree
MARGIN = 1e-12  # squared distances closer than this are a tie for the tree to break


class NearestIndex:
    """Nearest of `points` (n x d in the unit cube) to a query point, as `cKDTree.query` finds it."""

    def __init__(self, points: np.ndarray, grid_after: int = GRID_AFTER) -> None:
        self.points = np.asarray(points, dtype=float)
        self.tree = cKDTree(self.points)
        self.grid_after = grid_after
        self._queries = 0
        self._side = 0  # grid cells per dimension; 0 until the grid is built
        self._starts: array | None = None
        self._candidates: array | None = None
        self._coordinates: list[tuple[float, ...]] = []

    def nearest(self, point: Sequence[float]) -> int:
        """The index of the point nearest `point` (a sequence of d floats in [0, 1])."""
        side = self._side
        if side:
            cell = 0
            for u in point:
                k = int(u * side)
                cell = cell * side + (0 if k < 0 else side - 1 if k >= side else k)
            starts = self._starts
            start, stop = starts[cell], starts[cell + 1]
            if stop - start == 1:
                return self._candidates[start]
            if stop > start:
                found = self._among(point, start, stop)
                if found >= 0:
                    return found
        else:
            self._queries += 1
            if self._queries > self.grid_after:
                self._build()
        return int(self.tree.query(np.asarray(point, dtype=float))[1])

    @property
    def has_grid(self) -> bool:
        """Whether the grid is built (after `grid_after` queries)."""
        return self._side > 0

    def _among(self, point: Sequence[float], start: int, stop: int) -> int:
        # the nearest candidate if it is nearer than the others by more than MARGIN, else -1
        coordinates, candidates = self._coordinates, self._candidates
        best = second = math.inf
        winner = -1
        for j in candidates[start:stop]:
            distance = 0.0
            for a, b in zip(point, coordinates[j], strict=True):
                distance += (a - b) * (a - b)
            if distance < best:
                best, second, winner = distance, best, j
            elif distance < second:
                second = distance
        return winner if second - best > MARGIN else -1

    def _build(self) -> None:
        n, d = self.points.shape
        side = max(1, int(min(MAX_CELLS, 512 * n) ** (1 / d)))
        while side**d > MAX_CELLS:
            side -= 1
        cells = np.stack(np.meshgrid(*[np.arange(side)] * d, indexing="ij"), axis=-1).reshape(-1, d)
        centres = (cells + 0.5) / side
        # one more neighbour than a cell may keep: a cell whose last one is within reach has too many
        k = min(MAX_CANDIDATES + 1, n)
        distances, neighbours = self.tree.query(centres, k=k)
        distances, neighbours = distances.reshape(len(centres), k), neighbours.reshape(len(centres), k)
        reach = distances[:, :1] + math.sqrt(d) / side + MARGIN  # d1 + 2r, r the half-diagonal
        within = distances <= reach
        if k > MAX_CANDIDATES:
            within &= ~within[:, -1:]
        starts = np.concatenate([[0], np.cumsum(within.sum(axis=1))])
        self._coordinates = [tuple(p) for p in self.points.tolist()]
        self._starts = array("l", starts.tolist())
        self._candidates = array("l", neighbours[within].tolist())
        self._side = side
