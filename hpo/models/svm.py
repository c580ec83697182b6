"""RBF-kernel SVM approximated by random Fourier features, multi-class hinge, sklearn's C.

Random Fourier features (Rahimi & Recht 2007): z(x) = sqrt(2/D) cos(W x + b) with
W ~ N(0, 2 gamma I) and b ~ U(0, 2 pi) approximate exp(-gamma ||x - x'||^2). The linear
layer is trained with the Weston-Watkins multi-class hinge (torch's multi_margin_loss) and
the penalty ||W||^2 / (2 C n_train) on z, which is sklearn's C convention for a mean loss.
The reference used 0.5 / C * ||W||^2 on a mean hinge, about n_train times stronger, and at
C=1 collapsed to a single class.

The layer sees the features as sqrt(D) z, one unit of variance each, and its penalty is
D times larger: the same problem (the same classifiers, the same C), but plain SGD on it
takes steps D times larger in z's terms. On z itself each component is about 1/sqrt(D), and
SGD needed a learning rate near 10, beyond the searched range, to come within a point of an
exact solver on the same features (docs/engine.md, "Models as good as their peers").
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from hpo.catalog import CATALOG
from hpo.models.base import Classifier, ModelContext, ModelSpec

__all__ = ["SPEC", "RandomFourierSVM"]

DEFAULT_COMPONENTS = 100


class RandomFourierSVM(Classifier):
    """Fixed random Fourier features followed by a trained linear multi-class SVM."""

    def __init__(
        self,
        C: float,
        gamma: float,
        context: ModelContext,
        generator: torch.Generator,
        n_components: int = DEFAULT_COMPONENTS,
    ) -> None:
        super().__init__()
        n_features = math.prod(context.input_shape)
        self.C = float(C)
        self.n_train = context.n_train
        projection = torch.randn(n_features, n_components, generator=generator) * math.sqrt(2.0 * gamma)
        phase = torch.rand(n_components, generator=generator) * (2.0 * math.pi)
        # Buffers, not parameters: saved in checkpoints, never trained.
        self.register_buffer("projection", projection)
        self.register_buffer("phase", phase)
        self.n_components = n_components
        self.scale = math.sqrt(2.0)  # sqrt(D) * sqrt(2 / D): unit-variance features
        self.linear = nn.Linear(n_components, context.n_classes)
        nn.init.zeros_(self.linear.weight)
        nn.init.zeros_(self.linear.bias)

    fixed_features = True
    # SGD's last iterate on the hinge is a point worse than the average of its iterates
    # (docs/engine.md, "The SVM's features")
    average_half_life = 1.0

    def feature_map(self, x: torch.Tensor) -> torch.Tensor:
        """The random Fourier features of a batch of images, scaled to unit variance."""
        return self.scale * torch.cos(torch.addmm(self.phase, x.flatten(1), self.projection))

    def head(self, features: torch.Tensor) -> torch.Tensor:
        return self.linear(features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.feature_map(x))

    def data_loss(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return nn.functional.multi_margin_loss(logits, targets)

    def penalty(self) -> torch.Tensor:
        # ||W_z||^2 = D ||W||^2 for the weights W_z = sqrt(D) W on z: sklearn's C on the kernel
        return self.n_components * self.linear.weight.pow(2).sum() / (2.0 * self.C * self.n_train)


def _build(config: Mapping[str, Any], context: ModelContext, generator: torch.Generator) -> Classifier:
    return RandomFourierSVM(config["C"], config["gamma"], context, generator)


SPEC = ModelSpec(
    entry=CATALOG["svm"],
    factory=_build,
)
