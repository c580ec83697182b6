"""Search spaces to and from ConfigSpace, the format SMAC, DEHB and HPOBench use (optional extra)."""

from __future__ import annotations

from typing import Any

from hpo.errors import ConfigError
from hpo.space import Parameter, SearchSpace

INSTALL = "ConfigSpace is not installed; pip install 'hpobench[configspace]' (or ConfigSpace>=1.0)"


def _module() -> Any:
    try:
        import ConfigSpace
    except ImportError:
        raise ConfigError(INSTALL) from None
    return ConfigSpace


def to_configspace(space: SearchSpace, seed: int | None = None) -> Any:
    """The space as a `ConfigSpace.ConfigurationSpace` (floats, integers, categoricals; log where log)."""
    cs = _module()
    hyperparameters = {}
    for p in space.parameters:
        if p.kind == "choice":
            hyperparameters[p.name] = cs.Categorical(p.name, list(p.values))
        elif p.is_int:
            hyperparameters[p.name] = cs.Integer(p.name, (int(p.low), int(p.high)), log=p.is_log)
        else:
            hyperparameters[p.name] = cs.Float(p.name, (float(p.low), float(p.high)), log=p.is_log)
    return cs.ConfigurationSpace(space=hyperparameters, seed=seed)


def from_configspace(configuration_space: Any) -> SearchSpace:
    """A SearchSpace from a `ConfigSpace.ConfigurationSpace` of uniform floats, integers and categoricals.

    Conditions, forbidden clauses, ordinals and non-uniform priors have no counterpart here and
    are refused with one line naming what was found.
    """
    cs = _module()
    if list(configuration_space.conditions) or list(configuration_space.forbidden_clauses):
        raise ConfigError(
            "ConfigSpace conditions and forbidden clauses are not supported; only independent hyperparameters"
        )
    parameters = []
    for hp in configuration_space.values():
        if isinstance(hp, cs.UniformFloatHyperparameter):
            parameters.append(
                Parameter(hp.name, "loguniform" if hp.log else "uniform", float(hp.lower), float(hp.upper))
            )
        elif isinstance(hp, cs.UniformIntegerHyperparameter):
            parameters.append(Parameter(hp.name, "logint" if hp.log else "int", int(hp.lower), int(hp.upper)))
        elif isinstance(hp, cs.CategoricalHyperparameter):
            parameters.append(Parameter(hp.name, "choice", values=tuple(hp.choices)))
        else:
            raise ConfigError(
                f"hyperparameter {hp.name!r} is a {type(hp).__name__}; accepted: UniformFloat, UniformInteger, Categorical"
            )
    return SearchSpace(parameters)
