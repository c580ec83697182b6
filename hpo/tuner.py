"""The one tuner loop: a scheduler driving a backend until the budget is spent.

    while budget not spent:
        while backend has a free worker and (job := scheduler.next_job()) is not None:
            backend.submit(job)
        for result in backend.wait():      # advances real or simulated time
            scheduler.on_result(result)
            log a row

The same loop drives live training and cache replays; only the backend differs.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

from hpo.errors import ConfigError
from hpo.schedulers import Job, Scheduler
from hpo.status import WORST_ERROR
from hpo.validation import check_positive

__all__ = ["ROW_FIELDS", "Backend", "Budget", "Incumbent", "Result", "Row", "TuneOutcome", "Tuner"]


class Result(NamedTuple):
    """What a backend reports for a finished job (a tuple: one is made per job)."""

    job: Job
    val_error: float
    test_error: float
    status: str
    worker: int
    t_start: float
    t_end: float


class Backend(Protocol):
    """Runs jobs on workers and reports them; `now` is real or simulated seconds."""

    @property
    def free_workers(self) -> int:
        """Workers that could start a job now."""

    @property
    def now(self) -> float:
        """Seconds since the backend started."""

    def submit(self, job: Job) -> None:
        """Start `job` on a free worker."""

    def wait(self) -> list[Result]:
        """Block until at least one running job finishes; return the finished ones."""


@dataclass(frozen=True)
class Budget:
    """When to stop starting work: after `trials` new trials, `epochs` trained epochs, or `seconds`."""

    trials: int | None = None
    epochs: int | None = None
    seconds: float | None = None

    def __post_init__(self) -> None:
        if self.trials is None and self.epochs is None and self.seconds is None:
            raise ConfigError("a budget needs trials, epochs or seconds")
        for name, value in (("trials", self.trials), ("epochs", self.epochs), ("seconds", self.seconds)):
            check_positive(f"budget {name}", value, optional=True)


class Row(NamedTuple):
    """One finished job as the run's log keeps it: the result rows of a run are these, in the
    order the results came back (its validation error made finite: a non-finite one is WORST_ERROR)."""

    trial_id: int
    config: dict[str, Any]  # shared, not copied: a config is never changed once suggested
    epochs: int
    resume_from: int
    val_error: float
    test_error: float
    status: str
    worker: int
    t_start: float
    t_end: float


ROW_FIELDS = Row._fields


@dataclass
class Incumbent:
    """The best validation error seen so far, when it was reached and by whom."""

    time: float
    n_results: int
    val_error: float
    test_error: float
    trial_id: int
    epochs: int
    config: dict[str, Any]


@dataclass
class TuneOutcome:
    """Every result row, and the incumbent trajectory (one entry per improvement)."""

    rows: list[Row] = field(default_factory=list)
    trajectory: list[Incumbent] = field(default_factory=list)
    epochs_trained: int = 0
    exhausted_at: float | None = None  # when the searcher ran out of candidates (a tabular replay)

    @property
    def incumbent(self) -> Incumbent | None:
        """The final incumbent."""
        return self.trajectory[-1] if self.trajectory else None


class Tuner:
    """Drives `scheduler` on `backend` until `budget` is spent and the running jobs are back."""

    def __init__(
        self,
        scheduler: Scheduler,
        backend: Backend,
        budget: Budget,
        on_result: Callable[[Row, TuneOutcome], None] | None = None,
    ) -> None:
        self.scheduler = scheduler
        self.backend = backend
        self.budget = budget
        self.on_result = on_result
        self.outcome = TuneOutcome()

    def run(self) -> TuneOutcome:
        """Run the loop to the end and return every row and the incumbent trajectory."""
        # locals throughout: a replay runs this loop a million times, at a few microseconds a job
        scheduler, backend, outcome = self.scheduler, self.backend, self.outcome
        trials, epochs, seconds = self.budget.trials, self.budget.epochs, self.budget.seconds
        rows, trajectory, on_result = outcome.rows, outcome.trajectory, self.on_result
        tell, isfinite = scheduler.on_result, math.isfinite
        running = committed = 0
        while True:
            while backend.free_workers > 0:
                if trials is not None and scheduler.n_trials >= trials:
                    scheduler.stop_new_trials()
                if epochs is not None and committed >= epochs:
                    break
                if seconds is not None and backend.now >= seconds:
                    break
                job = scheduler.next_job()
                if scheduler.exhausted and outcome.exhausted_at is None:
                    outcome.exhausted_at = backend.now
                if job is None:
                    break
                backend.submit(job)
                running += 1
                committed += job.epochs - job.resume_from
            if running == 0:
                return outcome
            for result in backend.wait():
                running -= 1
                job = result.job
                error = result.val_error if isfinite(result.val_error) else WORST_ERROR
                tell(job, error)
                outcome.epochs_trained += job.epochs - job.resume_from
                row = Row(
                    job.trial_id,
                    job.config,
                    job.epochs,
                    job.resume_from,
                    error,
                    result.test_error,
                    result.status,
                    result.worker,
                    result.t_start,
                    result.t_end,
                )
                rows.append(row)
                if not trajectory or error < trajectory[-1].val_error:
                    trajectory.append(
                        Incumbent(
                            result.t_end,
                            len(rows),
                            error,
                            result.test_error,
                            job.trial_id,
                            job.epochs,
                            dict(job.config),
                        )
                    )
                if on_result is not None:
                    on_result(row, outcome)
