"""Search spaces to and from ConfigSpace, the format SMAC, DEHB, HPOBench and CARP-S use (optional extra).

ConfigSpace lists hyperparameters sorted by name; the space's own order is kept in the
ConfigurationSpace's `meta` (under ORDER_KEY), so `from_configspace(to_configspace(s)) == s`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hpo.errors import ConfigError
from hpo.space import Parameter, SearchSpace

__all__ = ["INSTALL", "from_configspace", "to_configspace"]

INSTALL = "ConfigSpace is not installed; pip install 'hpobench[configspace]' (or ConfigSpace>=1.0)"
ORDER_KEY = "hpobench_order"


def _module() -> Any:
    try:
        import ConfigSpace
    except ImportError:
        raise ConfigError(INSTALL) from None
    return ConfigSpace


def to_configspace(
    space: SearchSpace,
    seed: int | None = None,
    defaults: Mapping[str, Any] | None = None,
    name: str | None = None,
) -> Any:
    """The space as a `ConfigSpace.ConfigurationSpace` (floats, integers, categoricals; log where
    log), with `defaults` as each hyperparameter's default (a model's defaults: where SMAC's
    initial design starts) and the parameter order kept in its meta."""
    cs = _module()
    if defaults is not None:
        space.validate(defaults)
    hyperparameters = {}
    for p in space.parameters:
        default = {} if defaults is None else {"default": defaults[p.name]}
        if p.kind == "choice":
            hyperparameters[p.name] = cs.Categorical(p.name, list(p.values), **default)
        elif p.is_int:
            hyperparameters[p.name] = cs.Integer(p.name, (int(p.low), int(p.high)), log=p.is_log, **default)
        else:
            hyperparameters[p.name] = cs.Float(p.name, (float(p.low), float(p.high)), log=p.is_log, **default)
    return cs.ConfigurationSpace(
        name=name, space=hyperparameters, seed=seed, meta={ORDER_KEY: list(space.names)}
    )


def from_configspace(configuration_space: Any) -> SearchSpace:
    """A SearchSpace from a `ConfigSpace.ConfigurationSpace` of uniform floats, integers and categoricals.

    The order is the one `to_configspace` recorded, else ConfigSpace's. Conditions, forbidden
    clauses, ordinals and non-uniform priors have no counterpart here and are refused with one
    line naming what was found.
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
    order = (configuration_space.meta or {}).get(ORDER_KEY)
    if order is not None and sorted(order) == sorted(p.name for p in parameters):
        parameters.sort(key=lambda p: order.index(p.name))
    return SearchSpace(parameters)
