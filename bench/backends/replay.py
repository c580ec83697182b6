"""The replay backend: jobs answered from the curve cache on a simulated clock with N workers."""

from __future__ import annotations

from typing import Any

import numpy as np

from cache.lookup.blackbox import BlackBox
from cache.store.schema import CacheError
from hpo.schedulers import Job
from hpo.seeding import Indices
from hpo.simulation import Evaluation, SimulatedBackend
from hpo.space import config_key

__all__ = ["CacheObjective", "replay_backend"]


class CacheObjective:
    """What a job would report, looked up in the cache with the trial's own training.

    A new trial is one training: its seed is drawn from the replay's stream among the seeds
    cached for its config that this replay has not used yet (all of them again once every one
    is used, which only nearest and surrogate lookups reach), so a repeated config is a new
    training, as it would be live. A trial's collected config and seed are found once; its
    promotions read the same curve. The stream `rng` is the objective's alone (it is read ahead).
    """

    def __init__(self, benchmark: BlackBox, rng: np.random.Generator) -> None:
        self.benchmark = benchmark
        self.rng = rng
        self._below = Indices(rng).below  # rng.integers(n), without a NumPy call per trial
        self.trials: dict[int, tuple[Any, int]] = {}  # trial id -> (collected config or key, seed index)
        self._seed_indices = (
            None
            if not benchmark.lookup.collected
            else [np.flatnonzero(row).tolist() for row in benchmark.complete]
        )
        # per collected config (or surrogate config key): its seed indices not used yet, in order
        self._unused: dict[Any, list[int]] = {}

    def train_seed(self, trial_id: int) -> int:
        """The training seed of a trial already run."""
        return self.benchmark.seeds[self.trials[trial_id][1]]

    def __call__(self, job: Job) -> Evaluation:
        found = self.trials.get(job.trial_id)
        if found is None:
            found = self.trials[job.trial_id] = self._new_training(job.config)
        where, s = found
        if self._seed_indices is None:
            seed = self.benchmark.seeds[s]
            return self.benchmark.segment(job.config, seed, job.resume_from, job.epochs)
        return self.benchmark.evaluation_at(where, s, job.resume_from, job.epochs)

    def _new_training(self, config: dict[str, Any]) -> tuple[Any, int]:
        if self._seed_indices is None:
            where, seeds = config_key(config), range(len(self.benchmark.seeds))
        else:
            where = self.benchmark.index(config)
            seeds = self._seed_indices[where]
            if not seeds:
                raise CacheError(f"config {self.benchmark.config_ids[where]} has no complete curve")
        unused = self._unused.get(where)
        if unused is None:
            unused = self._unused[where] = list(seeds)
        if unused:
            return where, unused.pop(self._below(len(unused)))
        # every seed of the config used (only nearest and surrogate lookups get here): any of them
        return where, seeds[self._below(len(seeds))]


def replay_backend(benchmark: BlackBox, rng: np.random.Generator, workers: int = 1) -> SimulatedBackend:
    """A simulated backend whose jobs are answered by `benchmark`."""
    return SimulatedBackend(CacheObjective(benchmark, rng), workers)
