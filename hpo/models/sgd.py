"""Linear SVM with elastic-net penalty, the objective of sklearn's SGDClassifier(loss='hinge').

sklearn trains one binary hinge classifier per class (one-vs-rest) and minimises, for each,
mean(max(0, 1 - y f(x))) + alpha * (l1_ratio * |w|_1 + (1 - l1_ratio) / 2 * |w|_2^2), with the
intercept unpenalised. The classes' problems are independent, so their sum is minimised here
in one step; the prediction is the class with the highest score, as in sklearn.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from hpo.catalog import CATALOG
from hpo.models.base import Classifier, ModelContext, ModelSpec

__all__ = ["SPEC", "ElasticNetSVM", "one_vs_rest_hinge"]


def one_vs_rest_hinge(scores: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean over examples of the sum over classes of max(0, 1 - y_k * score_k), y_k in {-1, +1}."""
    signs = torch.full_like(scores, -1.0)
    signs.scatter_(1, targets.unsqueeze(1), 1.0)
    return torch.clamp(1.0 - signs * scores, min=0.0).sum(dim=1).mean()


class ElasticNetSVM(Classifier):
    """One-vs-rest linear SVM on the flattened image with an elastic-net penalty."""

    def __init__(self, alpha: float, l1_ratio: float, context: ModelContext) -> None:
        super().__init__()
        self.alpha = float(alpha)
        self.l1_ratio = float(l1_ratio)
        # sklearn starts SGDClassifier from zero weights; so do we (no randomness needed).
        self.linear = nn.Linear(math.prod(context.input_shape), context.n_classes)
        nn.init.zeros_(self.linear.weight)
        nn.init.zeros_(self.linear.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x.flatten(1))

    def data_loss(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return one_vs_rest_hinge(logits, targets)

    def penalty(self) -> torch.Tensor:
        w = self.linear.weight
        l1 = w.abs().sum()
        l2 = w.pow(2).sum()
        return self.alpha * (self.l1_ratio * l1 + 0.5 * (1.0 - self.l1_ratio) * l2)


def _build(config: Mapping[str, Any], context: ModelContext, generator: torch.Generator) -> Classifier:
    return ElasticNetSVM(config["alpha"], config["l1_ratio"], context)


SPEC = ModelSpec(
    entry=CATALOG["sgd"],
    factory=_build,
)
