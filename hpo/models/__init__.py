"""The model registry: build any model from its name and a config dict."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from hpo.catalog import check_value
from hpo.errors import ConfigError
from hpo.models import lenet, sgd, softmax, svm
from hpo.models.base import Classifier, ModelContext, ModelSpec

MODELS: dict[str, ModelSpec] = {spec.name: spec for spec in (softmax.SPEC, lenet.SPEC, sgd.SPEC, svm.SPEC)}


def get_model(name: str) -> ModelSpec:
    """The registry entry for `name`, or a ConfigError listing the accepted names."""
    try:
        return MODELS[name]
    except KeyError:
        raise ConfigError(f"unknown model {name!r}; accepted: {', '.join(MODELS)}") from None


def validate_config(name: str, config: Mapping[str, Any]) -> dict[str, Any]:
    """Check that `config` names exactly the model's hyperparameters with acceptable values.

    Values may lie outside the default search space (that is the searcher's business) but
    must be meaningful: a positive learning rate, a batch size of at least 1, and so on.
    Returns the config with integers as int.
    """
    spec = get_model(name)
    names = spec.hyperparameters
    unknown = sorted(set(config) - set(names))
    if unknown:
        raise ConfigError(
            f"unknown hyperparameter {unknown[0]!r} for model {name!r}; accepted: {', '.join(names)}"
        )
    missing = [n for n in names if n not in config]
    if missing:
        raise ConfigError(
            f"missing hyperparameter {missing[0]!r} for model {name!r}; required: {', '.join(names)}"
        )
    for key in names:
        check_value(key, config[key])
    return {key: int(config[key]) if spec.space[key].is_int else float(config[key]) for key in names}


def build_model(
    name: str, config: Mapping[str, Any], context: ModelContext, generator: torch.Generator
) -> Classifier:
    """Validate `config` and build the model, drawing any random initialisation from `generator`."""
    spec = get_model(name)
    return spec.factory(validate_config(name, config), context, generator)


__all__ = [
    "MODELS",
    "Classifier",
    "ModelContext",
    "ModelSpec",
    "build_model",
    "get_model",
    "validate_config",
]
