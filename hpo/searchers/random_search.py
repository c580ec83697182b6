"""Random search: independent uniform draws (log-uniform where the space says so)."""

from __future__ import annotations

from typing import Any

from hpo.searchers.base import Searcher
from hpo.searchers.pool import CandidatePool

__all__ = ["RandomSearcher"]


class RandomSearcher(Searcher):
    """Draws each config independently from the space (or uniformly from a pool's fresh configs)."""

    learns = False

    def propose(self, trial_id: int) -> dict[str, Any]:
        return self.random_config()

    def propose_from(self, trial_id: int, pool: CandidatePool) -> dict[str, Any]:
        return pool.draw(self.rng)
