"""One model's learning curves as dense arrays, loaded once: configs x training seeds x epochs.

A replay never scans Parquet per lookup: the table's rows become arrays with a mask of what is
present, and a (config, seed) is usable when its curve is complete. Seconds are kept as
recorded and on the one clock that replays and budgets read (rescaled per collection run).
"""

from __future__ import annotations

import functools
import hashlib
import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cache.lookup.nearest import NearestIndex
from cache.store.schema import RUN_COLUMN, UNKNOWN_RUN
from cache.store.tables import read_model
from cache.store.timing import clock_factors
from hpo.space import SearchSpace, config_key

__all__ = ["CurveTable"]


class CurveTable:
    """The arrays of one model's cache; what every lookup, surrogate and fidelity check reads."""

    def __init__(self, model: str, rows: pd.DataFrame, space: SearchSpace) -> None:
        self.model, self.space = model, space
        names = list(space.names)
        first = rows.drop_duplicates("config_id", keep="first").reset_index(drop=True)
        self.config_ids: list[str] = first["config_id"].tolist()
        self.configs: list[dict[str, Any]] = [
            {n: (int(v) if space[n].is_int else float(v)) for n, v in zip(names, values, strict=True)}
            for values in first[names].itertuples(index=False, name=None)
        ]
        self.by_key = {config_key(c): i for i, c in enumerate(self.configs)}
        self.units = np.array([space.to_unit(c) for c in self.configs])
        self.seeds: list[int] = sorted(int(s) for s in rows["train_seed"].unique())
        self.n_epochs = int(rows["epoch"].max())
        shape = (len(self.configs), len(self.seeds), self.n_epochs)
        ci = pd.Index(self.config_ids).get_indexer(rows["config_id"])
        si = pd.Index(self.seeds).get_indexer(rows["train_seed"])
        ei = rows["epoch"].to_numpy() - 1
        self.val_error = np.full(shape, np.nan, dtype=np.float32)
        self.test_error = np.full(shape, np.nan, dtype=np.float32)
        recorded = np.full(shape, np.nan, dtype=np.float32)
        self.diverged = np.zeros(shape, dtype=bool)
        self.present = np.zeros(shape, dtype=bool)
        self.val_error[ci, si, ei] = rows["val_error"].to_numpy()
        self.test_error[ci, si, ei] = rows["test_error"].to_numpy()
        recorded[ci, si, ei] = rows["epoch_seconds"].to_numpy()
        self.runs = np.full(shape[:2], UNKNOWN_RUN, dtype=np.int32)
        self.runs[ci, si] = rows[RUN_COLUMN].to_numpy()
        # Replays and the budget read one clock: the seconds as recorded, rescaled per run.
        self.recorded_seconds = recorded
        self.clock_factors = clock_factors(recorded, self.runs)
        self.epoch_seconds = (recorded * self.clock_factors[:, :, None]).astype(np.float32)
        self.diverged[ci, si, ei] = (rows["status"] == "diverged").to_numpy()
        self.present[ci, si, ei] = True
        self.complete = self.present.all(axis=2)

    @classmethod
    def load(cls, model: str, cache_dir: str | Path | None = None) -> CurveTable:
        """`model`'s curves from the cache (shipped + user, or `cache_dir`)."""
        rows, _, space = read_model(model, cache_dir)
        return cls(model, rows, space)

    @functools.cached_property
    def nearest_index(self) -> NearestIndex:
        """The collected configs' unit points, indexed for nearest-neighbour queries (built on first use)."""
        return NearestIndex(self.units)

    @functools.cached_property
    def flat(self) -> tuple[list[Any], ...]:
        """(val, test, diverged, cumulative seconds) as flat lists of Python values, for the
        replay's hot path: an index into a list costs half of numpy's cheapest scalar read
        (`.item(k)`). Seconds are running sums per training (one leading zero each), so a job's
        time is one subtraction.
        """
        seconds = np.nan_to_num(self.epoch_seconds.astype(np.float64))
        cumulative = np.concatenate([np.zeros((*seconds.shape[:2], 1)), np.cumsum(seconds, axis=2)], axis=2)
        arrays = (self.val_error, self.test_error, self.diverged, cumulative)
        return tuple(array.ravel().tolist() for array in arrays)

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

    def mean_errors_at(self, epoch: int) -> np.ndarray:
        """Every config's seed-mean validation error at `epoch` (1-based): (n_configs,), read-only."""
        return self._mean_curves[:, epoch - 1]

    def final_errors(self) -> np.ndarray:
        """Last-epoch validation error per config, averaged over complete seeds: (n_configs,)."""
        last = np.where(self.complete, self.val_error[:, :, -1], np.nan)
        return np.nanmean(last, axis=1)
