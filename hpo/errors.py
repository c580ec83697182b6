"""User-facing error types; the CLI turns them into one line and a non-zero exit."""

from __future__ import annotations

__all__ = ["ConfigError", "DataError", "HPOError", "one_line"]


class HPOError(ValueError):
    """Base class for invalid input that a user can fix."""


class DataError(HPOError):
    """Missing, truncated or corrupted dataset files."""


class ConfigError(HPOError):
    """An invalid model name, hyperparameter, search space or option."""


def one_line(exc: BaseException) -> str:
    """An exception as `Type: first line of its message`, for a record or a log line."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__
