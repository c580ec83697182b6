"""Random search: independent uniform draws (log-uniform where the space says so)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from hpo.searchers.base import Searcher
from hpo.searchers.pool import CandidatePool
from hpo.space import SearchSpace

__all__ = ["RandomSearcher"]

MAX_BLOCK = 1024  # configs drawn at once: a replay's per-trial draw costs a fraction of one call


class RandomSearcher(Searcher):
    """Draws each config independently from the space (or uniformly from a pool's fresh configs).

    Free proposals are drawn in blocks of growing size (`SearchSpace.sample_many`): the same
    configs, in the same order, as one `space.sample(self.rng)` per trial, with the generator
    run ahead of the trials. The generator is the searcher's own, as every searcher's is.
    """

    learns = False

    def __init__(
        self,
        space: SearchSpace,
        rng: np.random.Generator,
        initial_config: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(space, rng, initial_config)
        self._drawn: list[dict[str, Any]] = []  # drawn, not yet proposed, last one first
        self._block = 8

    def propose(self, trial_id: int) -> dict[str, Any]:
        if not self._drawn:
            self._drawn = self.space.sample_many(self.rng, self._block)[::-1]
            self._block = min(2 * self._block, MAX_BLOCK)
        return self._drawn.pop()

    def propose_from(self, trial_id: int, pool: CandidatePool) -> dict[str, Any]:
        return pool.draw(self.rng)
