"""Softmax regression: one linear layer on the flattened image, cross-entropy loss."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from hpo.models.base import Classifier, ModelContext, ModelSpec
from hpo.models.spaces import BATCH_SIZE, LEARNING_RATE
from hpo.space import SearchSpace


class SoftmaxRegression(Classifier):
    """Multinomial logistic regression."""

    def __init__(self, context: ModelContext, generator: torch.Generator) -> None:
        super().__init__()
        self.linear = nn.Linear(math.prod(context.input_shape), context.n_classes)
        with torch.no_grad():
            self.linear.weight.normal_(0.0, 0.01, generator=generator)
            self.linear.bias.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x.flatten(1))


def _build(config: Mapping[str, Any], context: ModelContext, generator: torch.Generator) -> Classifier:
    return SoftmaxRegression(context, generator)


SPEC = ModelSpec(
    name="softmax",
    description="softmax regression (linear layer + cross-entropy)",
    space=SearchSpace([LEARNING_RATE, BATCH_SIZE]),
    defaults={"learning_rate": 0.1, "batch_size": 256},
    factory=_build,
)
