"""Asynchronous successive halving (Li et al. 2018, Algorithm 2).

When a worker is free: look at the rungs from the highest (below the top) down, and promote
the best config that is in the top floor(n_k / eta) of rung k's results and not yet
promoted; if there is none, start a new config at the bottom rung. Nobody ever waits.

Results are ranked by (error, trial id). The best unpromoted result u qualifies iff it is
among the floor(n_k / eta) best of all rung k's results: every result ranked above u has been
promoted (u is the best of the others), so u's rank is its rank among all of them. Each rung
therefore keeps a heap of the unpromoted results (its top is u) and the running order
statistic of all its results: the quota's best in a max-heap, the others in a min-heap. A
decision compares u with the worst of the best, and a result costs a few heap operations:
O(log n) each, in C, with nothing moved in memory (a sorted list of the promotions, counted by
bisection, moved a third of the list at every promotion, a cost that grew with the run). The
heaps are indexes over the rung's results: `hpo.schedulers.decisions.asha_promotion` is the
rule they answer. A stopped run is resumed the one way every scheduler is: driven through its
recorded results again (`bench.backends.live`).
"""

from __future__ import annotations

import heapq
import math
from typing import Any

from hpo.schedulers.base import Job, Scheduler, rank_key
from hpo.schedulers.rungs import rung_levels
from hpo.searchers import Searcher

__all__ = ["ASHA"]


class _Rung:
    __slots__ = ("best", "blocked", "configs", "n_results", "others", "unpromoted")

    def __init__(self) -> None:
        self.n_results = 0
        self.unpromoted: list[tuple[float, int]] = []  # a heap
        # every result's rank key: the floor(n / eta) best, negated (a max-heap), and the others
        self.best: list[tuple[float, int]] = []
        self.others: list[tuple[float, int]] = []
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

    def next_job(self) -> Job | None:
        rungs = self.rungs
        for k in range(len(self.levels) - 2, -1, -1):
            rung = rungs[k]
            if rung.blocked:
                continue
            if rung.unpromoted and rung.best:
                error, trial_id = rung.unpromoted[0]
                # among the quota's best: ranked no lower than the worst of them
                if (-error, -trial_id) >= rung.best[0]:
                    heapq.heappop(rung.unpromoted)
                    return Job.unchecked(trial_id, rung.configs[trial_id], self.levels[k + 1], self.levels[k])
            rung.blocked = True
        if not self.accepting_new_trials:
            return None
        return self.new_trial(self.levels[0])

    def on_result(self, job: Job, error: float) -> None:
        self.tell(job, error)
        k = self._index[job.epochs]
        if k == len(self.levels) - 1:
            return
        rung = self.rungs[k]
        key = rank_key(error, job.trial_id)
        heapq.heappush(rung.unpromoted, key)
        rung.configs[job.trial_id] = job.config
        rung.blocked = False
        rung.n_results += 1
        # the quota grows by at most one a result (eta >= 2), so one or two heap operations keep
        # the best exactly the quota's size
        quota = math.floor(rung.n_results / self.eta)
        best, others = rung.best, rung.others
        negated = (-key[0], -key[1])
        if best and negated > best[0]:  # better than the worst of the best: it joins them
            if len(best) < quota:
                heapq.heappush(best, negated)
            else:  # and the worst of them leaves
                worst = heapq.heapreplace(best, negated)
                heapq.heappush(others, (-worst[0], -worst[1]))
        elif len(best) < quota:  # the best of the others, the new result among them, joins
            first = heapq.heappushpop(others, key)
            heapq.heappush(best, (-first[0], -first[1]))
        else:
            heapq.heappush(others, key)
