"""Look up learning curves for a config: tabular, nearest collected config, or surrogate.

A Benchmark loads one model's table once into dense arrays (configs x seeds x epochs with a
mask) so that a replay never scans Parquet per lookup. Input checks (`value`, `evaluate`)
are separate from the lookup each mode implements (`_index`, `_values`).
"""

from __future__ import annotations

import functools
import hashlib
import json
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from cache.schema import RUN_COLUMN, UNKNOWN_RUN, CacheError
from cache.tables import read_model
from cache.timing import clock_factors
from hpo.errors import ConfigError
from hpo.simulation import Evaluation
from hpo.space import SearchSpace, config_key

MODES = ("tabular", "nearest", "surrogate")


@dataclass(frozen=True)
class Lookup:
    """The cached (or predicted) values of one config at one epoch for one training seed."""

    val_error: float
    test_error: float
    epoch_seconds: float
    status: str


class Benchmark:
    """One model's curves as dense arrays, answering `curve` and `value` for configs."""

    def __init__(
        self, model: str, rows: pd.DataFrame, space: SearchSpace, mode: str = "tabular", **options: Any
    ) -> None:
        if mode not in MODES:
            raise ConfigError(f"unknown lookup mode {mode!r}; accepted: {', '.join(MODES)}")
        self.model, self.space, self.mode = model, space, mode
        self._rows, self._options = rows, options
        names = list(space.names)
        first = rows.drop_duplicates("config_id", keep="first").reset_index(drop=True)
        self.config_ids: list[str] = first["config_id"].tolist()
        self.configs: list[dict[str, Any]] = [
            {n: (int(v) if space[n].is_int else float(v)) for n, v in zip(names, values, strict=True)}
            for values in first[names].itertuples(index=False, name=None)
        ]
        self._by_key = {config_key(c): i for i, c in enumerate(self.configs)}
        self.units = np.array([space.to_unit(c) for c in self.configs])
        self.seeds: list[int] = sorted(int(s) for s in rows["train_seed"].unique())
        self.n_epochs = int(rows["epoch"].max())
        shape = (len(self.configs), len(self.seeds), self.n_epochs)
        ci = pd.Index(self.config_ids).get_indexer(rows["config_id"])
        si = pd.Index(self.seeds).get_indexer(rows["train_seed"])
        ei = rows["epoch"].to_numpy() - 1
        self.val_error = np.full(shape, np.nan, dtype=np.float32)
        self.test_error = np.full(shape, np.nan, dtype=np.float32)
        self.epoch_seconds = np.full(shape, np.nan, dtype=np.float32)
        self.diverged = np.zeros(shape, dtype=bool)
        self.present = np.zeros(shape, dtype=bool)
        self.val_error[ci, si, ei] = rows["val_error"].to_numpy()
        self.test_error[ci, si, ei] = rows["test_error"].to_numpy()
        self.epoch_seconds[ci, si, ei] = rows["epoch_seconds"].to_numpy()
        self.runs = np.full(shape[:2], UNKNOWN_RUN, dtype=np.int32)
        self.runs[ci, si] = rows[RUN_COLUMN].to_numpy()
        # Replays and the budget read one clock: the seconds as recorded, rescaled per run.
        self.recorded_seconds = self.epoch_seconds
        self.clock_factors = clock_factors(self.recorded_seconds, self.runs)
        self.epoch_seconds = (self.recorded_seconds * self.clock_factors[:, :, None]).astype(np.float32)
        self.diverged[ci, si, ei] = (rows["status"] == "diverged").to_numpy()
        self.present[ci, si, ei] = True
        # A (config, seed) is usable when its curve is complete.
        self.complete = self.present.all(axis=2)
        self._flat: tuple[np.ndarray, ...] | None = None
        self._tree = cKDTree(self.units) if mode == "nearest" else None
        self._surrogate = None
        if mode == "surrogate":
            from cache.fitted import load_or_fit

            self._surrogate = load_or_fit(self, **options)

    @classmethod
    def load(
        cls, model: str, mode: str = "tabular", cache_dir: str | Path | None = None, **options: Any
    ) -> Benchmark:
        """Load `model`'s curves from the cache (shipped + user, or `cache_dir`)."""
        if mode not in MODES:
            raise ConfigError(f"unknown lookup mode {mode!r}; accepted: {', '.join(MODES)}")
        rows, _, space = read_model(model, cache_dir)
        return cls(model, rows, space, mode, **options)

    def in_mode(self, mode: str, **options: Any) -> Benchmark:
        """The same curves answered in another lookup mode (a surrogate is fitted here)."""
        return Benchmark(self.model, self._rows, self.space, mode, **options)

    # -- input checks ----------------------------------------------------------------------

    def _check(self, config: Mapping[str, Any], epoch: int, train_seed: int) -> None:
        self.space.validate(config)
        if not 1 <= epoch <= self.n_epochs:
            raise ConfigError(f"epoch {epoch} is outside the cached range 1..{self.n_epochs}")
        if train_seed not in self.seeds:
            raise ConfigError(f"training seed {train_seed} is not cached; cached seeds: {self.seeds}")

    def index(self, config: Mapping[str, Any]) -> int:
        """The collected config answering for `config` (tabular: itself; nearest: the closest)."""
        if self.mode == "nearest":
            return int(self._tree.query(self.space.to_unit(config))[1])
        try:
            return self._by_key[config_key(config)]
        except KeyError:
            raise ConfigError(
                f"config {dict(config)} is not in the {self.model} table (tabular mode)"
            ) from None

    def seeds_of(self, config: Mapping[str, Any]) -> list[int]:
        """Training seeds with a complete curve for `config`."""
        if self.mode == "surrogate":
            return list(self.seeds)
        i = self.index(config)
        return [s for j, s in enumerate(self.seeds) if self.complete[i, j]]

    # -- lookups ---------------------------------------------------------------------------

    def value(self, config: Mapping[str, Any], epoch: int, train_seed: int) -> Lookup:
        """The values at `epoch` (1-based) of `config` trained with `train_seed`."""
        self._check(config, epoch, train_seed)
        val, test, seconds, diverged = self._arrays(config, train_seed)
        e = epoch - 1
        return Lookup(float(val[e]), float(test[e]), float(seconds[e]), "diverged" if diverged[e] else "ok")

    def curve(self, config: Mapping[str, Any], train_seed: int) -> list[Lookup]:
        """The whole cached (or predicted) curve of `config` for `train_seed`."""
        self._check(config, 1, train_seed)
        val, test, seconds, diverged = self._arrays(config, train_seed)
        return [
            Lookup(float(v), float(t), float(sec), "diverged" if d else "ok")
            for v, t, sec, d in zip(val, test, seconds, diverged, strict=True)
        ]

    def segment(self, config: Mapping[str, Any], train_seed: int, resume_from: int, epochs: int) -> Lookup:
        """Values at `epochs` and the seconds to train from `resume_from` to `epochs` (a replayed job)."""
        self._check(config, epochs, train_seed)
        val, test, seconds, diverged = self._arrays(config, train_seed)
        e = epochs - 1
        status = "diverged" if diverged[e] else "ok"
        return Lookup(float(val[e]), float(test[e]), float(seconds[resume_from:epochs].sum()), status)

    def evaluation_at(self, i: int, s: int, resume_from: int, epochs: int) -> Evaluation:
        """What a replayed job reports: collected config `i` trained with seed `self.seeds[s]` from
        `resume_from` to `epochs`; unchecked, the replay's hot path."""
        if self._flat is None:
            self._flat = self._flatten()
        val, test, diverged, cumulative = self._flat
        n_epochs = self.n_epochs
        row = i * len(self.seeds) + s
        at = row * n_epochs + epochs - 1
        start = row * (n_epochs + 1)
        return Evaluation(
            val.item(at),
            test.item(at),
            cumulative.item(start + epochs) - cumulative.item(start + resume_from),
            "diverged" if diverged.item(at) else "ok",
        )

    def _flatten(self) -> tuple[np.ndarray, ...]:
        # flat arrays read with `.item(k)`: the cheapest scalar read numpy has; seconds as running
        # sums per training, so a job's time is one subtraction
        seconds = np.nan_to_num(self.epoch_seconds.astype(np.float64))
        cumulative = np.concatenate([np.zeros((*seconds.shape[:2], 1)), np.cumsum(seconds, axis=2)], axis=2)
        return self.val_error.ravel(), self.test_error.ravel(), self.diverged.ravel(), cumulative.ravel()

    def _arrays(self, config: Mapping[str, Any], train_seed: int) -> tuple[np.ndarray, ...]:
        s = self.seeds.index(train_seed)
        if self.mode == "surrogate":
            return self._surrogate.arrays(config, s)
        i = self.index(config)
        if not self.complete[i, s]:
            raise CacheError(
                f"config {self.config_ids[i]} has no complete curve for training seed {train_seed}"
            )
        return self.val_error[i, s], self.test_error[i, s], self.epoch_seconds[i, s], self.diverged[i, s]

    def config_errors(self, configs: list[Mapping[str, Any]], epoch: int) -> np.ndarray:
        """The expected validation error at `epoch` of each config: the mean over training seeds of
        the curves that answer for it (its collected config's complete seeds, or the surrogate's seeds).

        This is what a config is worth, apart from the luck of the training a replay drew for it.
        """
        out = np.empty(len(configs))
        memo: dict[tuple, float] = {}
        means = self._mean_curves[:, epoch - 1] if self.mode != "surrogate" else None
        for n, config in enumerate(configs):
            key = config_key(config)
            if key not in memo:
                if means is not None:
                    memo[key] = float(means[self.index(config)])
                else:
                    arrays = [self._surrogate.arrays(config, s)[0][epoch - 1] for s in range(len(self.seeds))]
                    memo[key] = float(np.mean(arrays))
            out[n] = memo[key]
        return out

    def digest(self) -> str:
        """16 hex digits of SHA-256 over what a replay reads: configs, seeds and every curve."""
        h = hashlib.sha256()
        h.update(json.dumps([self.config_ids, self.seeds]).encode())
        for array in (self.val_error, self.test_error, self.epoch_seconds, self.diverged, self.present):
            h.update(np.ascontiguousarray(array).tobytes())
        return h.hexdigest()[:16]

    @functools.cached_property
    def _mean_curves(self) -> np.ndarray:
        curves = np.where(self.complete[:, :, None], self.val_error, np.nan)
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a config with no complete seed: NaN
            return np.nanmean(curves, axis=1)

    def mean_curves(self) -> np.ndarray:
        """Validation error per config and epoch, averaged over the config's complete seeds: (n_configs, n_epochs)."""
        return self._mean_curves.copy()

    def final_errors(self) -> np.ndarray:
        """Last-epoch validation error per config, averaged over complete seeds: (n_configs,)."""
        last = np.where(self.complete, self.val_error[:, :, -1], np.nan)
        return np.nanmean(last, axis=1)
