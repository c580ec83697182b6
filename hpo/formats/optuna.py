"""Search spaces to and from Optuna's distributions (optional extra `optuna`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hpo.errors import ConfigError
from hpo.space import Parameter, SearchSpace

__all__ = ["INSTALL", "from_optuna", "optuna_module", "to_optuna"]

INSTALL = "Optuna is not installed; pip install 'hpobench[optuna]' (or optuna>=4)"


def optuna_module() -> Any:
    """The optuna module (its logging at WARNING), or a ConfigError saying how to install it."""
    try:
        import optuna
    except ImportError:
        raise ConfigError(INSTALL) from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def to_optuna(space: SearchSpace) -> dict[str, Any]:
    """The space as `{name: optuna distribution}`, in the space's order (for `study.ask(...)`)."""
    distributions = optuna_module().distributions
    out = {}
    for p in space.parameters:
        if p.kind == "choice":
            out[p.name] = distributions.CategoricalDistribution(list(p.values))
        elif p.is_int:
            out[p.name] = distributions.IntDistribution(int(p.low), int(p.high), log=p.is_log)
        else:
            out[p.name] = distributions.FloatDistribution(float(p.low), float(p.high), log=p.is_log)
    return out


def from_optuna(distributions: Mapping[str, Any]) -> SearchSpace:
    """A SearchSpace from `{name: optuna distribution}`; stepped distributions are refused."""
    d = optuna_module().distributions
    parameters = []
    for name, dist in distributions.items():
        if isinstance(dist, d.CategoricalDistribution):
            parameters.append(Parameter(name, "choice", values=tuple(dist.choices)))
        elif isinstance(dist, d.IntDistribution) and dist.step == 1:
            parameters.append(Parameter(name, "logint" if dist.log else "int", int(dist.low), int(dist.high)))
        elif isinstance(dist, d.FloatDistribution) and dist.step is None:
            parameters.append(Parameter(name, "loguniform" if dist.log else "uniform", dist.low, dist.high))
        else:
            raise ConfigError(
                f"parameter {name!r}: {dist!r} has no counterpart; accepted: Float and Int distributions "
                "without a step, Categorical"
            )
    return SearchSpace(parameters)
