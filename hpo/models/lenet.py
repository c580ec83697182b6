"""LeNet-5 as in the reference: sigmoid activations, average pooling, Xavier init."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from hpo.models.base import Classifier, ModelContext, ModelSpec
from hpo.models.spaces import BATCH_SIZE, LEARNING_RATE
from hpo.space import SearchSpace


class LeNet(Classifier):
    """Conv(6,5x5,pad 2)-sigmoid-avgpool-Conv(16,5x5)-sigmoid-avgpool-FC120-FC84-FC10."""

    def __init__(self, context: ModelContext, generator: torch.Generator) -> None:
        super().__init__()
        channels = context.input_shape[0]
        self.layers = nn.Sequential(
            nn.Conv2d(channels, 6, kernel_size=5, padding=2),
            nn.Sigmoid(),
            nn.AvgPool2d(kernel_size=2, stride=2),
            nn.Conv2d(6, 16, kernel_size=5),
            nn.Sigmoid(),
            nn.AvgPool2d(kernel_size=2, stride=2),
            nn.Flatten(),
            nn.Linear(16 * 5 * 5, 120),
            nn.Sigmoid(),
            nn.Linear(120, 84),
            nn.Sigmoid(),
            nn.Linear(84, context.n_classes),
        )
        for module in self.layers:
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                nn.init.xavier_uniform_(module.weight, generator=generator)
                nn.init.zeros_(module.bias)
        # channels_last measured 10-25% faster per epoch on CPU for this network (oneDNN
        # kernels); for one input channel the input needs no copy to match.
        self.to(memory_format=torch.channels_last)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x.contiguous(memory_format=torch.channels_last))


def _build(config: Mapping[str, Any], context: ModelContext, generator: torch.Generator) -> Classifier:
    return LeNet(context, generator)


SPEC = ModelSpec(
    name="lenet",
    description="LeNet-5 (sigmoid, average pooling, Xavier init)",
    space=SearchSpace([LEARNING_RATE, BATCH_SIZE]),
    defaults={"learning_rate": 0.1, "batch_size": 256},
    factory=_build,
)
