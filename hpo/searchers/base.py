"""What every searcher does: suggest configs, learn from observed errors, know what is in flight."""

from __future__ import annotations

import bisect
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from hpo.errors import ConfigError
from hpo.space import SearchSpace, config_key


def _discard(rows: list[int], row: int) -> None:
    """Remove `row` from the sorted list `rows` if it is there."""
    i = bisect.bisect_left(rows, row)
    if i < len(rows) and rows[i] == row:
        del rows[i]


class Searcher(ABC):
    """Suggests configs; observes (config, error, epochs); tracks pending configs.

    The one method a searcher implements is `propose()`; schedulers call `suggest()`, which
    adds the bookkeeping, and `observe()` / `pending()` / `forget()`, which a searcher may
    extend (calling the base). Randomness comes only from `self.rng`.

    `candidates`, when given, restricts suggestions to that finite set (the tabular mode of
    a replay); `candidate_trainings` says how many times each may be suggested (the trainings
    the table holds for it; default: without limit). Configs not yet suggested come first;
    after them a config is repeated (a new training of it) while it has trainings left, and
    once none has, the searcher is `exhausted`. A proposal outside the candidates is replaced
    by the nearest candidate not yet suggested (`nearest_candidate`), so a searcher written
    for a continuous space runs on a table unchanged. `initial_config`, when given, is the
    first suggestion.
    """

    def __init__(
        self,
        space: SearchSpace,
        rng: np.random.Generator,
        initial_config: Mapping[str, Any] | None = None,
        candidates: Sequence[Mapping[str, Any]] | None = None,
        candidate_trainings: Sequence[int] | None = None,
    ) -> None:
        if not isinstance(rng, np.random.Generator):
            raise ConfigError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
        self.space = space
        self.rng = rng
        if initial_config is not None and not space.contains(initial_config):
            raise ConfigError(f"initial config {dict(initial_config)} is not in the search space")
        self._initial = dict(initial_config) if initial_config is not None else None
        if candidates is not None:
            candidates = [dict(c) for c in candidates]
            if not candidates:
                raise ConfigError("candidates must be a non-empty list of configs")
        self.candidates: list[dict[str, Any]] | None = candidates
        self._candidate_units = (
            np.array([space.to_unit(c) for c in candidates]) if candidates is not None else None
        )
        # the candidates indexed once: their rows by key, and which are not yet suggested, so a
        # draw does not build a key for every candidate of the table on every new trial
        self._rows_of_key: dict[tuple, list[int]] = {}
        for i, candidate in enumerate(candidates or ()):
            self._rows_of_key.setdefault(config_key(candidate), []).append(i)
        # per candidate, as Python lists: a suggestion reads and updates one entry of each, which
        # costs a fraction of a NumPy scalar access
        self._unsuggested = [True] * len(candidates or ())
        if candidate_trainings is not None:
            if candidates is None or len(candidate_trainings) != len(candidates):
                raise ConfigError("candidate_trainings needs one count per candidate")
            self._trainings_left = [int(n) for n in candidate_trainings]
        else:
            self._trainings_left = [np.iinfo(np.int64).max] * len(candidates or ())
        # the same two sets as sorted lists, kept up to date one row at a time, so a draw costs
        # no pass over the table: rows with trainings left, and those of them not yet suggested
        self._rows_left = [row for row, n in enumerate(self._trainings_left) if n > 0]
        self._fresh_rows = list(self._rows_left)
        self.observations: list[tuple[dict[str, Any], float, int]] = []
        self._pending: dict[tuple, dict[str, Any]] = {}
        self._suggested: set[tuple] = set()

    def suggest(self) -> dict[str, Any]:
        """The next config to evaluate."""
        if self._initial is not None:
            config, self._initial = self._initial, None
        else:
            config = self.propose()
        key = config_key(config)
        rows = self._rows_of_key.get(key, ())
        if not rows and self.candidates is not None:
            try:  # a proposal must be in the space to have a nearest candidate
                self.space.validate(config)
            except ConfigError as exc:
                raise ConfigError(f"propose() returned an invalid config {dict(config)}: {exc}") from None
            config = self.nearest_candidate(config)
            key = config_key(config)
            rows = self._rows_of_key[key]
        self._suggested.add(key)
        for row in rows:
            if self._unsuggested[row]:
                self._unsuggested[row] = False
                _discard(self._fresh_rows, row)
        for row in rows:  # one training of the config is used
            if self._trainings_left[row] > 0:
                self._trainings_left[row] -= 1
                if self._trainings_left[row] == 0:
                    _discard(self._rows_left, row)
                break
        return config

    @property
    def exhausted(self) -> bool:
        """Whether every candidate has used all its trainings (never true without candidates)."""
        return self.candidates is not None and not self._rows_left

    @abstractmethod
    def propose(self) -> dict[str, Any]:
        """The algorithm's next config (after the initial one): what a searcher implements."""

    def observe(self, config: Mapping[str, Any], error: float, epochs: int) -> None:
        """Record the validation error of `config` after `epochs` epochs; it is no longer pending."""
        self._pending.pop(config_key(config), None)
        self.observations.append((config, float(error), int(epochs)))  # configs are never changed once made

    def pending(self, config: Mapping[str, Any]) -> None:
        """Mark `config` as being evaluated."""
        self._pending[config_key(config)] = dict(config)

    def forget(self, config: Mapping[str, Any]) -> None:
        """Drop `config` from the pending set without an observation (a cancelled trial)."""
        self._pending.pop(config_key(config), None)

    @property
    def pending_configs(self) -> list[dict[str, Any]]:
        """Configs in flight."""
        return list(self._pending.values())

    def random_config(self) -> dict[str, Any]:
        """A uniform draw from the space, or from the candidates not yet suggested, else from those
        with trainings left."""
        if self.candidates is None:
            return self.space.sample(self.rng)
        pool = self._fresh_rows or self._rows_left
        if not pool:
            raise ConfigError("every candidate config has used all its trainings (the table is exhausted)")
        return dict(self.candidates[int(pool[int(self.rng.integers(len(pool)))])])

    def fresh_candidates(self) -> np.ndarray:
        """Indices of the candidates neither suggested nor pending, with trainings left, in order."""
        fresh = np.array(self._unsuggested, dtype=bool) & (np.array(self._trainings_left) > 0)
        for key in self._pending:
            fresh[self._rows_of_key.get(key, [])] = False
        return np.flatnonzero(fresh)

    def nearest_candidate(self, config: Mapping[str, Any]) -> dict[str, Any]:
        """The fresh candidate nearest `config` in the unit-cube encoding (a random one with
        trainings left once none is fresh)."""
        pool = self.fresh_candidates()
        if not len(pool):
            return self.random_config()
        point = self.space.to_unit(config)
        distances = np.sum((self._candidate_units[pool] - point) ** 2, axis=1)
        return dict(self.candidates[int(pool[int(np.argmin(distances))])])
