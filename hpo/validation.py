"""Checks of scalar options, one line each (as scikit-learn's `check_scalar`), used everywhere."""

from __future__ import annotations

import math
import os
from typing import Any

from hpo.errors import ConfigError

__all__ = ["check_int", "check_positive", "env_amount"]


def check_int(name: str, value: Any, low: int = 1, optional: bool = False, unit: str = "") -> None:
    """Raise ConfigError unless `value` is an integer >= `low` (or None when `optional`)."""
    if optional and value is None:
        return
    if not isinstance(value, int) or isinstance(value, bool) or value < low:
        raise ConfigError(f"{name} must be an integer >= {low}{unit}, got {value!r}")


def check_positive(name: str, value: Any, optional: bool = False) -> None:
    """Raise ConfigError unless `value` is a number > 0 (or None when `optional`)."""
    if optional and value is None:
        return
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not value > 0:
        raise ConfigError(f"{name} must be > 0, got {value!r}")


def env_amount(name: str, unit: str) -> float | None:
    """$`name` as a number >= 0 of `unit` (None when unset); a ConfigError naming the value otherwise."""
    text = os.environ.get(name)
    if text is None:
        return None
    try:
        amount = float(text)
    except ValueError:
        raise ConfigError(f"{name}={text!r} is not a number of {unit} (0 for no limit)") from None
    if not math.isfinite(amount) or amount < 0:
        raise ConfigError(f"{name}={text!r} must be >= 0 {unit} (0 for no limit)")
    return amount
