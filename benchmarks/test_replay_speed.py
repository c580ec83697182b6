"""Replay speed: simulated epochs per wall-second of tabular replays with 4 workers.

Issue 25's target, on a synthetic 200-config x 20-epoch table: at least 100,000 epochs per
wall-second for ASHA and SH (lookups and result rows included), and at least half of that at
ten times the budget. The table has 500 training seeds per config (100,000 trainings), so that
the long budget does not use it up before its end.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from bench.experiment import ReplayOptions, RunSpec, run_replay
from cache.lookup.blackbox import BlackBox
from hpo.algorithms import AlgorithmSettings
from hpo.models import get_model
from hpo.tuner import Budget

CONFIGS, SEEDS, EPOCHS = 200, 500, 20
BUDGETS = {"1x": 20_000, "10x": 200_000}  # epochs trained: 1,000 and 10,000 trainings' worth


@pytest.fixture(scope="module")
def table() -> BlackBox:
    rng = np.random.default_rng(0)
    space = get_model("softmax").space
    configs = [space.sample(rng) for _ in range(CONFIGS)]
    quality = rng.uniform(0.1, 0.5, CONFIGS)
    c, s, e = np.meshgrid(np.arange(CONFIGS), np.arange(SEEDS), np.arange(1, EPOCHS + 1), indexing="ij")
    c, s, e = c.ravel(), s.ravel(), e.ravel()
    error = quality[c] + 0.4 * np.exp(-e / 4) + rng.normal(0, 0.01, len(c))
    rows = pd.DataFrame(
        {
            "config_id": np.array([f"c{i:04d}" for i in range(CONFIGS)])[c],
            "learning_rate": np.array([x["learning_rate"] for x in configs])[c],
            "batch_size": np.array([x["batch_size"] for x in configs])[c],
            "train_seed": s,
            "epoch": e,
            "val_error": error.astype(np.float32),
            "test_error": (error + 0.01).astype(np.float32),
            "epoch_seconds": (1.0 + 4.0 * quality[c]).astype(np.float32),
            "status": "ok",
            "run": np.zeros(len(c), dtype=np.int32),
        }
    )
    return BlackBox("softmax", rows, space)


def replay_rate(table: BlackBox, algorithm: str, epochs: int) -> tuple[float, float, int]:
    """(epochs per wall-second, microseconds per job, jobs) of one seeded replay."""
    spec = RunSpec(
        model="softmax",
        algorithm=algorithm,
        budget=Budget(epochs=epochs),
        settings=AlgorithmSettings(eta=3, r_min=1, r_max=EPOCHS),
        where=ReplayOptions(workers=4),
    )
    start = time.perf_counter()
    done = run_replay(spec, table)
    seconds = time.perf_counter() - start
    jobs = len(done.outcome.rows)
    return done.outcome.epochs_trained / seconds, seconds / jobs * 1e6, jobs


@pytest.mark.parametrize("budget", list(BUDGETS))
@pytest.mark.parametrize("algorithm", ["asha", "sh", "random"])
def test_tabular_replay_rate(benchmark, figures, table, algorithm, budget) -> None:
    rate, per_job, jobs = benchmark.pedantic(replay_rate, args=(table, algorithm, BUDGETS[budget]), rounds=5)
    # the median round, not the last one: a garbage-collection pass can land in any round
    median = benchmark.stats.stats.median
    rate, per_job = rate * (per_job * jobs / 1e6) / median, median / jobs * 1e6
    figures.append(
        f"tabular replay, {algorithm}, 4 workers, {BUDGETS[budget]:,} epochs ({budget}): "
        f"{rate:,.0f} epochs per wall-second, {per_job:.1f} us per job over {jobs:,} jobs, median of 5 "
        f"(target >= 100,000 for ASHA and SH at 1x, >= 50,000 at 10x)"
    )
