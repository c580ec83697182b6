"""Asynchronous successive halving (Li et al. 2018, Algorithm 2).

When a worker is free: look at the rungs from the highest (below the top) down, and promote
the best config that is in the top floor(n_k / eta) of rung k's results and not yet
promoted; if there is none, start a new config at the bottom rung. Nobody ever waits.

Results are ranked by (error, trial id). The best unpromoted result u qualifies iff its rank
among all of rung k's results is below floor(n_k / eta). Every result ranked above u has been
promoted (u is the best of the others), so that rank is the number of promoted results ranked
above u. Each rung therefore keeps a heap of the unpromoted results (its top is u) and a
sorted list of the promoted ones' errors, with each such error's promoted trial ids: the count
is one bisection of floats, plus one among the ids where a promoted result ties u's error. A
decision is O(log n) per rung, in C-level heap and bisect operations. The heap and the list are indexes over the rung's
results: `hpo.schedulers.decisions.asha_promotion` is the rule they answer. A stopped run is
resumed the one way every scheduler is: driven through its recorded results again
(`bench.backends.live`).
"""

from __future__ import annotations

import bisect
import heapq
import math
from typing import Any

from hpo.schedulers.base import Job, Scheduler, rank_key
from hpo.schedulers.rungs import rung_levels
from hpo.searchers import Searcher

__all__ = ["ASHA"]


class _Rung:
    __slots__ = ("blocked", "configs", "n_results", "promoted", "promoted_ids", "unpromoted")

    def __init__(self) -> None:
        self.n_results = 0
        self.unpromoted: list[tuple[float, int]] = []  # a heap
        # the promoted results' errors, sorted (floats bisect several times faster than tuples),
        # and for each error the trial ids promoted with it, sorted
        self.promoted: list[float] = []
        self.promoted_ids: dict[float, list[int]] = {}
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
        rungs, eta = self.rungs, self.eta
        for k in range(len(self.levels) - 2, -1, -1):
            rung = rungs[k]
            if rung.blocked:
                continue
            if rung.unpromoted:
                error, trial_id = rung.unpromoted[0]
                # its rank among all results: the promoted results ranked above it
                promoted = rung.promoted
                rank = bisect.bisect_left(promoted, error)
                if rank < len(promoted) and promoted[rank] == error:  # ties: a lower trial id ranks above
                    rank += bisect.bisect_left(rung.promoted_ids[error], trial_id)
                if rank < math.floor(rung.n_results / eta):
                    heapq.heappop(rung.unpromoted)
                    bisect.insort(promoted, error)
                    ids = rung.promoted_ids.get(error)
                    if ids is None:
                        rung.promoted_ids[error] = [trial_id]
                    else:
                        bisect.insort(ids, trial_id)
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
        rung.n_results += 1
        heapq.heappush(rung.unpromoted, rank_key(error, job.trial_id))
        rung.configs[job.trial_id] = job.config
        rung.blocked = False
