"""Asynchronous successive halving (Li et al. 2018, Algorithm 2).

When a worker is free: look at the rungs from the highest (below the top) down, and promote
the best config that is in the top floor(n_k / eta) of rung k's results and not yet
promoted; if there is none, start a new config at the bottom rung. Nobody ever waits.

Each rung keeps two sorted lists keyed by (error, trial id): all results, and the results
not yet promoted. The best unpromoted result qualifies iff its rank among all results is
below floor(n_k / eta), so a decision is O(log n) per rung (and the rung count is small).
"""

from __future__ import annotations

import math
from typing import Any

from sortedcontainers import SortedList

from hpo.schedulers.base import Job, Scheduler, rank_key
from hpo.schedulers.rungs import rung_levels
from hpo.searchers import Searcher


class _Rung:
    __slots__ = ("blocked", "configs", "results", "unpromoted")

    def __init__(self) -> None:
        self.results: SortedList = SortedList()
        self.unpromoted: SortedList = SortedList()
        self.configs: dict[int, dict[str, Any]] = {}
        # no promotion possible until the rung's next result: its results and quota are unchanged
        self.blocked = False


class ASHA(Scheduler):
    """Asynchronous successive halving with promotions resumed from checkpoints."""

    def __init__(self, searcher: Searcher, eta: float = 3, r_min: int = 1, r_max: int = 27) -> None:
        super().__init__(searcher)
        self.eta = eta
        self.levels = rung_levels(r_min, r_max, eta)
        self._index = {level: k for k, level in enumerate(self.levels)}
        self.rungs = [_Rung() for _ in self.levels]

    def _promotable(self, k: int) -> tuple[float, int] | None:
        rung = self.rungs[k]
        if rung.blocked:
            return None
        quota = math.floor(len(rung.results) / self.eta)
        if rung.unpromoted:
            best = rung.unpromoted[0]
            if rung.results.bisect_left(best) < quota:
                return best
        rung.blocked = True
        return None

    def next_job(self) -> Job | None:
        for k in range(len(self.levels) - 2, -1, -1):
            best = self._promotable(k)
            if best is not None:
                rung = self.rungs[k]
                rung.unpromoted.remove(best)
                trial_id = best[1]
                config = rung.configs[trial_id]
                return Job(trial_id, config, self.levels[k + 1], self.levels[k])
        if not self.accepting_new_trials:
            return None
        return self.new_trial(self.levels[0])

    def on_result(self, job: Job, error: float) -> None:
        self.searcher.observe(job.config, error, job.epochs)
        k = self._index[job.epochs]
        if k == len(self.levels) - 1:
            return
        rung = self.rungs[k]
        key = rank_key(error, job.trial_id)
        rung.results.add(key)
        rung.unpromoted.add(key)
        rung.configs[job.trial_id] = job.config
        rung.blocked = False
