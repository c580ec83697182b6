"""hpobench's tasks inside other frameworks: Syne Tune's simulator on an exported blackbox, CARP-S's optimizers.

What these catch: an export whose values, seeds, epochs or clock differ from the cache; a
format the framework's own loader cannot read; and a task the framework cannot run.
"""

from __future__ import annotations

import numpy as np
import pytest

from cache.lookup.blackbox import open_benchmark
from tests.support.cachefixtures import write_cache


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("curves")
    write_cache(root, "softmax", n_configs=32, seeds=2, epochs=9)
    return root


def test_an_exported_blackbox_holds_the_cache_and_syne_tunes_simulator_runs_on_it(
    cache_dir, tmp_path, monkeypatch
) -> None:
    pytest.importorskip("syne_tune", reason="the optional extra `synetune`")
    pytest.importorskip("fastparquet", reason="the optional extra `synetune` (Syne Tune's blackbox files)")
    from syne_tune import StoppingCriterion, Tuner
    from syne_tune.backend.simulator_backend.simulator_callback import SimulatorCallback
    from syne_tune.blackbox_repository import add_surrogate
    from syne_tune.blackbox_repository.blackbox_tabular import deserialize
    from syne_tune.blackbox_repository.simulated_tabular_backend import UserBlackboxBackend
    from syne_tune.optimizer.baselines import ASHA

    from cache.frameworks.synetune import export_blackbox

    monkeypatch.setenv("SYNETUNE_FOLDER", str(tmp_path / "syne-tune"))  # the tuner's own files
    path = export_blackbox("softmax", tmp_path / "hpobench-softmax", cache_dir)
    blackbox = deserialize(str(path))["softmax"]  # Syne Tune's own reader
    bench = open_benchmark("softmax", cache_dir=cache_dir)
    config = bench.configs[7]
    # the same values, seeds, epochs and clock as the cache
    for seed in bench.seeds:
        got = blackbox.objective_function(config, fidelity={"epoch": 4}, seed=seed)
        expected = bench.evaluate(config, epochs=4, seed=seed)
        assert got["val_error"] == pytest.approx(expected["val_error"])
        assert got["test_error"] == pytest.approx(expected["test_error"])
        assert got["elapsed_time"] == pytest.approx(expected["cost_seconds"], rel=1e-5)
    assert list(blackbox.fidelity_values) == list(bench.fidelities)

    # Syne Tune's simulator, ASHA on 4 simulated workers, for 10 simulated minutes
    backend = UserBlackboxBackend(add_surrogate(blackbox), elapsed_time_attr="elapsed_time")
    scheduler = ASHA(
        blackbox.configuration_space, metric="val_error", time_attr="epoch", max_t=9, random_seed=0
    )
    tuner = Tuner(
        trial_backend=backend,
        scheduler=scheduler,
        stop_criterion=StoppingCriterion(max_wallclock_time=600),
        n_workers=4,
        sleep_time=0,
        callbacks=[SimulatorCallback()],
        save_tuner=False,
    )
    tuner.run()
    assert tuner.tuning_status.num_trials_started >= 8
    best = tuner.tuning_status.overall_metric_statistics.min_metrics["val_error"]
    table = bench.table
    assert np.nanmin(table.val_error) <= best <= np.nanmax(table.val_error)


@pytest.mark.parametrize("model", ["softmax", "sgd", "svm", "lenet"])
def test_carps_optimizers_run_on_each_shipped_task(model) -> None:
    pytest.importorskip("carps", reason="the optional extra `carps`")
    from carps.optimizers.random_search import RandomSearchOptimizer

    from cache.frameworks.carps import make_task

    task = make_task(model, n_trials=12)
    optimizer = RandomSearchOptimizer(task)
    trial_info, trial_value = optimizer.run()
    bench = task.objective_function.bench
    assert optimizer.trial_counter == 12 and len(optimizer.history) == 12
    # the incumbent's cost is the black box's reading of the config CARP-S asked for
    info = trial_value.additional_info
    assert trial_value.cost == bench.evaluate(dict(trial_info.config), seed=info["seed"])["val_error"]
    assert trial_value.virtual_time > 0 and task.objective_function.f_min == bench.best_value


def test_carps_smac_runs_a_multi_fidelity_task(cache_dir, tmp_path, monkeypatch) -> None:
    pytest.importorskip("carps", reason="the optional extra `carps`")
    pytest.importorskip("smac", reason="the optional extra `smac`")
    monkeypatch.chdir(tmp_path)  # SMAC writes its run history under the working directory
    from carps.optimizers.smac20 import SMAC3Optimizer
    from omegaconf import OmegaConf

    from cache.frameworks.carps import make_task

    task = make_task("softmax", n_trials=6, multi_fidelity=True, cache_dir=cache_dir)
    # what CARP-S's optimizer/smac20/multifidelity.yaml configures, with the task's values filled in
    config = OmegaConf.create(
        {
            "smac_class": "smac.facade.multi_fidelity_facade.MultiFidelityFacade",
            "scenario": {
                "seed": 0, "n_trials": 6, "objectives": ["val_error"], "deterministic": True, "n_workers": 1,
                "output_directory": str(tmp_path / "smac3_output"), "min_budget": 1, "max_budget": 9,
            },
            "smac_kwargs": {"dask_client": None, "overwrite": True},
        }
    )  # fmt: skip
    optimizer = SMAC3Optimizer(task, smac_cfg=config)
    _, trial_value = optimizer.run()
    # CARP-S counts a trial at budget b as b / max: more calls than 6 trials means lower fidelities ran
    assert task.objective_function.n_function_calls > 6 and optimizer.trial_counter >= 6
    assert 0 < trial_value.cost < 1
