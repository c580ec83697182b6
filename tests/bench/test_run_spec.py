"""A run spec round-trips through the dict stored with its results."""

from __future__ import annotations

import gc
import json

import pytest

from bench.experiment import LiveOptions, ReplayOptions, RunSpec, run_replay
from hpo.algorithms import AlgorithmSettings
from hpo.errors import ConfigError
from hpo.space import SearchSpace
from hpo.tuner import Budget

SPECS = {
    "replay": RunSpec(
        "softmax",
        "asha",
        Budget(trials=50, epochs=400),
        AlgorithmSettings(eta=2, r_min=1, r_max=16, searcher_options={"n_init": 5}),
        seed=7,
        where=ReplayOptions(workers=16, mode="nearest"),
    ),
    "live": RunSpec(
        "sgd",
        "bo",
        Budget(seconds=90.5),
        seed=3,
        initial_default=True,
        where=LiveOptions(workers=2, device="cpu", precision="bf16"),
    ),
}


@pytest.mark.parametrize("name", list(SPECS))
def test_a_spec_comes_back_from_its_stored_dict(name) -> None:
    spec = SPECS[name]
    stored = json.loads(json.dumps(spec.to_dict()))  # as the result file holds it
    again = RunSpec.from_dict(stored)
    assert again == spec
    assert again.experiment_id == spec.experiment_id


def test_a_custom_space_comes_back_and_the_default_one_as_none() -> None:
    default = RunSpec("softmax", "random", Budget(trials=4), where=ReplayOptions(mode="nearest"))
    narrow = default.search_space.to_dict()
    narrow["batch_size"] = {"type": "int", "low": 64, "high": 128}
    spec = RunSpec(
        "softmax",
        "random",
        Budget(trials=4),
        space=SearchSpace.from_dict(narrow),
        where=ReplayOptions(mode="nearest"),
    )
    assert RunSpec.from_dict(spec.to_dict()).space == spec.space
    assert RunSpec.from_dict(default.to_dict()).space is None


@pytest.mark.parametrize(
    "damage",
    [
        lambda d: d.pop("budget"),
        lambda d: d.update(backend="cloud"),
        lambda d: d["settings"].update(speed=3),
        lambda d: d.update(model="resnet"),
    ],
)
def test_a_damaged_stored_spec_is_a_config_error(damage) -> None:
    stored = SPECS["replay"].to_dict()
    damage(stored)
    with pytest.raises(ConfigError):
        RunSpec.from_dict(stored)


def test_a_replay_runs_with_the_collector_paused() -> None:
    # the pause of hpo.simulation.collector_paused is where every replay runs (bench compare's too)
    seen = []
    spec = RunSpec("softmax", "random", Budget(trials=5), where=ReplayOptions(mode="tabular"))
    run_replay(spec, on_result=lambda row, outcome: seen.append(gc.isenabled()))
    assert seen == [False] * 5 and gc.isenabled()
