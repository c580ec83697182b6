"""The replay backend: jobs answered from the curve cache on a simulated clock with N workers."""

from __future__ import annotations

import numpy as np

from cache.benchmark import Benchmark
from hpo.schedulers import Job
from hpo.simulation import Evaluation, SimulatedBackend


class CacheObjective:
    """What a job would report, looked up in the cache with the trial's own training seed.

    Each new trial draws its training seed from the replay's stream among the seeds cached
    for its config, so replays over many seeds see the real noise between trainings.
    """

    def __init__(self, benchmark: Benchmark, rng: np.random.Generator) -> None:
        self.benchmark = benchmark
        self.rng = rng
        self.train_seeds: dict[int, int] = {}

    def __call__(self, job: Job) -> Evaluation:
        seed = self.train_seeds.get(job.trial_id)
        if seed is None:
            seeds = self.benchmark.seeds_of(job.config)
            seed = seeds[int(self.rng.integers(len(seeds)))]
            self.train_seeds[job.trial_id] = seed
        look = self.benchmark.segment(job.config, seed, job.resume_from, job.epochs)
        return Evaluation(look.val_error, look.test_error, look.epoch_seconds, look.status)


def replay_backend(benchmark: Benchmark, rng: np.random.Generator, workers: int = 1) -> SimulatedBackend:
    """A simulated backend whose jobs are answered by `benchmark`."""
    return SimulatedBackend(CacheObjective(benchmark, rng), workers)
