"""What every model provides: a module with a data loss and a penalty, and its registry entry."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from hpo.catalog import ModelEntry

__all__ = ["Classifier", "ModelContext", "ModelSpec"]


class Classifier(nn.Module):
    """A model whose training objective is `data_loss(logits, y) + penalty()`.

    A model with a fixed (untrained) input transformation sets `fixed_features = True` and
    splits `forward` into `feature_map` and `head`; the trainer then maps each split once
    per training instead of once per batch.

    A model whose last SGD iterate is noisy sets `average_half_life` (in epochs): its errors
    are then measured on an exponential moving average of the trained weights, as
    scikit-learn's `SGDClassifier(average=True)` measures an average. The average does not
    depend on how many epochs a training will get, so a curve's epoch k is the same whatever
    budget a scheduler gives the training.
    """

    fixed_features: bool = False
    average_half_life: float | None = None

    def feature_map(self, x: torch.Tensor) -> torch.Tensor:
        """The fixed transformation of the inputs (identity unless `fixed_features`)."""
        return x

    def head(self, features: torch.Tensor) -> torch.Tensor:
        """The trained part of the model, applied to `feature_map`'s output."""
        return self(features)

    def data_loss(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Mean loss over the batch (cross-entropy unless a model says otherwise)."""
        return nn.functional.cross_entropy(logits, targets)

    def penalty(self) -> torch.Tensor | float:
        """Regularisation added to the mean data loss; 0 for unregularised models."""
        return 0.0


@dataclass(frozen=True)
class ModelContext:
    """What a model needs to know about the data it will be trained on."""

    input_shape: tuple[int, ...]  # one example, e.g. (1, 28, 28)
    n_classes: int
    n_train: int


Factory = Callable[[Mapping[str, Any], ModelContext, torch.Generator], Classifier]


def no_runtime_facts(device: torch.device) -> dict[str, Any]:
    """A model whose bits depend on nothing beyond the machine facts everyone records."""
    return {}


def nothing_to_prepare(device: torch.device) -> None:
    """A model that needs no one-off work per process."""


@dataclass(frozen=True)
class ModelSpec:
    """A registry entry: the catalog's entry (name, space, defaults, revision) and a seeded factory."""

    entry: ModelEntry
    factory: Factory
    # which code paths this model's training takes on `device` (stamped into provenance)
    runtime_facts: Callable[[torch.device], dict[str, Any]] = no_runtime_facts
    # one-off work per process on `device` (compiling kernels), done before any timed epoch
    prepare: Callable[[torch.device], None] = nothing_to_prepare

    name = property(lambda self: self.entry.name, doc="The model's name.")
    description = property(lambda self: self.entry.description, doc="What the model is.")
    space = property(lambda self: self.entry.space, doc="The default search space.")
    defaults = property(lambda self: self.entry.defaults, doc="The default config.")
    revision = property(lambda self: self.entry.revision, doc="The curves' revision (hpo.catalog).")

    @property
    def hyperparameters(self) -> tuple[str, ...]:
        """Names of the hyperparameters a config must give."""
        return self.space.names
