"""What every scheduler does: hand out jobs, learn from their results."""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from typing import Any, NamedTuple

from hpo.searchers import Observation, Searcher

__all__ = ["Job", "Scheduler", "rank_key"]


class _JobFields(NamedTuple):
    trial_id: int
    config: dict[str, Any]  # shared, not copied: a config is never changed once suggested
    epochs: int
    resume_from: int = 0


class Job(_JobFields):
    """Train `trial_id`'s config until `epochs`, continuing from `resume_from` epochs already trained.

    A tuple (one is made per job, and a replay makes millions): immutable, compared field by
    field. `Job(...)` checks `0 <= resume_from < epochs`; the built-in schedulers, whose jobs
    hold that by construction, make theirs with `Job.unchecked`.
    """

    __slots__ = ()

    def __new__(cls, trial_id: int, config: dict[str, Any], epochs: int, resume_from: int = 0) -> Job:
        if not 0 <= resume_from < epochs:
            raise ValueError(f"job needs 0 <= resume_from < epochs, got {resume_from} and {epochs}")
        return tuple.__new__(cls, (trial_id, config, epochs, resume_from))

    @classmethod
    def unchecked(cls, trial_id: int, config: dict[str, Any], epochs: int, resume_from: int) -> Job:
        """A job the caller knows to be valid, made without the check."""
        return tuple.__new__(cls, (trial_id, config, epochs, resume_from))

    @property
    def new_epochs(self) -> int:
        """Epochs this job trains."""
        return self.epochs - self.resume_from


def rank_key(error: float, trial_id: int) -> tuple[float, int]:
    """Order results by error, ties by trial id; a non-finite error ranks last."""
    return (error if math.isfinite(error) else math.inf, trial_id)


class Scheduler(ABC):
    """Decides which trial trains how far next.

    `next_job()` returns None when nothing can start until a running job reports (the
    barrier of synchronous successive halving) or when nothing is left to do.
    """

    def __init__(self, searcher: Searcher) -> None:
        self.searcher = searcher
        self.n_trials = 0
        self.accepting_new_trials = True
        self.exhausted = False  # the searcher's candidates ran out: no new trial can start

    def stop_new_trials(self) -> None:
        """No new trials from now on; running trials may still be continued or promoted."""
        self.accepting_new_trials = False

    def new_trial(self, epochs: int) -> Job | None:
        """A new trial's first job, or None (and no new trials from now on) when the searcher is exhausted."""
        if self.searcher.exhausted:
            self.exhausted = True
            self.stop_new_trials()
            return None
        job = Job(
            self.n_trials, self.searcher.suggest(self.n_trials), epochs, 0
        )  # a plug-in's epochs: checked
        self.n_trials += 1
        return job

    def tell(self, job: Job, error: float) -> None:
        """Tell the searcher the validation error `job`'s trial reached at `job.epochs`."""
        self.searcher.observe(Observation(job.trial_id, job.config, error, job.epochs))

    @abstractmethod
    def next_job(self) -> Job | None:
        """The next job to run, or None."""

    @abstractmethod
    def on_result(self, job: Job, error: float) -> None:
        """Record the validation error `job` reached at `job.epochs`."""
