"""Search spaces to and from Syne Tune's config spaces (optional extra `synetune`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hpo.errors import ConfigError
from hpo.space import Parameter, SearchSpace

__all__ = ["INSTALL", "from_synetune", "synetune_module", "to_synetune"]

INSTALL = "Syne Tune is not installed; pip install 'hpobench[synetune]' (or syne-tune>=0.16)"


def synetune_module() -> Any:
    """`syne_tune.config_space`, or a ConfigError saying how to install Syne Tune."""
    try:
        from syne_tune import config_space
    except ImportError:
        raise ConfigError(INSTALL) from None
    return config_space


def to_synetune(space: SearchSpace) -> dict[str, Any]:
    """The space as a Syne Tune config space `{name: domain}`, in the space's order."""
    st = synetune_module()
    out = {}
    for p in space.parameters:
        if p.kind == "choice":
            out[p.name] = st.choice(list(p.values))
        elif p.is_int:
            out[p.name] = (st.lograndint if p.is_log else st.randint)(int(p.low), int(p.high))
        else:
            out[p.name] = (st.loguniform if p.is_log else st.uniform)(float(p.low), float(p.high))
    return out


def from_synetune(config_space: Mapping[str, Any]) -> SearchSpace:
    """A SearchSpace from a Syne Tune config space; constants (non-domain entries) are skipped,
    quantized and ordinal domains refused."""
    st = synetune_module()
    parameters = []
    for name, domain in config_space.items():
        if not isinstance(domain, st.Domain):
            continue  # a constant passed to every trial, not a hyperparameter
        if isinstance(domain, st.Categorical) and not isinstance(domain, st.Ordinal):
            parameters.append(Parameter(name, "choice", values=tuple(domain.categories)))
            continue
        log = st.is_log_space(domain)
        if isinstance(domain, (st.Integer, st.Float)) and (log or st.is_uniform_space(domain)):
            if isinstance(domain, st.Integer):
                parameters.append(
                    Parameter(name, "logint" if log else "int", int(domain.lower), int(domain.upper))
                )
            else:
                kind = "loguniform" if log else "uniform"
                parameters.append(Parameter(name, kind, float(domain.lower), float(domain.upper)))
            continue
        raise ConfigError(
            f"parameter {name!r}: {domain} has no counterpart; accepted: uniform, loguniform, randint, "
            "lograndint, choice"
        )
    return SearchSpace(parameters)
