"""What a trainer accepts of each hyperparameter (the search ranges are in `hpo.catalog`)."""

from __future__ import annotations

import math

from hpo.errors import ConfigError

# What a trainer accepts, wider than the search ranges of hpo.catalog: a user may train a config
# outside the default space (batch 1024, say), never a meaningless one. Training runs in
# float32 and indexes with int32-sized batches, so larger values cannot even be represented.
FLOAT32_MAX = 3.4028234663852886e38
INT_MAX = 2**31 - 1
VALID_RANGES: dict[str, tuple[float, float, bool, str]] = {
    # name: (low, high, integer, description)
    "learning_rate": (0.0, FLOAT32_MAX, False, "a number > 0 and <= 3.4e38 (float32)"),
    "batch_size": (1, INT_MAX, True, "an integer from 1 to 2**31-1"),
    "alpha": (0.0, FLOAT32_MAX, False, "a number >= 0 and <= 3.4e38 (float32)"),
    "l1_ratio": (0.0, 1.0, False, "a number in [0, 1]"),
    "C": (0.0, FLOAT32_MAX, False, "a number > 0 and <= 3.4e38 (float32)"),
    "gamma": (0.0, FLOAT32_MAX, False, "a number > 0 and <= 3.4e38 (float32)"),
}
_EXCLUSIVE_LOW = {"learning_rate", "C", "gamma"}


def check_value(name: str, value: object) -> None:
    """Raise ConfigError unless `value` is acceptable for hyperparameter `name`."""
    low, high, integer, description = VALID_RANGES[name]
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if ok and integer:
        ok = float(value).is_integer()
    if ok:
        ok = (value > low if name in _EXCLUSIVE_LOW else value >= low) and value <= high
    if not ok:
        raise ConfigError(f"{name}={value!r} is invalid: expected {description}")
