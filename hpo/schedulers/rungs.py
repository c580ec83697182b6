"""Rung levels of successive halving: r_min * eta^k, with r_max always the last rung."""

from __future__ import annotations

from hpo.errors import ConfigError
from hpo.validation import check_int

__all__ = ["rung_levels", "validate"]


def validate(eta: float, r_min: int, r_max: int) -> None:
    """Raise ConfigError for eta < 2, r_min < 1 or r_min > r_max."""
    if not isinstance(eta, (int, float)) or isinstance(eta, bool) or eta < 2:
        raise ConfigError(f"eta must be >= 2, got {eta!r}")
    for name, value in (("r_min", r_min), ("r_max", r_max)):
        check_int(name, value, unit=" (epochs)")
    if r_min > r_max:
        raise ConfigError(f"r_min must be <= r_max, got r_min={r_min}, r_max={r_max}")


def rung_levels(r_min: int, r_max: int, eta: float) -> list[int]:
    """[r_min, r_min*eta, ..., r_max]: integer arithmetic, so log(1000)/log(10) rounding cannot drop a rung.

    A level is rounded to whole epochs; r_max closes the list even when off the grid
    (r_min=5, r_max=30, eta=2 gives 5, 10, 20, 30).
    """
    validate(eta, r_min, r_max)
    levels = []
    k = 0
    while True:
        level = round(r_min * eta**k)
        if level >= r_max:
            break
        if not levels or level > levels[-1]:
            levels.append(level)
        k += 1
    levels.append(r_max)
    return levels
