"""What a training's bits also depend on, stamped beside the package's versions (`hpo.provenance`)."""

from __future__ import annotations

from typing import Any

import torch

from hpo import provenance
from hpo.models import get_model
from hpo.training.device import cpu_has_native_bf16

__all__ = ["training_environment"]


def training_environment(
    device: torch.device | str | None = None, model: str | None = None
) -> dict[str, Any]:
    """`provenance.environment()` with torch's facts: CPU capability, bf16, threads, the device;
    with `model`, its code paths."""
    info = provenance.environment()
    info.update(
        torch=torch.__version__,
        # oneDNN picks its kernels by instruction set: the same code and seed give other bits
        # (and another speed) on an AVX2 CPU than on an AVX-512 one of the same name
        cpu_capability=torch.backends.cpu.get_cpu_capability(),
        cpu_bf16=cpu_has_native_bf16(),
        threads=torch.get_num_threads(),
    )
    if device is not None:
        device = torch.device(device)
        info["device"] = str(device)
        if device.type == "cuda":
            info["gpu"] = torch.cuda.get_device_name(device)
    if model is not None:
        info.update(get_model(model).runtime_facts(torch.device(device or "cpu")))
    return info
