"""Learning curves: one record per epoch, and the status of the training that made it."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from hpo.status import STATUS_DIVERGED, STATUS_FAILED, STATUS_OK, WORST_ERROR

__all__ = ["CURVE_FIELDS", "STATUS_DIVERGED", "STATUS_FAILED", "STATUS_OK", "WORST_ERROR", "EpochRecord"]

CURVE_FIELDS = ("epoch", "train_loss", "val_loss", "val_error", "test_error", "epoch_seconds", "status")


@dataclass(frozen=True)
class EpochRecord:
    """What one epoch of training measured; HPO sees val_error only, test_error is for reports."""

    epoch: int
    train_loss: float
    val_loss: float
    val_error: float
    test_error: float
    epoch_seconds: float
    status: str = STATUS_OK

    def to_dict(self) -> dict[str, float | int | str]:
        """The record as a plain dict (JSON- and Parquet-friendly)."""
        return asdict(self)

    @classmethod
    def diverged(cls, epoch: int, train_loss: float = math.nan, seconds: float = 0.0) -> EpochRecord:
        """The record of an epoch at or after divergence: worst-case errors, undefined losses."""
        return cls(epoch, train_loss, math.nan, WORST_ERROR, WORST_ERROR, seconds, STATUS_DIVERGED)
