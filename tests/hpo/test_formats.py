"""Search spaces to and from ConfigSpace, Optuna and Syne Tune: exact round trips, defaults, refusals."""

from __future__ import annotations

import json

import pytest

from hpo.errors import ConfigError
from hpo.models import MODELS, get_model
from hpo.space import SearchSpace

MIXED = SearchSpace.from_dict(
    {
        "units": {"type": "logint", "low": 16, "high": 512},
        "act": {"type": "choice", "values": ["relu", "tanh"]},
        "dropout": {"type": "uniform", "low": 0.0, "high": 0.5},
        "lr": {"type": "loguniform", "low": 1e-4, "high": 1.0},
        "batch": {"type": "int", "low": 32, "high": 511},
    }
)
SPACES = [MIXED, *(get_model(m).space for m in MODELS)]
IDS = ["mixed", *MODELS]


@pytest.mark.parametrize("space", SPACES, ids=IDS)
def test_json_round_trips(space) -> None:
    assert SearchSpace.from_dict(json.loads(space.to_json())) == space


@pytest.mark.parametrize("space", SPACES, ids=IDS)
def test_configspace_round_trips_with_the_order_kept(space) -> None:
    pytest.importorskip("ConfigSpace", reason="the optional extra `configspace`")
    from hpo.formats.configspace import from_configspace, to_configspace

    back = from_configspace(to_configspace(space))
    # equality of spaces compares the parameter tuples: names, kinds, bounds and their order
    assert back == space and back.names == space.names


@pytest.mark.parametrize("model", list(MODELS))
def test_configspace_carries_the_model_defaults(model) -> None:
    pytest.importorskip("ConfigSpace", reason="the optional extra `configspace`")
    from hpo.formats.configspace import to_configspace

    spec = get_model(model)
    cs = to_configspace(spec.space, defaults=spec.defaults)
    assert dict(cs.get_default_configuration()) == spec.defaults
    with pytest.raises(ConfigError, match="outside the space"):
        to_configspace(spec.space, defaults={**spec.defaults, spec.space.names[0]: -1.0})


def test_configspace_parts_without_a_counterpart_are_refused() -> None:
    CS = pytest.importorskip("ConfigSpace", reason="the optional extra `configspace`")
    from hpo.formats.configspace import from_configspace

    normal = CS.ConfigurationSpace(space={"x": CS.Float("x", (0.0, 1.0), distribution=CS.Normal(0.5, 0.1))})
    with pytest.raises(ConfigError, match="hyperparameter 'x' is a NormalFloatHyperparameter"):
        from_configspace(normal)


@pytest.mark.parametrize("space", SPACES, ids=IDS)
def test_optuna_distributions_round_trip(space) -> None:
    optuna = pytest.importorskip("optuna", reason="the optional extra `optuna`")
    from hpo.formats.optuna import from_optuna, to_optuna

    distributions = to_optuna(space)
    assert list(distributions) == list(space.names)
    assert from_optuna(distributions) == space
    lr = distributions.get("lr") or distributions.get("learning_rate")
    if lr is not None:
        assert isinstance(lr, optuna.distributions.FloatDistribution) and lr.log
    with pytest.raises(ConfigError, match=r"parameter 'q'.*has no counterpart"):
        from_optuna({"q": optuna.distributions.FloatDistribution(0.0, 1.0, step=0.1)})


@pytest.mark.parametrize("space", SPACES, ids=IDS)
def test_syne_tune_config_spaces_round_trip(space) -> None:
    st = pytest.importorskip("syne_tune.config_space", reason="the optional extra `synetune`")
    from hpo.formats.synetune import from_synetune, to_synetune

    config_space = to_synetune(space)
    assert list(config_space) == list(space.names)
    assert from_synetune(config_space) == space
    # constants are passed to every trial, not searched: they are no parameter
    assert from_synetune({**config_space, "epochs": 20}) == space
    with pytest.raises(ConfigError, match=r"parameter 'q': .* has no counterpart"):
        from_synetune({"q": st.quniform(0.0, 1.0, 0.1)})
