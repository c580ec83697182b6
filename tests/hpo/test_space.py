from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from hpo.catalog import check_space
from hpo.errors import ConfigError
from hpo.models import get_model
from hpo.space import Parameter, SearchSpace

NOTEBOOK = {
    "learning_rate": stats.loguniform(1e-4, 1.0),
    "batch_size": stats.randint(32, 512),
    "l1_ratio": stats.uniform(0.0, 1.0),
    "shifted": stats.uniform(2.0, 3.0),  # loc=2, scale=3: support 2..5, where .a/.b say 0..1
}


def test_from_scipy_takes_bounds_from_support() -> None:
    space = SearchSpace.from_scipy(NOTEBOOK)
    assert space.to_dict() == {
        "learning_rate": {"type": "loguniform", "low": 1e-4, "high": 1.0},
        "batch_size": {"type": "int", "low": 32, "high": 511},
        "l1_ratio": {"type": "uniform", "low": 0.0, "high": 1.0},
        "shifted": {"type": "uniform", "low": 2.0, "high": 5.0},
    }


def test_from_scipy_refuses_other_distributions() -> None:
    with pytest.raises(ConfigError, match="parameter 'x': unsupported distribution 'norm'"):
        SearchSpace.from_scipy({"x": stats.norm(0, 1)})
    with pytest.raises(ConfigError, match="parameter 'x': expected a frozen scipy.stats distribution"):
        SearchSpace.from_scipy({"x": [1, 2]})


@pytest.mark.parametrize("suffix", [".toml", ".json"])
def test_from_file(tmp_path, suffix) -> None:
    spec = {
        "lr": {"type": "loguniform", "low": 1e-4, "high": 1.0},
        "bs": {"type": "logint", "low": 16, "high": 1024},
        "opt": {"type": "choice", "values": ["sgd", "adam"]},
    }
    path = tmp_path / f"space{suffix}"
    if suffix == ".json":
        path.write_text(json.dumps(spec))
    else:
        path.write_text(
            '[lr]\ntype = "loguniform"\nlow = 1e-4\nhigh = 1.0\n'
            '[bs]\ntype = "logint"\nlow = 16\nhigh = 1024\n'
            '[opt]\ntype = "choice"\nvalues = ["sgd", "adam"]\n'
        )
    assert SearchSpace.from_file(path).to_dict() == spec


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            {"lr": {"type": "uniform", "low": 1.0, "high": 1.0}},
            "parameter 'lr': low must be < high, got low=1.0, high=1.0",
        ),
        ({"lr": {"type": "loguniform", "low": 0.0, "high": 1.0}}, "parameter 'lr': loguniform needs low > 0"),
        ({"lr": {"type": "gaussian", "low": 0.0, "high": 1.0}}, "parameter 'lr': unknown type 'gaussian'"),
        ({"bs": {"type": "int", "low": 1.5, "high": 4}}, "parameter 'bs': int bounds must be integers"),
        ({"lr": {"type": "uniform", "low": 0.0}}, "parameter 'lr': uniform needs 'low' and 'high'"),
        ({"lr": {"type": "uniform", "low": 0, "high": 1, "step": 2}}, "parameter 'lr': unknown keys"),
        ({"c": {"type": "choice", "values": []}}, "parameter 'c': a choice needs a non-empty list"),
        ({}, "non-empty mapping"),
    ],
)
def test_invalid_spaces_name_the_parameter(tmp_path, spec, message) -> None:
    path = tmp_path / "s.json"
    path.write_text(json.dumps(spec))
    with pytest.raises(ConfigError, match=f"search space file {path}: .*{message[:30]}".replace("(", r"\(")):
        SearchSpace.from_file(path)


def test_syntax_error_in_file(tmp_path) -> None:
    path = tmp_path / "s.toml"
    path.write_text("[lr\n")
    with pytest.raises(ConfigError, match="search space file .*s.toml"):
        SearchSpace.from_file(path)


def test_log_encoding_puts_half_the_mass_below_the_geometric_middle(rng) -> None:
    space = SearchSpace([Parameter("lr", "loguniform", 1e-4, 1.0)])
    draws = np.array([space.sample(rng)["lr"] for _ in range(4000)])
    assert 0.47 < np.mean(draws < 1e-2) < 0.53
    assert space.to_unit({"lr": 1e-2})[0] == pytest.approx(0.5)


def test_integers_round_on_decode_and_are_uniform(rng) -> None:
    space = SearchSpace([Parameter("k", "int", 1, 4)])
    draws = [space.sample(rng)["k"] for _ in range(4000)]
    assert all(isinstance(d, int) for d in draws)
    counts = np.bincount(draws, minlength=5)[1:]
    assert stats.chisquare(counts).pvalue > 0.001
    assert space.from_unit(np.array([0.0]))["k"] == 1 and space.from_unit(np.array([1.0]))["k"] == 4


