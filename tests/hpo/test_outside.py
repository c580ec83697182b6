"""The field's optimizers as baselines: SMAC3's BO and Hyperband, Syne Tune's ASHA and BOHB.

What these catch: a baseline whose replay depends on the global random state or changes it
(Syne Tune 0.16 samples from NumPy's global generator), one that is told another config than
the table evaluated, budgets that are not SMAC's or Syne Tune's rungs, a promotion retrained
from scratch, and a missing package reaching the user as a traceback.
"""

from __future__ import annotations

import random
import sys

import numpy as np
import pytest

from bench.experiment import ReplayOptions, RunSpec, run_replay
from cache.lookup.blackbox import BlackBox
from hpo import algorithms
from hpo.algorithms import AlgorithmSettings
from hpo.errors import ConfigError
from hpo.space import config_key
from hpo.tuner import Budget, Row
from tests.support.cachefixtures import write_cache
from tests.support.extras import algorithm_params

SETTINGS = AlgorithmSettings(eta=3, r_min=1, r_max=9)


OUTSIDE = algorithm_params(("smac-bo", "smac-hb", "st-asha", "st-bohb"))
MULTI_FIDELITY = algorithm_params(("smac-hb", "st-asha", "st-bohb"))


@pytest.fixture(scope="module")
def table(tmp_path_factory) -> BlackBox:
    root = tmp_path_factory.mktemp("curves")
    write_cache(root, "softmax", n_configs=64, seeds=2, epochs=9)
    return BlackBox.load("softmax", "tabular", root)


def replay(table: BlackBox, algorithm: str, seed: int = 0, mode: str = "tabular"):
    spec = RunSpec(
        model="softmax",
        algorithm=algorithm,
        budget=Budget(epochs=9 * 10),
        settings=SETTINGS,
        seed=seed,
        where=ReplayOptions(workers=4, mode=mode),
    )
    benchmark = table if mode == "tabular" else table.in_mode(mode)
    return run_replay(spec, benchmark).outcome.rows


def _described(rows) -> list[tuple]:
    return [(r.trial_id, config_key(r.config), r.epochs, r.resume_from, r.t_end) for r in rows]


@pytest.mark.parametrize("algorithm", OUTSIDE)
def test_a_replay_is_a_function_of_its_seed_and_leaves_the_global_generators_alone(table, algorithm) -> None:
    np.random.seed(1)  # noqa: NPY002 - the global streams, on purpose
    random.seed(1)
    first = _described(replay(table, algorithm))
    after = np.random.get_state()[1].copy(), random.getstate()  # noqa: NPY002
    np.random.seed(1)  # noqa: NPY002
    random.seed(1)
    untouched = np.random.get_state()[1].copy(), random.getstate()  # noqa: NPY002
    assert np.array_equal(after[0], untouched[0]) and after[1] == untouched[1]
    np.random.seed(2)  # noqa: NPY002 - a library reading the global stream would change the rows
    random.seed(2)
    assert _described(replay(table, algorithm)) == first
    assert _described(replay(table, algorithm, seed=1)) != first


@pytest.mark.parametrize("algorithm", MULTI_FIDELITY)
def test_trials_run_on_the_librarys_rungs_and_continue_from_their_checkpoint(table, algorithm) -> None:
    rows = replay(table, algorithm)
    levels = {"smac-hb": {1, 3, 9}, "st-asha": {1, 3, 9}, "st-bohb": {1, 3, 9}}[algorithm]
    assert {r.epochs for r in rows} <= levels and max(r.epochs for r in rows) == 9
    by_trial: dict[int, list[Row]] = {}
    for r in rows:
        by_trial.setdefault(r.trial_id, []).append(r)
    promoted = [jobs for jobs in by_trial.values() if len(jobs) > 1]
    assert promoted, "no trial went past its first rung"
    for jobs in promoted:
        jobs.sort(key=lambda r: r.epochs)
        # each segment continues the last (a promotion is not retrained from scratch) on one config
        assert [r.resume_from for r in jobs] == [0, *(r.epochs for r in jobs[:-1])]
        assert len({config_key(r.config) for r in jobs}) == 1
    assert any(len(jobs) == 1 and jobs[0].epochs < 9 for jobs in by_trial.values()), "nothing was stopped"


@pytest.mark.parametrize("algorithm", OUTSIDE)
def test_in_tabular_mode_every_job_is_a_collected_config(table, algorithm) -> None:
    collected = {config_key(c) for c in table.configs}
    rows = replay(table, algorithm)
    assert all(config_key(r.config) in collected for r in rows)


@pytest.mark.parametrize("algorithm", algorithm_params(("st-asha", "st-bohb")))
def test_syne_tune_is_told_the_config_the_table_evaluated(table, algorithm) -> None:
    rng = np.random.default_rng(0)
    scheduler = algorithms.build(
        algorithm,
        table.space,
        rng,
        SETTINGS,
        candidates=table.configs,
        candidate_trainings=[2] * len(table.configs),
    )
    collected = {config_key(c) for c in table.configs}
    for _ in range(12):
        job = scheduler.next_job()
        scheduler.on_result(job, 0.5)
    told = list(scheduler.scheduler.st.searcher.trial_configs.values())  # inside the guard
    assert told and all(config_key(c) in collected for c in told)


def test_without_the_packages_naming_the_baselines_is_one_line(monkeypatch) -> None:
    for module, names, extra in (
        ("smac", ("smac-bo", "smac-hb"), "smac"),
        ("syne_tune.optimizer", ("st-asha", "st-bohb", "st-asha-cqr"), "synetune"),
    ):
        monkeypatch.setitem(sys.modules, module, None)  # importing it now raises ImportError
        for name in names:
            with pytest.raises(ConfigError, match=rf"pip install 'hpobench\[{extra}\]'"):
                algorithms.get_algorithm(name)
        monkeypatch.delitem(sys.modules, module)
    assert algorithms.get_algorithm("bo").searcher == "bo"


DIGEST = """
import hashlib, json, sys
from tests.hpo.test_outside import _described, replay
from cache.lookup.blackbox import BlackBox
rows = replay(BlackBox.load("softmax", "tabular", sys.argv[1]), sys.argv[2])
print(hashlib.sha256(json.dumps(_described(rows)).encode()).hexdigest())
"""


@pytest.mark.parametrize("algorithm", OUTSIDE)
def test_a_replay_gives_the_same_rows_in_processes_with_other_hash_seeds(table, algorithm, tmp_path) -> None:
    # ConfigSpace hashes a Configuration by a string, which Python salts per process: a set of
    # configs iterated inside a library makes a replay a function of the process, not of its seed
    import hashlib
    import json
    import os
    import subprocess

    cache_dir = tmp_path / "curves"
    write_cache(cache_dir, "softmax", n_configs=64, seeds=2, epochs=9)
    digests = set()
    for hash_seed in ("1", "2"):
        done = subprocess.run(
            [sys.executable, "-c", DIGEST, str(cache_dir), algorithm],
            capture_output=True, text=True, timeout=300, env={**os.environ, "PYTHONHASHSEED": hash_seed},
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-2000:]
        digests.add(done.stdout.strip().splitlines()[-1])
    here = replay(BlackBox.load("softmax", "tabular", cache_dir), algorithm)
    digests.add(hashlib.sha256(json.dumps(_described(here)).encode()).hexdigest())
    assert len(digests) == 1
