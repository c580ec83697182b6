"""A model's benchmark: its curve table answered by one lookup mode (tabular, nearest, surrogate).

The table (`cache.lookup.curves`) is loaded once; the lookup (`cache.lookup.modes`) says which curves
answer for a config. A Benchmark checks its input (`value`, `curve`, `segment`) and gives a
replay its hot path (`evaluation_at`); it has no knowledge of how each mode looks a config up.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cache.lookup.curves import CurveTable
from cache.lookup.modes import Lookup, make_lookup
from cache.names import check_mode
from hpo.errors import ConfigError
from hpo.simulation import Evaluation
from hpo.space import SearchSpace

__all__ = ["Benchmark"]


def _table_field(name: str) -> property:
    return property(
        lambda self: getattr(self.table, name), doc=f"The table's `{name}` (cache.lookup.curves.CurveTable)."
    )


class Benchmark:
    """One model's curves (`table`) answered by one lookup (`lookup`, named by `mode`)."""

    model = _table_field("model")
    space = _table_field("space")
    configs = _table_field("configs")
    config_ids = _table_field("config_ids")
    units = _table_field("units")
    seeds = _table_field("seeds")
    n_epochs = _table_field("n_epochs")
    val_error = _table_field("val_error")
    test_error = _table_field("test_error")
    epoch_seconds = _table_field("epoch_seconds")
    recorded_seconds = _table_field("recorded_seconds")
    clock_factors = _table_field("clock_factors")
    diverged = _table_field("diverged")
    present = _table_field("present")
    complete = _table_field("complete")
    runs = _table_field("runs")

    def __init__(
        self, model: str, rows: pd.DataFrame, space: SearchSpace, mode: str = "tabular", **options: Any
    ) -> None:
        check_mode(mode)
        self._attach(CurveTable(model, rows, space), mode, **options)

    def _attach(self, table: CurveTable, mode: str, **options: Any) -> None:
        self.table = table
        self.lookup: Lookup = make_lookup(mode, table, **options)
        self.mode = mode
        self._flat: tuple[np.ndarray, ...] | None = None
        self._shape = (len(table.seeds), table.n_epochs)

    @classmethod
    def of(cls, table: CurveTable, mode: str = "tabular", **options: Any) -> Benchmark:
        """`table` answered in lookup `mode` (options go to the surrogate's fit)."""
        benchmark = cls.__new__(cls)
        benchmark._attach(table, mode, **options)
        return benchmark

    @classmethod
    def load(
        cls, model: str, mode: str = "tabular", cache_dir: str | Path | None = None, **options: Any
    ) -> Benchmark:
        """Load `model`'s curves from the cache (shipped + user, or `cache_dir`)."""
        check_mode(mode)
        return cls.of(CurveTable.load(model, cache_dir), mode, **options)

    def in_mode(self, mode: str, **options: Any) -> Benchmark:
        """The same curves answered in another lookup mode (a surrogate is fitted here)."""
        return Benchmark.of(self.table, mode, **options)

    # -- input checks ----------------------------------------------------------------------

    def check_r_max(self, r_max: int) -> Benchmark:
        """Itself, if its curves reach `r_max` epochs (an algorithm's top rung); else a ConfigError."""
        if r_max > self.n_epochs:
            raise ConfigError(f"--r-max {r_max} exceeds the {self.n_epochs} epochs cached for {self.model}")
        return self

    def _check(self, config: Mapping[str, Any], epoch: int, train_seed: int) -> None:
        self.space.validate(config)
        if not 1 <= epoch <= self.n_epochs:
            raise ConfigError(f"epoch {epoch} is outside the cached range 1..{self.n_epochs}")
        if train_seed not in self.seeds:
            raise ConfigError(f"training seed {train_seed} is not cached; cached seeds: {self.seeds}")

    def index(self, config: Mapping[str, Any]) -> int:
        """The collected config answering for `config` (tabular: itself; nearest: the closest)."""
        return self.lookup.index(config)

    def seeds_of(self, config: Mapping[str, Any]) -> list[int]:
        """Training seeds that answer for `config` (with a complete curve, where collected)."""
        return self.lookup.seeds_of(config)

    # -- lookups ---------------------------------------------------------------------------

    def _arrays(self, config: Mapping[str, Any], train_seed: int) -> tuple[np.ndarray, ...]:
        return self.lookup.arrays(config, self.seeds.index(train_seed))

    def value(self, config: Mapping[str, Any], epoch: int, train_seed: int) -> Evaluation:
        """The values at `epoch` (1-based) of `config` trained with `train_seed` (seconds: that epoch's)."""
        self._check(config, epoch, train_seed)
        val, test, seconds, diverged = self._arrays(config, train_seed)
        e = epoch - 1
        return Evaluation(
            float(val[e]), float(test[e]), float(seconds[e]), "diverged" if diverged[e] else "ok"
        )

    def curve(self, config: Mapping[str, Any], train_seed: int) -> list[Evaluation]:
        """The whole cached (or predicted) curve of `config` for `train_seed`, one entry per epoch."""
        self._check(config, 1, train_seed)
        val, test, seconds, diverged = self._arrays(config, train_seed)
        return [
            Evaluation(float(v), float(t), float(sec), "diverged" if d else "ok")
            for v, t, sec, d in zip(val, test, seconds, diverged, strict=True)
        ]

    def segment(
        self, config: Mapping[str, Any], train_seed: int, resume_from: int, epochs: int
    ) -> Evaluation:
        """Values at `epochs` and the seconds to train from `resume_from` to `epochs` (a replayed job)."""
        self._check(config, epochs, train_seed)
        val, test, seconds, diverged = self._arrays(config, train_seed)
        e = epochs - 1
        status = "diverged" if diverged[e] else "ok"
        return Evaluation(float(val[e]), float(test[e]), float(seconds[resume_from:epochs].sum()), status)

    def evaluation_at(self, i: int, s: int, resume_from: int, epochs: int) -> Evaluation:
        """What a replayed job reports: collected config `i` trained with seed `self.seeds[s]` from
        `resume_from` to `epochs`; unchecked, the replay's hot path."""
        if self._flat is None:
            self._flat = self.table.flat
        val, test, diverged, cumulative = self._flat
        n_seeds, n_epochs = self._shape
        row = i * n_seeds + s
        at = row * n_epochs + epochs - 1
        start = row * (n_epochs + 1)
        return Evaluation(
            val.item(at),
            test.item(at),
            cumulative.item(start + epochs) - cumulative.item(start + resume_from),
            "diverged" if diverged.item(at) else "ok",
        )

    # -- what a config is worth --------------------------------------------------------------

    def config_errors(self, configs: Sequence[Mapping[str, Any]], epoch: int) -> np.ndarray:
        """The expected validation error at `epoch` of each config: the mean over training seeds of
        the curves that answer for it (its collected config's complete seeds, or the surrogate's seeds).

        This is what a config is worth, apart from the luck of the training a replay drew for it.
        """
        return self.lookup.expected_errors(configs, epoch)

    def digest(self) -> str:
        """16 hex digits of SHA-256 over what a replay reads: configs, seeds and every curve."""
        return self.table.digest()

    def mean_curves(self) -> np.ndarray:
        """Validation error per config and epoch, averaged over the config's complete seeds: (n_configs, n_epochs)."""
        return self.table.mean_curves()

    def final_errors(self) -> np.ndarray:
        """Last-epoch validation error per config, averaged over complete seeds: (n_configs,)."""
        return self.table.final_errors()
