"""FIFO: every trial trains for a fixed number of epochs (plain random search or BO)."""

from __future__ import annotations

from hpo.schedulers.base import Job, Scheduler
from hpo.searchers import Searcher
from hpo.validation import check_int

__all__ = ["FIFOScheduler"]


class FIFOScheduler(Scheduler):
    """Each new trial trains straight to `epochs`; there are no promotions."""

    def __init__(self, searcher: Searcher, epochs: int) -> None:
        super().__init__(searcher)
        check_int("epochs", epochs)
        self.epochs = epochs

    def next_job(self) -> Job | None:
        return self.new_trial(self.epochs) if self.accepting_new_trials else None

    def on_result(self, job: Job, error: float) -> None:
        self.tell(job, error)
