"""The field's optimizers run against `open_benchmark(...)` with the few lines of glue docs/blackbox.md shows.

Each client is an optional package and skips without it. What each test catches: a black box
that refuses what the client sends (float budgets, ConfigSpace Configurations, NumPy values,
configs outside the table), or glue that tells the client something else than the value the
black box read for its config. Every client must end on an incumbent better than the table's
median config: the glue passes the values through (a client fed noise or the wrong key ends
on a median config as often as not).
"""

from __future__ import annotations

import datetime

import numpy as np
import pytest

from cache.lookup.blackbox import open_benchmark
from tests.support.cachefixtures import write_cache

MODES = ["tabular", "nearest", "surrogate"]


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("curves")
    write_cache(root, "softmax", n_configs=64, seeds=2, epochs=9)
    return root


@pytest.fixture(params=MODES)
def bench(request, cache_dir):
    return open_benchmark("softmax", request.param, cache_dir, seed=0)


def _better_than_the_median(bench, incumbent) -> None:
    worths = [bench.worth(c) for c in bench.configs]
    assert bench.worth(incumbent) < np.median(worths), (dict(incumbent), bench.worth(incumbent))


def test_smac_bo(bench, tmp_path) -> None:
    smac = pytest.importorskip("smac", reason="the optional extra `smac`")
    # -- the glue (docs/blackbox.md) --
    scenario = smac.Scenario(bench.get_configuration_space(), n_trials=10, seed=0, output_directory=tmp_path)
    facade = smac.HyperparameterOptimizationFacade(
        scenario, lambda config, seed=0: bench.evaluate(config)["val_error"], logging_level=40
    )
    incumbent = facade.optimize()
    # --
    assert len(facade.runhistory) == 10
    _better_than_the_median(bench, incumbent)


def test_smac_hyperband(bench, tmp_path) -> None:
    smac = pytest.importorskip("smac", reason="the optional extra `smac`")
    scenario = smac.Scenario(
        bench.get_configuration_space(),
        n_trials=30,
        seed=0,
        output_directory=tmp_path,
        min_budget=1,
        max_budget=bench.max_fidelity,
    )
    facade = smac.MultiFidelityFacade(
        scenario,
        lambda config, seed=0, budget=None: bench.evaluate(config, budget)["val_error"],
        logging_level=40,
    )
    incumbent = facade.optimize()
    budgets = {key.budget for key in facade.runhistory}
    assert min(budgets) < bench.max_fidelity == max(budgets)  # float budgets below the maximum were run
    _better_than_the_median(bench, incumbent)


def test_optuna_ask_tell(bench) -> None:
    optuna = pytest.importorskip("optuna", reason="the optional extra `optuna`")
    from hpo.formats.optuna import to_optuna

    study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=0))
    for _ in range(20):
        trial = study.ask(to_optuna(bench.space))
        study.tell(trial, bench.evaluate(trial.params)["val_error"])
    _better_than_the_median(bench, study.best_params)


@pytest.mark.parametrize("name", ["ASHA", "BOHB"])
def test_syne_tune_multi_fidelity_schedulers(bench, name) -> None:
    pytest.importorskip("syne_tune", reason="the optional extra `synetune`")
    from syne_tune.backend.trial_status import Trial
    from syne_tune.optimizer import baselines

    from hpo.formats.synetune import to_synetune

    scheduler = getattr(baselines, name)(
        to_synetune(bench.space),
        metric="val_error",
        time_attr="epoch",
        max_t=bench.max_fidelity,
        random_seed=0,
    )
    finished = []
    for trial_id in range(30):
        # -- the glue (docs/blackbox.md) --
        trial = Trial(trial_id, scheduler.suggest().config, datetime.datetime.now())
        scheduler.on_trial_add(trial)
        for epoch, error in enumerate(bench.curve(trial.config)["val_error"], 1):
            if scheduler.on_trial_result(trial, {"epoch": epoch, "val_error": error}) != "CONTINUE":
                break
        # --
        finished.append((epoch, error, trial.config))
    stopped_early = [f for f in finished if f[0] < bench.max_fidelity]
    assert stopped_early, "the scheduler never stopped a trial: it did not see the curves"
    full = [f for f in finished if f[0] == bench.max_fidelity]
    _better_than_the_median(bench, min(full, key=lambda f: f[1])[2])
