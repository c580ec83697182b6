"""The black-box API over a cache: evaluations, fidelities, curves, costs, worth and regret."""

from __future__ import annotations

import numpy as np
import pytest

from cache import open_benchmark
from hpo.errors import ConfigError
from hpo.space import config_key
from tests.support.cachefixtures import write_cache


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("curves")
    write_cache(root, "softmax", n_configs=8, seeds=2, epochs=5)
    return root


@pytest.fixture(scope="module")
def bench(cache_dir):
    return open_benchmark("softmax", cache_dir=cache_dir)


def test_evaluate_reads_the_stored_curve_and_its_cost(bench) -> None:
    table = bench
    config = bench.configs[3]
    assert bench.fidelities == range(1, 6) and bench.max_fidelity == 5 and bench.seeds_of(config) == [0, 1]
    got = bench.evaluate(config, epochs=4, seed=1)
    i, s = table.index(config), table.seeds.index(1)
    assert got["val_error"] == pytest.approx(float(table.val_error[i, s, 3]))
    assert got["test_error"] == pytest.approx(float(table.test_error[i, s, 3]))
    # the cost of training from scratch to 4 epochs, on the cache's one clock
    assert got["cost_seconds"] == pytest.approx(float(table.epoch_seconds[i, s, :4].sum()), rel=1e-6)
    assert got["status"] == "ok" and (got["epochs"], got["seed"]) == (4, 1)
    assert got["config"] == config and got["exact"] and got["config_id"] == table.config_ids[i]


def test_whole_number_floats_and_numpy_numbers_are_accepted_as_epochs(bench) -> None:
    # every multi-fidelity client (SMAC, DEHB, Syne Tune, HPOBench) sends float budgets
    config = bench.configs[0]
    expected = bench.evaluate(config, epochs=3, seed=0)
    for epochs in (3.0, np.int64(3), np.float32(3.0)):
        assert bench.evaluate(config, epochs=epochs, seed=0) == expected
    assert bench.evaluate(config, seed=0)["epochs"] == 5  # the maximum fidelity by default


@pytest.mark.parametrize("epochs", [3.5, 0, 6, 6.0, float("nan"), True, "3"])
def test_an_epoch_count_that_is_not_a_whole_number_in_range_is_one_line(bench, epochs) -> None:
    with pytest.raises(ConfigError, match=r"epochs=.*: accepted a whole number 1\.\.5"):
        bench.evaluate(bench.configs[0], epochs=epochs, seed=0)


@pytest.mark.parametrize("mode", ["tabular", "nearest"])
def test_any_config_is_answered_by_the_collected_config_nearest_it(cache_dir, mode) -> None:
    bench = open_benchmark("softmax", mode, cache_dir)
    asked = {"learning_rate": 0.5, "batch_size": 100}
    got = bench.evaluate(asked, epochs=5, seed=0)
    units = bench.units
    nearest = bench.configs[int(np.argmin(((units - bench.space.to_unit(asked)) ** 2).sum(axis=1)))]
    assert got["config"] == nearest and not got["exact"]
    assert got == bench.evaluate(nearest, epochs=5, seed=0) | {"exact": False}


def test_an_omitted_seed_is_drawn_from_the_black_box_generator(cache_dir) -> None:
    config = {"learning_rate": 0.01, "batch_size": 64}
    draws = [
        open_benchmark("softmax", cache_dir=cache_dir, seed=3).evaluate(config)["seed"] for _ in range(2)
    ]
    assert draws[0] == draws[1]  # the same seed gives the same draws
    bench = open_benchmark("softmax", cache_dir=cache_dir, rng=np.random.default_rng(1))
    assert {bench.evaluate(config)["seed"] for _ in range(40)} == {0, 1}  # both cached seeds come up
    with pytest.raises(ConfigError, match="rng must be a numpy.random.Generator, got int"):
        open_benchmark("softmax", cache_dir=cache_dir, rng=5)


def test_curve_and_cost_of_continuing_are_the_segments_of_one_training(bench) -> None:
    config = bench.configs[2]
    curve = bench.curve(config, seed=1)
    assert curve["epochs"] == [1, 2, 3, 4, 5] and curve["seed"] == 1
    for e in curve["epochs"]:
        assert curve["val_error"][e - 1] == bench.evaluate(config, e, 1)["val_error"]
    seconds = np.array(curve["epoch_seconds"])
    assert bench.cost(config, 2, 5.0, seed=1) == pytest.approx(seconds[2:5].sum(), rel=1e-6)
    assert bench.cost(config, 0, 5, seed=1) == pytest.approx(bench.evaluate(config, 5, 1)["cost_seconds"])
    with pytest.raises(ConfigError, match=r"from_epochs=5: accepted a whole number 0\.\.4"):
        bench.cost(config, 5, 5, seed=1)


