"""Synchronous successive halving (Jamieson & Talwalkar 2016) and Hyperband (Li et al. 2017).

A bracket starts n configs at one rung; when every result of a rung is in (the barrier),
the best floor(n / eta) by (error, trial id) continue to the next rung from their
checkpoint. Workers wait at the barrier; that idling is the cost this method pays.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from hpo.schedulers.base import Job, Scheduler
from hpo.schedulers.decisions import sh_survivors
from hpo.schedulers.rungs import rung_levels
from hpo.searchers import Searcher
from hpo.validation import check_int

__all__ = ["Bracket", "Hyperband", "SuccessiveHalving", "SynchronousHalving"]


@dataclass
class Bracket:
    """One run of successive halving: n configs from rung index `start` to the top."""

    levels: list[int]
    start: int
    n_configs: int
    eta: float
    rung: int = field(init=False)
    to_start: int = field(init=False)  # new configs still to start at the first rung
    queue: deque[Job] = field(default_factory=deque)  # promotions not yet handed out
    outstanding: int = 0
    results: dict[int, tuple[float, dict[str, Any]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.rung = self.start
        self.to_start = self.n_configs

    @property
    def at_top(self) -> bool:
        """Whether the current rung is the last."""
        return self.rung == len(self.levels) - 1

    def promote(self) -> None:
        """Move the best survivors of the finished rung into the queue for the next rung."""
        keep = sh_survivors({trial: error for trial, (error, _) in self.results.items()}, self.eta)
        resume, target = self.levels[self.rung], self.levels[self.rung + 1]
        self.rung += 1
        results, self.results = self.results, {}
        self.queue.extend(Job.unchecked(trial_id, results[trial_id][1], target, resume) for trial_id in keep)


class SynchronousHalving(Scheduler):
    """Runs brackets one after another; a bracket's rung ends only when all its results are in."""

    def __init__(self, searcher: Searcher, eta: float, r_min: int, r_max: int) -> None:
        super().__init__(searcher)
        self.eta = eta
        self.levels = rung_levels(r_min, r_max, eta)
        self.bracket: Bracket | None = None
        self.n_brackets = 0

    def _next_bracket(self) -> Bracket:
        raise NotImplementedError

    def next_job(self) -> Job | None:
        if self.bracket is None:
            if not self.accepting_new_trials:
                return None
            self.bracket = self._next_bracket()
            self.n_brackets += 1
        bracket = self.bracket
        if bracket.queue:
            bracket.outstanding += 1
            return bracket.queue.popleft()
        if bracket.to_start > 0 and self.accepting_new_trials:
            job = self.new_trial(bracket.levels[bracket.start])
            if job is not None:
                bracket.to_start -= 1
                bracket.outstanding += 1
                return job
        bracket.to_start = 0  # trials budget hit mid-rung: the rung holds what was started
        if bracket.outstanding > 0:
            return None  # the barrier: wait for the rung to finish
        if bracket.at_top or not bracket.results:
            self.bracket = None
            return self.next_job()
        bracket.promote()
        return self.next_job()

    def on_result(self, job: Job, error: float) -> None:
        self.tell(job, error)
        bracket = self.bracket
        bracket.outstanding -= 1
        bracket.results[job.trial_id] = (error, job.config)


class SuccessiveHalving(SynchronousHalving):
    """Repeated brackets over all rungs, each starting prefact * eta^K (or n_configs) configs."""

    def __init__(
        self,
        searcher: Searcher,
        eta: float = 3,
        r_min: int = 1,
        r_max: int = 27,
        prefact: int = 1,
        n_configs: int | None = None,
    ) -> None:
        super().__init__(searcher, eta, r_min, r_max)
        if n_configs is None:
            check_int("prefact", prefact)
            n_configs = prefact * round(eta ** (len(self.levels) - 1))
        else:
            check_int("n_configs", n_configs)
        self.n_configs = n_configs

    def _next_bracket(self) -> Bracket:
        return Bracket(self.levels, 0, self.n_configs, self.eta)


class Hyperband(SynchronousHalving):
    """Brackets s = K..0 in turn: bracket s starts ceil((K+1)/(s+1) * eta^s) configs at rung K-s."""

    def __init__(self, searcher: Searcher, eta: float = 3, r_min: int = 1, r_max: int = 27) -> None:
        super().__init__(searcher, eta, r_min, r_max)

    def bracket_sizes(self) -> list[tuple[int, int]]:
        """(first rung index, configs) of each bracket in the order they run."""
        top = len(self.levels) - 1
        return [(top - s, math.ceil((top + 1) / (s + 1) * self.eta**s)) for s in range(top, -1, -1)]

    def _next_bracket(self) -> Bracket:
        start, n = self.bracket_sizes()[self.n_brackets % len(self.levels)]
        return Bracket(self.levels, start, n, self.eta)
