"""Decision costs: BO suggest() with 100 observations in 4-D; ASHA next_job + on_result over 40,000 jobs.

Issue 3's targets: suggest() median <= 50 ms; scheduler <= 50 us per job on average.
"""

from __future__ import annotations

import time

import numpy as np

from hpo import schedulers, searchers
from hpo.testing.objectives import SVM_LIKE


def test_bo_suggest_with_100_observations(benchmark, figures) -> None:
    rng = np.random.default_rng(0)
    searcher = searchers.make("bo", SVM_LIKE.space, np.random.default_rng(1))
    for trial_id in range(100):
        config = SVM_LIKE.space.sample(rng)
        searcher.observe(searchers.Observation(trial_id, config, SVM_LIKE(config), 1))

    def suggest():
        config = searcher.suggest(100)
        searcher._pending.clear()  # each round suggests with the same 100 observations, none in flight
        return config

    benchmark.pedantic(suggest, rounds=30, iterations=1, warmup_rounds=2)
    median_ms = benchmark.stats.stats.median * 1e3
    figures.append(f"BO suggest() with 100 observations in 4-D: median {median_ms:.1f} ms (target <= 50 ms)")


def asha_replay(n_jobs: int, workers: int = 32) -> float:
    """Seconds spent inside next_job() and on_result() for an n-job ASHA run (random searcher)."""
    rng = np.random.default_rng(0)
    scheduler = schedulers.make(
        "asha", searchers.make("random", SVM_LIKE.space, np.random.default_rng(1)), eta=3, r_min=1, r_max=81
    )
    running, spent, done = [], 0.0, 0
    while done < n_jobs:
        while len(running) < workers:
            t = time.perf_counter()
            job = scheduler.next_job()
            spent += time.perf_counter() - t
            running.append(job)
        job = running.pop(int(rng.integers(len(running))))
        error = float(rng.random())
        t = time.perf_counter()
        scheduler.on_result(job, error)
        spent += time.perf_counter() - t
        done += 1
    return spent


def test_asha_decisions_over_40000_jobs(benchmark, figures) -> None:
    seconds = benchmark.pedantic(asha_replay, args=(40_000,), rounds=1, iterations=1)
    figures.append(
        f"ASHA next_job()+on_result(): {seconds / 40_000 * 1e6:.1f} us per job over 40,000 jobs (target <= 50 us)"
    )
