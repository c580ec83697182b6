"""LeNet-5 as in the reference: sigmoid activations, average pooling, Xavier init."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from hpo.catalog import CATALOG
from hpo.models.base import Classifier, ModelContext, ModelSpec
from hpo.models.lenet.kernels import (
    Conv2dMixedLayout,
    Conv2dPhases,
    ConvSigmoidPool,
    conv_sigmoid_pool_supported,
    fused_sigmoid_avg_pool,
    fused_sigmoid_phase_mean,
    lenet_block1,
)

__all__ = ["SPEC", "LeNet"]


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
        # channels_last parameters: what the bf16 path wants (the fp32 path below picks the
        # layout of each pass itself)
        self.to(memory_format=torch.channels_last)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.device.type != "cpu":
            return self.layers(x)
        if torch.is_autocast_enabled("cpu"):
            # in bfloat16, oneDNN's channels_last kernels are the fastest for every pass, faster
            # than the fp32 fast path below would be (docs/speed.md)
            return self.layers(x.contiguous(memory_format=torch.channels_last))
        # The same function as self.layers, with the layouts, formulations and fusion measured
        # fastest for fp32 on CPU (hpo/models/lenet/kernels.py; the figures in docs/speed.md).
        conv1, conv2, head = self.layers[0], self.layers[3], self.layers[6:]
        if conv_sigmoid_pool_supported(x, conv1.weight):
            h = ConvSigmoidPool.apply(x, conv1.weight, conv1.bias)
        else:
            h = fused_sigmoid_phase_mean(Conv2dPhases.apply(x, conv1.weight, conv1.bias, conv1.padding[0]))
        h = fused_sigmoid_avg_pool(Conv2dMixedLayout.apply(h, conv2.weight, conv2.bias))
        return head(h)


def _build(config: Mapping[str, Any], context: ModelContext, generator: torch.Generator) -> Classifier:
    return LeNet(context, generator)


def _prepare(device: torch.device) -> None:
    # build the C++ conv1 and compile the fused sigmoid-pools once per process (every batch size)
    if device.type == "cpu":
        if lenet_block1.get() is None:
            fused_sigmoid_phase_mean.warm_up((3, 24, 14, 14))
        fused_sigmoid_avg_pool.warm_up((3, 16, 10, 10))


def _runtime_facts(device: torch.device) -> dict[str, Any]:
    # conv1 runs in C++ where it can be built, through oneDNN elsewhere: other bits
    return {"lenet_conv1": lenet_block1.status()} if device.type == "cpu" else {}


SPEC = ModelSpec(
    entry=CATALOG["lenet"],
    factory=_build,
    runtime_facts=_runtime_facts,
    prepare=_prepare,
)
