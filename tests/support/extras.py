"""Algorithms as test parameters: skipped with their install line where an optional package is missing."""

from __future__ import annotations

from collections.abc import Iterable

import pytest

from hpo.algorithms import get_algorithm
from hpo.errors import ConfigError


def algorithm_params(names: Iterable[str], slow: Iterable[str] = (), extras: Iterable[str] = ()) -> list:
    """`names` as pytest parameters: marked slow, or extras (left to `nox -s extras`), where
    listed, and skipped with the reason where an algorithm's optional package (Optuna, SMAC3,
    Syne Tune) is not installed."""
    slow, extras = set(slow), set(extras)
    params = []
    for name in names:
        marks = [pytest.mark.slow] if name in slow else []
        marks += [pytest.mark.extras] if name in extras else []
        try:
            get_algorithm(name)
        except ConfigError as exc:
            marks.append(pytest.mark.skip(reason=str(exc)))
        params.append(pytest.param(name, marks=marks))
    return params
