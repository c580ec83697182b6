"""The black-box API over a cache, and search spaces to and from JSON and ConfigSpace."""

from __future__ import annotations

import json

import numpy as np
import pytest

from cache.blackbox import open_benchmark
from hpo.errors import ConfigError
from hpo.formats.configspace import from_configspace, to_configspace
from hpo.models import MODELS, get_model
from hpo.space import SearchSpace
from tests.support.cachefixtures import write_cache


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("curves")
    write_cache(root, "softmax", n_configs=8, seeds=2, epochs=5)
    return root


def test_evaluate_reads_the_stored_curve_and_its_cost(cache_dir) -> None:
    bench = open_benchmark("softmax", cache_dir=cache_dir)
    table = bench.benchmark
    config = bench.configs[3]
    assert bench.fidelities == range(1, 6) and bench.seeds_of(config) == [0, 1]
    got = bench.evaluate(config, epochs=4, seed=1)
    i, s = table.index(config), table.seeds.index(1)
    assert got["val_error"] == pytest.approx(float(table.val_error[i, s, 3]))
    assert got["test_error"] == pytest.approx(float(table.test_error[i, s, 3]))
    # the cost of training from scratch to 4 epochs, on the cache's one clock
    assert got["cost_seconds"] == pytest.approx(float(table.epoch_seconds[i, s, :4].sum()), rel=1e-6)
    assert got["status"] == "ok" and (got["epochs"], got["seed"]) == (4, 1)
    assert bench.regret(bench.best_value) == 0.0
    assert bench.best_value == pytest.approx(float(np.nanmin(table.final_errors())))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"batch_size": "64"}, "batch_size='64' is a str, not a number: int 32..511"),
        ({"batch_size": 64.5}, "batch_size=64.5 is not an integer: int 32..511"),
        ({"learning_rate": 5.0}, "learning_rate=5.0 is outside the space: loguniform 0.0001..1.0"),
        ({"momentum": 0.9}, "unknown hyperparameter 'momentum'; accepted: learning_rate, batch_size"),
    ],
)
def test_a_bad_config_is_one_error_naming_the_key(cache_dir, change, message) -> None:
    bench = open_benchmark("softmax", cache_dir=cache_dir)
    with pytest.raises(ConfigError) as caught:
        bench.evaluate({**bench.configs[0], **change}, epochs=5, seed=0)
    assert str(caught.value) == message


def test_missing_keys_epochs_seeds_and_unknown_configs_are_refused(cache_dir) -> None:
    bench = open_benchmark("softmax", cache_dir=cache_dir)
    config = bench.configs[0]
    with pytest.raises(ConfigError, match="missing hyperparameter 'batch_size'"):
        bench.evaluate({"learning_rate": config["learning_rate"]}, epochs=5, seed=0)
    with pytest.raises(ConfigError, match=r"epochs=6: accepted 1\.\.5"):
        bench.evaluate(config, epochs=6, seed=0)
    with pytest.raises(ConfigError, match=r"seed=7 is not cached for this config; accepted: \[0, 1\]"):
        bench.evaluate(config, epochs=5, seed=7)
    with pytest.raises(ConfigError, match="not in the softmax table"):
        bench.evaluate({"learning_rate": 0.5, "batch_size": 100}, epochs=5, seed=0)
    # the nearest collected config answers any config of the space
    nearest = open_benchmark("softmax", "nearest", cache_dir)
    assert nearest.evaluate({"learning_rate": 0.5, "batch_size": 100}, epochs=5, seed=0)["status"] == "ok"
    with pytest.raises(ConfigError, match="unknown lookup mode 'exact'"):
        open_benchmark("softmax", "exact", cache_dir)


@pytest.mark.parametrize("model", list(MODELS))
def test_spaces_round_trip_through_json_and_configspace(model) -> None:
    space = get_model(model).space
    assert SearchSpace.from_dict(json.loads(space.to_json())) == space
    back = from_configspace(to_configspace(space))
    # ConfigSpace keeps its hyperparameters sorted by name: the same space, in another order
    assert back.to_dict() == space.to_dict() and sorted(back.names) == sorted(space.names)


def test_choices_and_integers_round_trip_and_unsupported_parts_are_refused() -> None:
    import ConfigSpace as CS

    space = SearchSpace.from_dict(
        {
            "units": {"type": "logint", "low": 16, "high": 512},
            "act": {"type": "choice", "values": ["relu", "tanh"]},
            "dropout": {"type": "uniform", "low": 0.0, "high": 0.5},
        }
    )
    assert from_configspace(to_configspace(space)).to_dict() == space.to_dict()
    normal = CS.ConfigurationSpace(space={"x": CS.Float("x", (0.0, 1.0), distribution=CS.Normal(0.5, 0.1))})
    with pytest.raises(ConfigError, match="hyperparameter 'x' is a NormalFloatHyperparameter"):
        from_configspace(normal)
