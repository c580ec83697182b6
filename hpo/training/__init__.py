"""Training: epochs, learning curves, checkpoints, devices."""

from hpo.catalog import DEVICE_CHOICES, PRECISIONS
from hpo.training.curve import (
    CURVE_FIELDS,
    STATUS_DIVERGED,
    STATUS_FAILED,
    STATUS_OK,
    WORST_ERROR,
    EpochRecord,
)
from hpo.training.device import resolve_device
from hpo.training.runtime import configure, tune_allocator
from hpo.training.trainer import (
    Run,
    Trainer,
    load_checkpoint,
    save_checkpoint,
    seed_generators,
)

__all__ = [
    "CURVE_FIELDS",
    "DEVICE_CHOICES",
    "PRECISIONS",
    "STATUS_DIVERGED",
    "STATUS_FAILED",
    "STATUS_OK",
    "WORST_ERROR",
    "EpochRecord",
    "Run",
    "Trainer",
    "configure",
    "load_checkpoint",
    "resolve_device",
    "save_checkpoint",
    "seed_generators",
    "tune_allocator",
]
