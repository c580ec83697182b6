"""Searchers propose configs: `make(name, space, rng, **options)`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from hpo.errors import ConfigError
from hpo.searchers.base import Searcher
from hpo.searchers.bo import BOSearcher
from hpo.searchers.random_search import RandomSearcher
from hpo.space import SearchSpace

SEARCHERS: dict[str, Callable[..., Searcher]] = {"random": RandomSearcher, "bo": BOSearcher}


def make(name: str, space: SearchSpace, rng: np.random.Generator, **options: Any) -> Searcher:
    """Build the searcher `name` ('random' or 'bo') over `space`, drawing from `rng`."""
    try:
        factory = SEARCHERS[name]
    except KeyError:
        raise ConfigError(f"unknown searcher {name!r}; accepted: {', '.join(SEARCHERS)}") from None
    try:
        return factory(space, rng, **options)
    except TypeError as exc:
        raise ConfigError(f"searcher {name!r}: {exc}") from None


__all__ = ["SEARCHERS", "BOSearcher", "RandomSearcher", "Searcher", "make"]
