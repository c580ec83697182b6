"""The live backend: real training, one in-process worker, promotions resumed in memory."""

from __future__ import annotations

import time

import numpy as np

from hpo.schedulers import Job
from hpo.training import Run, Trainer
from hpo.tuner import Result


class LiveBackend:
    """Trains each job for real; a promoted trial continues its own run (model, optimizer, RNG)."""

    def __init__(self, trainer: Trainer, model: str, training_rng: np.random.Generator) -> None:
        self.trainer = trainer
        self.model = model
        self.training_rng = training_rng
        self.runs: dict[int, Run] = {}
        self._queued: Job | None = None
        self._started = time.perf_counter()
        self.busy_seconds = 0.0

    @property
    def free_workers(self) -> int:
        return 0 if self._queued is not None else 1

    @property
    def now(self) -> float:
        return time.perf_counter() - self._started

    def submit(self, job: Job) -> None:
        if self._queued is not None:
            raise RuntimeError("submit() with no free worker")
        self._queued = job

    def run_for(self, job: Job) -> Run:
        """The trial's run at `job.resume_from` epochs (a fresh one for a new trial)."""
        run = self.runs.get(job.trial_id)
        if run is None:
            seed = int(self.training_rng.integers(2**31))
            run = self.trainer.start(self.model, job.config, seed)
            self.runs[job.trial_id] = run
        if run.epoch != job.resume_from:
            raise RuntimeError(
                f"trial {job.trial_id} is at epoch {run.epoch}, job resumes from {job.resume_from}"
            )
        return run

    def wait(self) -> list[Result]:
        job, self._queued = self._queued, None
        if job is None:
            return []
        start = self.now
        run = self.run_for(job)
        self.trainer.advance(run, job.epochs)
        run.features = None  # mapped splits are cheap to remake and large to keep per trial
        end = self.now
        self.busy_seconds += end - start
        record = run.curve[job.epochs - 1]
        return [Result(job, record.val_error, record.test_error, record.status, 0, start, end)]