def test_round_trip_and_contains(rng) -> None:
    space = SearchSpace.from_scipy(NOTEBOOK)
    for _ in range(50):
        config = space.sample(rng)
        assert space.contains(config)
        unit = space.to_unit(config)
        assert np.all((unit >= 0) & (unit <= 1))
        back = space.from_unit(unit)
        assert back["batch_size"] == config["batch_size"]
        assert math.isclose(back["learning_rate"], config["learning_rate"], rel_tol=1e-12)
    assert not space.contains({**config, "batch_size": 512})
    assert not space.contains({k: v for k, v in config.items() if k != "l1_ratio"})


def test_same_seed_same_samples() -> None:
    space = SearchSpace.from_scipy(NOTEBOOK)
    a = [space.sample(np.random.default_rng(3)) for _ in range(3)]
    b = [space.sample(np.random.default_rng(3)) for _ in range(3)]
    assert a == b


EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples").glob("*.toml"))


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_spaces_are_sub_spaces_of_their_model(path) -> None:
    model = path.name.split("-")[0]
    space = check_space(model, SearchSpace.from_file(path))
    default = get_model(model).space
    for p in space.parameters:
        assert default[p.name].low <= p.low <= p.high <= default[p.name].high
        assert (p.kind, p.is_log, p.is_int) == (
            default[p.name].kind,
            default[p.name].is_log,
            default[p.name].is_int,
        )


def test_the_example_the_readme_uses_is_there() -> None:
    assert "lenet-lr-0.01-1.toml" in [p.name for p in EXAMPLES]


def _reference_from_unit(p: Parameter, u: float):
    # the decoding rule written out plainly: what the fused decoders must reproduce bit for bit
    u = min(max(u, 0.0), 1.0)
    if p.kind == "choice":
        return p.values[min(int(u * len(p.values)), len(p.values) - 1)]
    low, high = float(p.low), float(p.high)
    if p.is_int:
        low, high = low - 0.5, high + 0.5
    if p.is_log:
        low, high = math.log(low), math.log(high)
    x = low + u * (high - low)
    if p.is_log:
        x = math.exp(x)
    if p.is_int:
        return int(min(max(round(x), p.low), p.high))
    return float(min(max(x, p.low), p.high))


def _reference_to_unit(p: Parameter, value) -> float:
    if p.kind == "choice":
        return (p.values.index(value) + 0.5) / len(p.values)
    low, high = float(p.low), float(p.high)
    if p.is_int:
        low, high = low - 0.5, high + 0.5
    if p.is_log:
        low, high, value = math.log(low), math.log(high), math.log(value)
    return min(max((float(value) - low) / (high - low), 0.0), 1.0)


EVERY_KIND = [
    Parameter("lr", "loguniform", 1e-4, 1.0),
    Parameter("l1", "uniform", 0, 1),  # integer bounds of a float parameter: the values stay floats
    Parameter("batch", "int", 32, 511),
    Parameter("width", "logint", 4, 1024),
    Parameter("act", "choice", values=("relu", "tanh", "gelu")),
]


@pytest.mark.parametrize("parameter", EVERY_KIND, ids=lambda p: p.kind)
def test_the_fused_coders_are_the_encoding_bit_for_bit(parameter) -> None:
    # The replay decodes and encodes with closures over each parameter's constants; a slip in
    # one (an edge, a clip, a rounding) would move configs by an ulp and change every replay's bytes.
    units = [*np.random.default_rng(5).random(3000).tolist(), 0.0, 1.0, -0.25, 1.5, 0.5, 1 - 1e-16]
    for u in units:
        value = parameter.from_unit(u)
        expected = _reference_from_unit(parameter, u)
        assert type(value) is type(expected) and value == expected, u
        encoded = parameter.to_unit(value)
        assert encoded.hex() == _reference_to_unit(parameter, value).hex(), value


def test_sample_many_is_n_samples_in_order() -> None:
    # A random search draws its configs in blocks; they must be exactly the one-at-a-time draws.
    space = SearchSpace(EVERY_KIND)
    one_by_one = np.random.default_rng(11)
    expected = [space.sample(one_by_one) for _ in range(37)]
    assert space.sample_many(np.random.default_rng(11), 37) == expected
    assert all(space.contains(config) for config in expected)


def test_a_space_in_use_pickles_and_decodes_the_same_after() -> None:
    # the coders are closures cached on first use; a fitted surrogate and a Dask task pickle spaces
    import pickle

    space = SearchSpace(EVERY_KIND)
    config = space.sample(np.random.default_rng(2))
    space.to_unit(config)  # every coder made
    back = pickle.loads(pickle.dumps(space))
    assert back == space and back.to_unit(config).tolist() == space.to_unit(config).tolist()
    assert back.from_unit(np.full(space.dim, 0.3)) == space.from_unit(np.full(space.dim, 0.3))
