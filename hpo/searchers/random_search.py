"""Random search: independent uniform draws (log-uniform where the space says so)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hpo.searchers.base import Searcher
from hpo.searchers.pool import CandidatePool
from hpo.seeding import Indices

__all__ = ["RandomSearcher"]

MAX_BLOCK = 1024  # configs drawn at once: a replay's per-trial draw costs a fraction of one call


class RandomSearcher(Searcher):
    """Draws each config independently from the space (or uniformly from a pool's fresh configs).

    Free proposals are drawn in blocks of growing size (`SearchSpace.sample_many`): the same
    configs, in the same order, as one `space.sample(self.rng)` per trial, with the generator
    run ahead of the trials. The generator is the searcher's own, as every searcher's is.
    """

    learns = False

    # per-instance state, first set on first use (the base class's constructor is the searcher's)
    _drawn: list[dict[str, Any]] = ()  # type: ignore[assignment]  # drawn, not yet proposed, last first
    _block = 8
    _below: Callable[[int], int] | None = None  # over a pool: indices from self.rng

    def propose(self, trial_id: int) -> dict[str, Any]:
        if not self._drawn:
            self._drawn = self.space.sample_many(self.rng, self._block)[::-1]
            self._block = min(2 * self._block, MAX_BLOCK)
        return self._drawn.pop()

    def propose_from(self, trial_id: int, pool: CandidatePool) -> dict[str, Any]:
        # over a pool the generator draws only these indices (a proposal from the pool is never
        # replaced): the same integers as pool.draw(self.rng), at a fraction of a NumPy call each
        if self._below is None:
            self._below = Indices(self.rng).below
        return pool.draw_by(self._below)
