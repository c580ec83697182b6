"""A finite set of configs that can be evaluated (a table's), and any searcher run over it.

The replay owns the pool: in tabular mode only the collected configs have curves, and each
can be trained as often as the table holds trainings of it. `PooledSearcher` runs any
searcher over the pool without the searcher knowing the table's rules:

- a config not yet tried comes before a repeat; a repeat is a new training of a config with
  trainings left; once none has, the pool is `exhausted`;
- a proposal outside the pool is replaced by the nearest fresh config (unit cube), and the
  observation of that trial carries both the proposal and the config evaluated, so an ask/tell
  optimizer is never told a result for a config it did not get.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from hpo.errors import ConfigError
from hpo.searchers.base import Observation, Searcher
from hpo.space import SearchSpace, config_key

__all__ = ["CandidatePool", "PooledSearcher"]


def _discard(rows: list[int], row: int) -> None:
    """Remove `row` from the sorted list `rows` if it is there."""
    i = bisect.bisect_left(rows, row)
    if i < len(rows) and rows[i] == row:
        del rows[i]


class CandidatePool:
    """The configs that can be evaluated, how many trainings each has left, and which are fresh."""

    def __init__(
        self,
        space: SearchSpace,
        configs: Sequence[Mapping[str, Any]],
        trainings: Sequence[int] | None = None,
    ) -> None:
        configs = [dict(c) for c in configs]
        if not configs:
            raise ConfigError("a candidate pool needs a non-empty list of configs")
        if trainings is not None and len(trainings) != len(configs):
            raise ConfigError("candidate trainings need one count per candidate")
        self.space = space
        self.configs: list[dict[str, Any]] = configs
        self.units = np.array([space.to_unit(c) for c in configs])
        # indexed once: rows by key, so a proposal costs one dict lookup, not a pass over the table
        self._rows_of_key: dict[tuple, list[int]] = {}
        for i, config in enumerate(configs):
            self._rows_of_key.setdefault(config_key(config), []).append(i)
        # per config, as Python lists: one proposal reads and updates one entry of each, a
        # fraction of a NumPy scalar access
        self._untaken = [True] * len(configs)
        never = np.iinfo(np.int64).max
        self._left = [never] * len(configs) if trainings is None else [int(n) for n in trainings]
        # the same two sets as sorted lists, kept up to date one row at a time, so a draw costs
        # no pass over the table: rows with trainings left, and those of them not yet taken
        self._rows_left = [row for row, n in enumerate(self._left) if n > 0]
        self._fresh_rows = list(self._rows_left)

    @property
    def exhausted(self) -> bool:
        """Whether every config has used all its trainings."""
        return not self._rows_left

    def fresh(self) -> np.ndarray:
        """Indices of the configs not yet taken that have trainings left, in order."""
        return np.flatnonzero(np.array(self._untaken, dtype=bool) & (np.array(self._left) > 0))

    def draw(self, rng: np.random.Generator) -> dict[str, Any]:
        """A uniform draw from the fresh configs, else from those with trainings left."""
        return self.draw_by(lambda n: int(rng.integers(n)))

    def draw_by(self, below: Callable[[int], int]) -> dict[str, Any]:
        """`draw` with `below(n)` giving the index in [0, n) (`hpo.seeding.Indices.below`: the
        integers `rng.integers(n)` would give, without a NumPy call each)."""
        pool = self._fresh_rows or self._rows_left
        if not pool:
            raise ConfigError("every candidate config has used all its trainings (the table is exhausted)")
        return dict(self.configs[pool[below(len(pool))]])

    def nearest(self, config: Mapping[str, Any], rng: np.random.Generator) -> dict[str, Any]:
        """The fresh config nearest `config` in the unit cube (a random one with trainings left
        once none is fresh)."""
        fresh = self.fresh()
        if not len(fresh):
            return self.draw(rng)
        distances = np.sum((self.units[fresh] - self.space.to_unit(config)) ** 2, axis=1)
        return dict(self.configs[int(fresh[int(np.argmin(distances))])])

    def take(self, proposal: dict[str, Any], rng: np.random.Generator) -> dict[str, Any]:
        """The config evaluated for `proposal` (itself when in the pool with a training left,
        else the nearest fresh one), with one of its trainings used."""
        rows = self._rows_of_key.get(config_key(proposal))
        config = proposal
        if rows is None:
            try:  # a proposal must be in the space to have a nearest config
                self.space.validate(proposal)
            except ConfigError as exc:
                raise ConfigError(f"propose() returned an invalid config {dict(proposal)}: {exc}") from None
        if rows is None or not any(self._left[row] for row in rows):
            # a config with no training left would replay a training already read: never the same luck twice
            config = self.nearest(proposal, rng)
            rows = self._rows_of_key[config_key(config)]
        for row in rows:
            if self._untaken[row]:
                self._untaken[row] = False
                _discard(self._fresh_rows, row)
        for row in rows:  # one training of the config is used
            if self._left[row] > 0:
                self._left[row] -= 1
                if self._left[row] == 0:
                    _discard(self._rows_left, row)
                break
        return config


class PooledSearcher:
    """`searcher` run over `pool`: proposals mapped onto the pool, observations that say so.

    The schedulers see it as a searcher (`suggest`, `observe`, `exhausted`); the searcher sees
    its own proposals' trial ids and, where the pool replaced a proposal, both configs.
    """

    def __init__(self, searcher: Searcher, pool: CandidatePool) -> None:
        self.searcher = searcher
        self.pool = pool
        self._replaced: dict[int, dict[str, Any]] = {}  # trial id -> its proposal, where replaced

    @property
    def exhausted(self) -> bool:
        """Whether the pool is used up: no new trial can start."""
        return self.pool.exhausted

    def suggest(self, trial_id: int) -> dict[str, Any]:
        """The pool's config for new trial `trial_id`."""
        proposal = self.searcher.suggest(trial_id, self.pool)
        config = self.pool.take(proposal, self.searcher.rng)
        if config is not proposal:
            self._replaced[trial_id] = proposal
        return config

    def observe(self, observation: Observation) -> None:
        """Tell the searcher, with its proposal where the pool evaluated another config."""
        proposal = self._replaced.get(observation.trial_id)
        if proposal is not None:
            observation = observation._replace(proposal=proposal)
        self.searcher.observe(observation)

    @property
    def observations(self) -> list[Observation]:
        """The searcher's observations."""
        return self.searcher.observations
