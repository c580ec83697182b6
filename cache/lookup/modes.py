"""How a config is answered from a curve table: three lookups behind one protocol.

- tabular: only collected configs, each with its own curves;
- nearest: any config in the space, answered by the collected config nearest it (unit cube);
- surrogate: any config, answered by regressors fitted on the table (`cache.lookup.fitted`).

A lookup gives the per-epoch arrays of (config, seed index), which training seeds answer for a
config, and what a config is expected to reach (its seed-mean error): that is all a benchmark
needs from it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import numpy as np

from cache.lookup.curves import CurveTable
from cache.names import check_mode
from cache.store.schema import CacheError
from hpo.errors import ConfigError
from hpo.space import config_key

__all__ = ["Lookup", "NearestLookup", "SurrogateLookup", "TabularLookup", "make_lookup"]


def _once_per_config(configs: Sequence[Mapping[str, Any]], value: Any) -> np.ndarray:
    """`value(config)` for each config, computed once per distinct config (replays repeat them)."""
    memo: dict[tuple, float] = {}
    out = np.empty(len(configs))
    for n, config in enumerate(configs):
        key = config_key(config)
        if key not in memo:
            memo[key] = value(config)
        out[n] = memo[key]
    return out


class Lookup(Protocol):
    """What every lookup mode answers."""

    mode: str
    #: answers come from collected curves, each config one of the table's (its index is `index`)
    collected: bool

    def index(self, config: Mapping[str, Any]) -> int:
        """The collected config that answers for `config`."""

    def arrays(self, config: Mapping[str, Any], s: int) -> tuple[np.ndarray, ...]:
        """(val error, test error, seconds, diverged) per epoch of `config` with seed index `s`."""

    def seeds_of(self, config: Mapping[str, Any]) -> list[int]:
        """The training seeds that answer for `config`."""

    def expected_errors(self, configs: Sequence[Mapping[str, Any]], epoch: int) -> np.ndarray:
        """Each config's validation error at `epoch`, averaged over the seeds that answer for it."""


class TabularLookup:
    """Collected configs only, each answered by its own curves."""

    mode = "tabular"
    collected = True

    def __init__(self, table: CurveTable) -> None:
        self.table = table

    def index(self, config: Mapping[str, Any]) -> int:
        try:
            return self.table.by_key[config_key(config)]
        except KeyError:
            raise ConfigError(
                f"config {dict(config)} is not in the {self.table.model} table (tabular mode)"
            ) from None

    def arrays(self, config: Mapping[str, Any], s: int) -> tuple[np.ndarray, ...]:
        t = self.table
        i = self.index(config)
        if not t.complete[i, s]:
            raise CacheError(f"config {t.config_ids[i]} has no complete curve for training seed {t.seeds[s]}")
        return t.val_error[i, s], t.test_error[i, s], t.epoch_seconds[i, s], t.diverged[i, s]

    def seeds_of(self, config: Mapping[str, Any]) -> list[int]:
        i = self.index(config)
        return [seed for j, seed in enumerate(self.table.seeds) if self.table.complete[i, j]]

    def expected_errors(self, configs: Sequence[Mapping[str, Any]], epoch: int) -> np.ndarray:
        means = self.table.mean_errors_at(epoch)
        return _once_per_config(configs, lambda config: float(means[self.index(config)]))


class NearestLookup(TabularLookup):
    """Any config, answered by the collected config nearest it in the unit cube."""

    mode = "nearest"

    def __init__(self, table: CurveTable) -> None:
        super().__init__(table)
        self._nearest = table.nearest_index.nearest
        self._unit_values = table.space.unit_values

    def index(self, config: Mapping[str, Any]) -> int:
        return self._nearest(self._unit_values(config))


class SurrogateLookup:
    """Any config, answered by the table's surrogate (fitted here, or loaded from disk)."""

    mode = "surrogate"
    collected = False

    def __init__(self, table: CurveTable, **options: Any) -> None:
        from cache.lookup.fitted import load_or_fit  # scikit-learn: only when a surrogate is asked for

        self.table = table
        self.surrogate = load_or_fit(table, **options)
        self._collected = TabularLookup(table)

    def index(self, config: Mapping[str, Any]) -> int:
        return self._collected.index(config)

    def arrays(self, config: Mapping[str, Any], s: int) -> tuple[np.ndarray, ...]:
        return self.surrogate.arrays(config, s)

    def seeds_of(self, config: Mapping[str, Any]) -> list[int]:
        return list(self.table.seeds)

    def expected_errors(self, configs: Sequence[Mapping[str, Any]], epoch: int) -> np.ndarray:
        seeds = range(len(self.table.seeds))
        return _once_per_config(
            configs,
            lambda config: float(np.mean([self.surrogate.arrays(config, s)[0][epoch - 1] for s in seeds])),
        )


def make_lookup(mode: str, table: CurveTable, **options: Any) -> Lookup:
    """The lookup `mode` over `table` (options go to the surrogate's fit)."""
    if mode == "tabular":
        return TabularLookup(table)
    if mode == "nearest":
        return NearestLookup(table)
    if mode == "surrogate":
        return SurrogateLookup(table, **options)
    check_mode(mode)
    raise AssertionError(f"lookup mode {mode!r} has no lookup")
