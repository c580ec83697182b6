"""The searcher of an outside scheduler that picks its own configs (SMAC's Hyperband, Syne Tune's schedulers).

Such a scheduler asks its own library for a new trial's config and hands it on through
`Relay.next`; the relay proposes it, so a replay's candidate pool maps it onto the table as it
maps any proposal, and the job carries the config evaluated. The outside library learns from
the scheduler's calls, not from the relay.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from hpo.searchers.base import Searcher
from hpo.space import SearchSpace

__all__ = ["Relay"]


class Relay(Searcher):
    """Proposes the config its scheduler put in `next`; the model's initial config is the scheduler's to use."""

    learns = False  # the learning happens in the outside library

    def __init__(
        self, space: SearchSpace, rng: np.random.Generator, initial_config: Mapping[str, Any] | None = None
    ) -> None:
        super().__init__(space, rng, initial_config)
        # handed to the outside library (its first config to evaluate), not proposed first here
        self.initial, self._initial = self._initial, None
        self.next: dict[str, Any] | None = None

    def propose(self, trial_id: int) -> dict[str, Any]:
        if self.next is None:
            raise RuntimeError("the relay's scheduler started a trial without a config")
        config, self.next = self.next, None
        return config
