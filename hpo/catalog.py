"""What each model is tuned over, without torch: its hyperparameters in order, default space,
defaults and revision. The model registry (`hpo.models`) builds on it; a benchmark opened from
the cache reads it without importing torch."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hpo.errors import ConfigError
from hpo.space import Parameter, SearchSpace

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
