"""Softmax regression: one linear layer on the flattened image, cross-entropy loss."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from hpo.catalog import CATALOG
from hpo.models.base import Classifier, ModelContext, ModelSpec

__all__ = ["SPEC", "SoftmaxRegression"]


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
    entry=CATALOG["softmax"],
    factory=_build,
)
