"""Surrogate lookups: sklearn regressors over (encoded config, epoch), one per training seed.

One model per training seed keeps the seed-to-seed noise of real trainings in replays.
Validation and test error are predicted together; per-epoch seconds by a second regressor.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from sklearn.base import RegressorMixin, clone
from sklearn.ensemble import ExtraTreesRegressor, HistGradientBoostingRegressor, RandomForestRegressor
from sklearn.multioutput import MultiOutputRegressor
from sklearn.neighbors import KNeighborsRegressor

from hpo.errors import ConfigError
from hpo.searchers import config_key

if TYPE_CHECKING:
    from cache.benchmark import Benchmark


def _regressor(name: str, seed: int) -> RegressorMixin:
    if name == "knn":
        return KNeighborsRegressor(n_neighbors=5, weights="distance")
    if name == "forest":
        return RandomForestRegressor(n_estimators=100, min_samples_leaf=1, random_state=seed, n_jobs=1)
    if name == "extra-trees":
        return ExtraTreesRegressor(n_estimators=100, min_samples_leaf=1, random_state=seed, n_jobs=1)
    if name == "boosting":
        return MultiOutputRegressor(
            HistGradientBoostingRegressor(max_iter=300, learning_rate=0.05, random_state=seed)
        )
    raise ConfigError(f"unknown regressor {name!r}; accepted: {', '.join(REGRESSORS)}")


REGRESSORS = ("knn", "forest", "extra-trees", "boosting")
DEFAULT_REGRESSOR = "extra-trees"


def features(units: np.ndarray, n_epochs: int) -> np.ndarray:
    """Rows of (encoded config, epoch / n_epochs) for every config and epoch: (n * E, d + 1)."""
    epochs = np.arange(1, n_epochs + 1) / n_epochs
    n = len(units)
    return np.hstack([np.repeat(units, n_epochs, axis=0), np.tile(epochs, n)[:, None]])


class Surrogate:
    """Per-seed regressors fitted on a Benchmark's complete curves."""

    def __init__(
        self, space, n_epochs: int, errors: list[RegressorMixin], seconds: list[RegressorMixin]
    ) -> None:
        self.space, self.n_epochs = space, n_epochs
        self.errors, self.seconds = errors, seconds
        self._memo: dict[tuple, tuple[np.ndarray, ...]] = {}

    @classmethod
    def fit(
        cls,
        benchmark: Benchmark,
        regressor: str = DEFAULT_REGRESSOR,
        seed: int = 0,
        config_subset: Sequence[int] | None = None,
    ) -> Surrogate:
        """Fit one error model and one time model per training seed on the chosen configs."""
        subset = np.arange(len(benchmark.configs)) if config_subset is None else np.asarray(config_subset)
        errors, seconds = [], []
        base = _regressor(regressor, seed)
        for s in range(len(benchmark.seeds)):
            rows = subset[benchmark.complete[subset, s]]
            if len(rows) == 0:
                rows = subset[benchmark.complete[subset].any(axis=1)]
                s_data = benchmark.complete[rows].argmax(axis=1)
            else:
                s_data = np.full(len(rows), s)
            x = features(benchmark.units[rows], benchmark.n_epochs)
            val = benchmark.val_error[rows, s_data].reshape(-1)
            test = benchmark.test_error[rows, s_data].reshape(-1)
            sec = benchmark.epoch_seconds[rows, s_data].reshape(-1)
            errors.append(clone(base).fit(x, np.column_stack([val, test])))
            # times are positive and multiplicative: fit their log; zero-second epochs (after
            # a divergence) are predicted as such by the error model, not the time model
            trained = sec > 0
            seconds.append(
                KNeighborsRegressor(n_neighbors=5, weights="distance").fit(x[trained], np.log(sec[trained]))
            )
        return cls(benchmark.space, benchmark.n_epochs, errors, seconds)

    def predict_final(self, units: np.ndarray, s: int = 0) -> np.ndarray:
        """Predicted last-epoch validation error of encoded configs (n, d) for seed index s."""
        x = np.hstack([units, np.ones((len(units), 1))])
        return self.errors[s].predict(x)[:, 0]

    def arrays(self, config: Mapping[str, Any], s: int) -> tuple[np.ndarray, ...]:
        """Predicted (val error, test error, seconds, diverged) per epoch of `config`."""
        key = (config_key(config), s)
        if key not in self._memo:
            x = features(self.space.to_unit(config)[None, :], self.n_epochs)
            err = np.clip(self.errors[s].predict(x), 0.0, 1.0)
            sec = np.exp(self.seconds[s].predict(x))
            self._memo[key] = (err[:, 0], err[:, 1], sec, np.zeros(self.n_epochs, dtype=bool))
        return self._memo[key]
