"""Random search: independent uniform draws (log-uniform where the space says so)."""

from __future__ import annotations

from typing import Any

from hpo.searchers.base import Searcher


class RandomSearcher(Searcher):
    """Draws each config independently from the space (or the candidate set)."""

    def propose(self) -> dict[str, Any]:
        return self.random_config()
