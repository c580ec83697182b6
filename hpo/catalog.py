"""What each model is tuned over, without torch: its hyperparameters in order, default space,
defaults and revision, and what a trainer accepts of each hyperparameter. The model registry
(`hpo.models`) builds on it; a benchmark opened from the cache and a replay read it without
importing torch."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hpo.errors import ConfigError
from hpo.space import Parameter, SearchSpace

__all__ = [
    "CATALOG",
    "DEVICE_CHOICES",
    "PRECISIONS",
    "C",
    "ModelEntry",
    "check_space",
    "check_value",
    "model_entry",
]

#: where a training runs (auto: CUDA when present) and its arithmetic (bf16 autocasts the forward pass)
DEVICE_CHOICES = ("auto", "cpu", "cuda")
PRECISIONS = ("fp32", "bf16")

# the reference notebook's hyperparameter ranges, shared by the models that use them
LEARNING_RATE = Parameter("learning_rate", "loguniform", 1e-4, 1.0)
BATCH_SIZE = Parameter("batch_size", "int", 32, 511)
ALPHA = Parameter("alpha", "loguniform", 1e-6, 1e-1)
L1_RATIO = Parameter("l1_ratio", "uniform", 0.0, 1.0)
C = Parameter("C", "loguniform", 1e-2, 1e2)
GAMMA = Parameter("gamma", "loguniform", 1e-6, 1e-1)


@dataclass(frozen=True)
class ModelEntry:
    """A model's name, description, default search space, default config and revision.

    The revision is raised whenever a change gives other curves for the same config and seed:
    a cache collected under another revision cannot be added to.
    """

    name: str
    description: str
    space: SearchSpace
    defaults: Mapping[str, Any]
    revision: int = 1

    @property
    def hyperparameters(self) -> tuple[str, ...]:
        """Names of the hyperparameters a config must give."""
        return self.space.names


CATALOG: dict[str, ModelEntry] = {
    entry.name: entry
    for entry in (
        ModelEntry(
            "softmax",
            "softmax regression (linear layer + cross-entropy)",
            SearchSpace([LEARNING_RATE, BATCH_SIZE]),
            {"learning_rate": 0.1, "batch_size": 256},
        ),
        ModelEntry(
            "lenet",
            "LeNet-5 (sigmoid, average pooling, Xavier init)",
            SearchSpace([LEARNING_RATE, BATCH_SIZE]),
            {"learning_rate": 0.1, "batch_size": 256},
        ),
        ModelEntry(
            "sgd",
            "linear SVM, one-vs-rest hinge + elastic net (sklearn SGDClassifier objective)",
            SearchSpace([LEARNING_RATE, BATCH_SIZE, ALPHA, L1_RATIO]),
            {"learning_rate": 0.01, "batch_size": 256, "alpha": 1e-4, "l1_ratio": 0.15},
        ),
        ModelEntry(
            "svm",
            "RBF SVM via 100 random Fourier features, multi-class hinge, sklearn's C",
            SearchSpace([LEARNING_RATE, BATCH_SIZE, C, GAMMA]),
            {"learning_rate": 0.1, "batch_size": 256, "C": 1.0, "gamma": 0.01},
            revision=2,  # 2: errors measured on the moving average of the weights
        ),
    )
}


def model_entry(name: str) -> ModelEntry:
    """The catalog entry for `name`, or a ConfigError listing the accepted names."""
    try:
        return CATALOG[name]
    except KeyError:
        raise ConfigError(f"unknown model {name!r}; accepted: {', '.join(CATALOG)}") from None


def check_space(name: str, space: SearchSpace) -> SearchSpace:
    """Return `space` if it names exactly model `name`'s hyperparameters, else raise ConfigError."""
    hyperparameters = model_entry(name).hyperparameters
    if set(space.names) != set(hyperparameters):
        raise ConfigError(
            f"search space parameters {list(space.names)} do not match model {name!r}'s "
            f"hyperparameters {list(hyperparameters)}"
        )
    for parameter in space.parameters:  # bounds a training could never use are refused on reading
        bounds = parameter.values if parameter.kind == "choice" else (parameter.low, parameter.high)
        for value in bounds:
            try:
                check_value(parameter.name, value)
            except ConfigError as exc:
                raise ConfigError(f"search space for model {name!r}: {exc}") from None
    return space


# What a trainer accepts, wider than the search ranges of hpo.catalog: a user may train a config
# outside the default space (batch 1024, say), never a meaningless one. Training runs in
# float32 and indexes with int32-sized batches, so larger values cannot even be represented.
FLOAT32_MAX = 3.4028234663852886e38
INT_MAX = 2**31 - 1
VALID_RANGES: dict[str, tuple[float, float, bool, str]] = {
    # name: (low, high, integer, description)
    "learning_rate": (0.0, FLOAT32_MAX, False, "a number > 0 and <= 3.4e38 (float32)"),
    "batch_size": (1, INT_MAX, True, "an integer from 1 to 2**31-1"),
    "alpha": (0.0, FLOAT32_MAX, False, "a number >= 0 and <= 3.4e38 (float32)"),
    "l1_ratio": (0.0, 1.0, False, "a number in [0, 1]"),
    "C": (0.0, FLOAT32_MAX, False, "a number > 0 and <= 3.4e38 (float32)"),
    "gamma": (0.0, FLOAT32_MAX, False, "a number > 0 and <= 3.4e38 (float32)"),
}
_EXCLUSIVE_LOW = {"learning_rate", "C", "gamma"}


def check_value(name: str, value: object) -> None:
    """Raise ConfigError unless `value` is acceptable for hyperparameter `name`."""
    low, high, integer, description = VALID_RANGES[name]
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if ok and integer:
        ok = float(value).is_integer()
    if ok:
        ok = (value > low if name in _EXCLUSIVE_LOW else value >= low) and value <= high
    if not ok:
        raise ConfigError(f"{name}={value!r} is invalid: expected {description}")
