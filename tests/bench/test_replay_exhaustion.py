"""Replays at long budgets: a tabular trial is one of the table's trainings, and a used-up table ends the search."""

from __future__ import annotations

import pytest

from bench.experiment import ReplayOptions, RunSpec, run_replay
from cache.lookup.blackbox import BlackBox
from hpo.algorithms import AlgorithmSettings
from hpo.tuner import Budget
from tests.support.cachefixtures import write_cache

N_CONFIGS, SEEDS, EPOCHS = 10, 3, 6
SETTINGS = AlgorithmSettings(eta=2, r_min=1, r_max=EPOCHS)


@pytest.fixture(scope="module")
def table(tmp_path_factory) -> BlackBox:
    root = tmp_path_factory.mktemp("ten")
    write_cache(root, "softmax", n_configs=N_CONFIGS, seeds=SEEDS, epochs=EPOCHS)
    return BlackBox.load("softmax", "tabular", root)


def replay(table: BlackBox, algorithm: str, trainings: float, seed: int = 0, workers: int = 4):
    spec = RunSpec(
        model="softmax",
        algorithm=algorithm,
        budget=Budget(epochs=round(trainings * EPOCHS)),
        settings=SETTINGS,
        seed=seed,
        where=ReplayOptions(workers=workers),
    )
    return run_replay(spec, table)


def top_rung(done) -> int:
    return sum(row.epochs == EPOCHS for row in done.outcome.rows)


@pytest.mark.parametrize("algorithm", ["sh", "asha", "hyperband"])
def test_at_100x_the_budget_every_training_is_used_once_then_the_search_ends(table, algorithm) -> None:
    # Before: after the 10 configs, every new trial repeated one with a seed drawn with
    # replacement, and ASHA never promoted a repeat: 5,263 trials on a 200-config table, 10 at
    # the top rung. Now a trial is a training not used before, and a used-up table ends the search.
    done = replay(table, algorithm, 100 * N_CONFIGS)
    trials = done.backend.objective.trials
    assert len(trials) == N_CONFIGS * SEEDS  # 30 trials, no more
    assert len(set(trials.values())) == N_CONFIGS * SEEDS  # each (config, seed) exactly once
    assert done.outcome.exhausted_at is not None
    assert done.outcome.exhausted_at <= done.backend.now
    # repeated configs are trainings like any other: some of them reach the top rung
    top_configs = [(trials[r.trial_id][0]) for r in done.outcome.rows if r.epochs == EPOCHS]
    assert len(top_configs) > len(set(top_configs))
    # and the trials started by the end finished: no job was left without its result
    assert done.outcome.epochs_trained == sum(r.epochs - r.resume_from for r in done.outcome.rows)
    # a replay stays a pure function of its seed
    again = replay(table, algorithm, 100 * N_CONFIGS)
    assert again.outcome.rows == done.outcome.rows


@pytest.mark.parametrize("algorithm", ["sh", "asha", "hyperband"])
def test_top_rung_trainings_grow_with_the_budget(table, algorithm) -> None:
    counts = [top_rung(replay(table, algorithm, trainings)) for trainings in (2, 100 * N_CONFIGS)]
    assert counts[0] < counts[1]


def test_a_short_budget_does_not_exhaust_the_table(table) -> None:
    done = replay(table, "asha", 2)
    assert done.outcome.exhausted_at is None
    assert len(done.backend.objective.trials) < N_CONFIGS * SEEDS


def test_a_partly_collected_config_is_tried_only_with_its_complete_trainings(tmp_path) -> None:
    # the first 4 configs have 3 seeds, the other 6 only their first: 4*3 + 6 = 18 trainings
    write_cache(tmp_path, "softmax", n_configs=N_CONFIGS, seeds=SEEDS, epochs=EPOCHS, later_seeds_for=4)
    partial = BlackBox.load("softmax", "tabular", tmp_path)
    done = replay(partial, "random", 100 * N_CONFIGS)
    trials = done.backend.objective.trials
    assert len(trials) == 4 * SEEDS + 6 and len(set(trials.values())) == len(trials)
    assert all(partial.complete[i, s] for i, s in trials.values())
