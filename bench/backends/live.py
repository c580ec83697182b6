"""The live backend: real training on Dask workers, a promoted trial continuing its checkpoint.

The driver holds the scheduler; each job goes to a free worker as a task that trains from the
trial's last state (shipped with the task, so workers need no shared storage) and sends the new
state back. Seeds are drawn in submission order, so a run on one worker is deterministic.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

import numpy as np
from distributed import as_completed

from hpo.errors import one_line
from hpo.execution import remote
from hpo.execution.cluster import lost_scheduler, next_done
from hpo.execution.remote import Trained, WorkerSettings
from hpo.schedulers import Job
from hpo.training import STATUS_FAILED, WORST_ERROR
from hpo.tuner import Result

__all__ = ["LiveBackend"]


class LiveBackend:
    """Trains each job for real on `n_workers` Dask workers of `client`."""

    def __init__(
        self,
        client: Any,
        settings: WorkerSettings,
        model: str,
        training_rng: np.random.Generator,
        n_workers: int,
        on_state: Callable[[int, dict[str, Any]], None] | None = None,
        recorded: list[Result] | None = None,
        states: dict[int, dict[str, Any]] | None = None,
    ) -> None:
        self.client = client
        self.settings = settings
        self.model = model
        self.training_rng = training_rng
        self.n_workers = n_workers
        self.on_state = on_state  # called with (trial_id, state) after every finished job
        self.seeds: dict[int, int] = {}
        self.states: dict[int, dict[str, Any]] = dict(states or {})
        # a resumed run's stored results, answered again without training, in their stored order
        self._recorded = {(r.job.trial_id, r.job.epochs): (i, r) for i, r in enumerate(recorded or [])}
        self._answered: list[tuple[int, Result]] = []
        self.environment: dict[str, Any] | None = None
        self.failures: list[dict[str, Any]] = []  # jobs that failed twice, with the error
        self._running: dict[Any, tuple[Job, float]] = {}
        self._worker_ids: dict[str, int] = {}
        self._token = uuid.uuid4().hex[:12]
        self._completed = as_completed([], with_results=True, raise_errors=False)
        resumed_at = max((r.t_end for r in recorded or []), default=0.0)
        self._started = time.perf_counter() - resumed_at
        self.busy_seconds = sum(r.t_end - r.t_start for r in recorded or [])

    @property
    def free_workers(self) -> int:
        return self.n_workers - len(self._running) - len(self._answered)

    @property
    def now(self) -> float:
        return time.perf_counter() - self._started

    def seed_of(self, trial_id: int) -> int:
        """The training seed of a trial, drawn when the trial first starts."""
        if trial_id not in self.seeds:
            self.seeds[trial_id] = int(self.training_rng.integers(2**31))
        return self.seeds[trial_id]

    def submit(self, job: Job) -> None:
        if self.free_workers <= 0:
            raise RuntimeError("submit() with no free worker")
        seed = self.seed_of(job.trial_id)
        stored = self._recorded.pop((job.trial_id, job.epochs), None)
        if stored is not None and stored[1].job == job:
            self._answered.append(stored)
            return
        # the trial's last state; after a resume it may be older than the job's start, as the
        # rows are stored before the checkpoint: training from it again gives the same bytes
        state = self.states.get(job.trial_id) if job.resume_from else None
        if state is not None and len(state["curve"]) > job.resume_from:
            raise RuntimeError(
                f"trial {job.trial_id} is at epoch {len(state['curve'])}, job resumes from {job.resume_from}"
            )
        future = self.client.submit(
            remote.train,
            self.settings,
            self.model,
            job.config,
            job.epochs,
            seed,
            state,
            keep_state=True,
            # unique to this run: runs sharing a cluster have the same trial ids, and Dask takes
            # a task with a key it knows for the same task
            key=f"trial-{job.trial_id}-epochs-{job.epochs}-{self._token}",
            retries=1,
            pure=False,
        )
        self._running[future] = (job, self.now)
        self._completed.add(future)

    def wait(self) -> list[Result]:
        if self._answered:
            self._answered.sort(key=lambda pair: pair[0])
            return [self._answered.pop(0)[1]]
        if not self._running:
            return []
        # results arrive with their futures (one round trip to the event loop, not two)
        done = next_done(self._completed, self.client, list(self._running))
        results = []
        for future, outcome in sorted(done, key=lambda pair: self._running[pair[0]][1]):
            # cancelled, or finished with no result to show: the scheduler went away, not the training
            if future.status == "cancelled" or (
                future.status == "finished" and not isinstance(outcome, Trained)
            ):
                raise lost_scheduler(self.client)
            job, start = self._running.pop(future)
            end = self.now
            self.busy_seconds += end - start
            if future.status != "finished":  # the training, or its worker, failed twice: a result
                error = outcome[1] if isinstance(outcome, tuple) else outcome
                self.failures.append(
                    {"trial_id": job.trial_id, "epochs": job.epochs, "error": one_line(error)}
                )
                results.append(Result(job, WORST_ERROR, WORST_ERROR, STATUS_FAILED, -1, start, end))
                continue
            trained: Trained = outcome
            self.states[job.trial_id] = trained.state
            self.environment = self.environment or trained.environment
            if self.on_state is not None:
                self.on_state(job.trial_id, trained.state)
            worker = self._worker_ids.setdefault(trained.worker, len(self._worker_ids))
            record = trained.records[-1]
            results.append(
                Result(job, record.val_error, record.test_error, record.status, worker, start, end)
            )
        return results

    def cancel(self) -> None:
        """Cancel the jobs still running (on Ctrl-C); what finished is kept."""
        self.client.cancel(list(self._running))
        self._running.clear()

    def measure(self, trial_id: int, config: dict[str, Any], epochs: int) -> dict[str, float]:
        """Continue a trial to `epochs` on a worker and return its train, validation and test error
        (from its seed when no state of it is kept: a resumed run's top-rung trials have none)."""
        state = self.states.get(trial_id)
        future = self.client.submit(
            remote.train,
            self.settings,
            self.model,
            config,
            epochs,
            self.seed_of(trial_id),
            state,
            measure=True,
            pure=False,
        )
        return future.result().errors
