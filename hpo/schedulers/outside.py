"""What the schedulers of outside libraries share: new trials through a relay, one deciding rule each.

An outside scheduler (SMAC's Hyperband, Syne Tune's ASHA and BOHB) chooses its own configs
and decides its own budgets; it runs under the same loop, clock, seeds and pool as the
built-ins. A new trial's config goes through the relay (so a tabular replay's pool maps it)
and the outside library is told the config evaluated, or, where its bookkeeping is keyed by
the config it asked, the evaluated config's result for it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from hpo.schedulers.base import Job, Scheduler
from hpo.schedulers.rungs import validate
from hpo.searchers.pool import PooledSearcher
from hpo.searchers.relay import Relay

__all__ = ["OutsideScheduler", "plain"]


def plain(config: Any, names: tuple[str, ...]) -> dict[str, Any]:
    """A library's config (a ConfigSpace Configuration, a dict with NumPy values) as a plain config of `names`."""
    return {n: config[n].item() if isinstance(config[n], np.generic) else config[n] for n in names}


class OutsideScheduler(Scheduler):
    """A scheduler whose configs come from an outside library, handed on through a Relay."""

    def __init__(self, searcher: Relay | PooledSearcher, eta: float, r_min: int, r_max: int) -> None:
        super().__init__(searcher)  # type: ignore[arg-type]
        validate(eta, r_min, r_max)
        self.eta, self.r_min, self.r_max = eta, r_min, r_max
        relay = searcher.searcher if isinstance(searcher, PooledSearcher) else searcher
        if not isinstance(relay, Relay):
            raise TypeError(f"{type(self).__name__} needs a Relay searcher, got {type(relay).__name__}")
        self.relay = relay
        self.space = relay.space
        self.seed = int(
            relay.rng.integers(2**31 - 1)
        )  # the outside library's seed, from the searcher's stream

    def start_trial(self, config: dict[str, Any], epochs: int) -> Job | None:
        """A new trial of `config` (or the pool's config for it) to `epochs`; None once the pool is used up."""
        self.relay.next = config
        job = self.new_trial(epochs)
        self.relay.next = None
        return job
