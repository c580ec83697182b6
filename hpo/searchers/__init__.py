"""Searchers propose configs: `make(name, space, rng, **options)`."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np

from hpo.errors import ConfigError
from hpo.searchers.base import Observation, Searcher
from hpo.searchers.bo import BOSearcher
from hpo.searchers.optuna_adapter import OptunaSearcher
from hpo.searchers.pool import CandidatePool, PooledSearcher
from hpo.searchers.random_search import RandomSearcher
from hpo.searchers.smac_adapter import SmacSearcher
from hpo.space import SearchSpace

SEARCHERS: dict[str, Callable[..., Searcher]] = {
    "random": RandomSearcher,
    "bo": BOSearcher,
    # Optuna's samplers (optional extra `optuna`)
    "tpe": functools.partial(OptunaSearcher, sampler="tpe"),
    "optuna-gp": functools.partial(OptunaSearcher, sampler="gp"),
    "cmaes": functools.partial(OptunaSearcher, sampler="cmaes"),
    "qmc": functools.partial(OptunaSearcher, sampler="qmc"),
    # SMAC3's BO (optional extra `smac`)
    "smac-bo": SmacSearcher,
}


def make(name: str, space: SearchSpace, rng: np.random.Generator, **options: Any) -> Searcher:
    """Build the searcher `name` (a key of SEARCHERS) over `space`, drawing from `rng`."""
    try:
        factory = SEARCHERS[name]
    except KeyError:
        raise ConfigError(f"unknown searcher {name!r}; accepted: {', '.join(SEARCHERS)}") from None
    try:
        return factory(space, rng, **options)
    except TypeError as exc:
        raise ConfigError(f"searcher {name!r}: {exc}") from None


__all__ = [
    "SEARCHERS",
    "BOSearcher",
    "CandidatePool",
    "Observation",
    "OptunaSearcher",
    "PooledSearcher",
    "RandomSearcher",
    "Searcher",
    "SmacSearcher",
    "make",
]
