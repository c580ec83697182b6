"""Device selection: --device auto|cpu|cuda."""

from __future__ import annotations

import torch

from hpo.catalog import DEVICE_CHOICES
from hpo.errors import ConfigError

__all__ = ["cpu_has_native_bf16", "resolve_device"]


def resolve_device(name: str = "auto") -> torch.device:
    """'auto' is CUDA when present, else CPU; 'cuda' without a GPU is an error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name == "cuda" or name.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise ConfigError(f"--device {name}: CUDA is not available on this machine; use auto or cpu")
        return torch.device(name)
    raise ConfigError(f"unknown device {name!r}; accepted: {', '.join(DEVICE_CHOICES)}")


def cpu_has_native_bf16() -> bool:
    """Whether this CPU runs bfloat16 natively (avx512_bf16); elsewhere oneDNN emulates it, slowly."""
    probe = getattr(torch.cpu, "_is_avx512_bf16_supported", None)
    return True if probe is None else bool(probe())