def test_worth_is_the_seed_mean_at_the_maximum_fidelity_and_regret_is_the_reports(bench) -> None:
    table = bench
    final = table.val_error[:, :, -1].mean(axis=1)  # every config has both seeds complete
    config = bench.configs[4]
    assert bench.worth(config) == pytest.approx(float(final[table.index(config)]))
    assert bench.worth(config, epochs=2) == pytest.approx(
        float(table.val_error[table.index(config), :, 1].mean())
    )
    assert (bench.best_value, bench.worst_value) == pytest.approx((final.min(), final.max()))
    best = bench.configs[int(np.argmin(final))]
    assert bench.regret(best) == 0.0 and bench.normalised_regret(best) == 0.0
    worst = bench.configs[int(np.argmax(final))]
    assert bench.normalised_regret(worst) == pytest.approx(1.0)
    # a lucky reading never makes regret negative: no seed's reading is what the config is worth
    assert min(bench.regret(c) for c in bench.configs) == 0.0


def test_hpobench_objective_function_takes_configspace_objects(bench) -> None:
    pytest.importorskip("ConfigSpace", reason="the optional extra `configspace`")
    cs = bench.get_configuration_space(seed=0)
    fidelity_space = bench.get_fidelity_space()
    assert list(fidelity_space) == ["epochs"] and fidelity_space["epochs"].upper == 5
    assert dict(fidelity_space.get_default_configuration()) == {"epochs": 5}
    configuration = cs.sample_configuration()
    fidelity = fidelity_space.sample_configuration()
    result = bench.objective_function(configuration, fidelity=fidelity, seed=0)
    direct = bench.evaluate(dict(configuration), epochs=fidelity["epochs"], seed=0)
    assert result["function_value"] == direct["val_error"] and result["cost"] == direct["cost_seconds"]
    assert (
        result["info"]["config"] == direct["config"] and result["info"]["test_error"] == direct["test_error"]
    )
    test = bench.objective_function_test(configuration, seed=0)
    assert test["function_value"] == bench.evaluate(dict(configuration), seed=0)["test_error"]
    with pytest.raises(ConfigError, match="unknown fidelity 'epoch'; accepted: epochs"):
        bench.objective_function(configuration, fidelity={"epoch": 3})


def test_the_configuration_space_starts_at_the_model_defaults(bench) -> None:
    pytest.importorskip("ConfigSpace", reason="the optional extra `configspace`")
    cs = bench.get_configuration_space()
    assert dict(cs.get_default_configuration()) == bench.defaults == {"learning_rate": 0.1, "batch_size": 256}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"batch_size": "64"}, "batch_size='64' is a str, not a number: int 32..511"),
        ({"batch_size": 64.5}, "batch_size=64.5 is not an integer: int 32..511"),
        ({"learning_rate": 5.0}, "learning_rate=5.0 is outside the space: loguniform 0.0001..1.0"),
        ({"momentum": 0.9}, "unknown hyperparameter 'momentum'; accepted: learning_rate, batch_size"),
    ],
)
def test_a_bad_config_is_one_error_naming_the_key(bench, change, message) -> None:
    with pytest.raises(ConfigError) as caught:
        bench.evaluate({**bench.configs[0], **change}, epochs=5, seed=0)
    assert str(caught.value) == message


def test_missing_keys_seeds_and_modes_are_refused(cache_dir, bench) -> None:
    config = bench.configs[0]
    with pytest.raises(ConfigError, match="missing hyperparameter 'batch_size'"):
        bench.evaluate({"learning_rate": config["learning_rate"]}, epochs=5, seed=0)
    with pytest.raises(ConfigError, match=r"seed=7 is not cached for this config; accepted: \[0, 1\]"):
        bench.evaluate(config, epochs=5, seed=7)
    with pytest.raises(ConfigError, match="a config is a mapping"):
        bench.evaluate([0.1, 64], epochs=5, seed=0)
    with pytest.raises(ConfigError, match="unknown lookup mode 'exact'"):
        open_benchmark("softmax", "exact", cache_dir)


def test_numpy_values_find_their_collected_config(bench) -> None:
    # what ConfigSpace and Optuna hand out: NumPy scalars must still match the table exactly
    config = bench.configs[5]
    as_numpy = {
        "learning_rate": np.float64(config["learning_rate"]),
        "batch_size": np.int64(config["batch_size"]),
    }
    got = bench.evaluate(as_numpy, epochs=5, seed=0)
    assert got["exact"] and config_key(got["config"]) == config_key(config)
