"""Surrogate lookups: sklearn regressors of learning curves, one per training seed.

Two shapes of regressor: `knn`, `forest`, `extra-trees` and `boosting` learn the errors over
(encoded config, epoch); `gp` is a Gaussian process over the encoded config whose outputs are
the whole curve (the validation and test error at every epoch, through `OutputWarp`), one
kernel shared by all outputs, each config's seed-to-seed noise on the diagonal. One model per training seed keeps the seed-to-seed noise of real
trainings in replays; the GP's kernel hyperparameters are fitted on the first seed and shared
by the others (seeds are exchangeable, and the fit is what takes minutes). Per-epoch seconds
come from a k-NN over (config, epoch) on log seconds.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from sklearn.base import RegressorMixin
from sklearn.ensemble import ExtraTreesRegressor, HistGradientBoostingRegressor, RandomForestRegressor
from sklearn.exceptions import ConvergenceWarning
from sklearn.gaussian_process import GaussianProcessRegressor
from sklearn.gaussian_process.kernels import ConstantKernel, Kernel, Matern, WhiteKernel
from sklearn.multioutput import MultiOutputRegressor
from sklearn.neighbors import KNeighborsRegressor
from sklearn.preprocessing import PowerTransformer

from cache.lookup.curves import CurveTable
from cache.names import check_regressor, preferred_regressor
from hpo.space import SearchSpace, config_key

__all__ = ["CurveModel", "OutputWarp", "Surrogate", "features", "inputs", "noise_scale"]


def _regressor(
    name: str, seed: int, dim: int, kernel: Kernel | None = None, noise: np.ndarray | float = 1e-10
) -> RegressorMixin:
    if name == "gp" and kernel is not None:
        return GaussianProcessRegressor(kernel, alpha=noise, normalize_y=True, optimizer=None)
    if name == "gp":
        # one length scale per hyperparameter (ARD): in the 4-D spaces some matter far less
        dim_kernel = Matern(length_scale=np.full(dim, 0.3), length_scale_bounds=(1e-2, 1e2), nu=2.5)
        kernel = ConstantKernel(1.0, (1e-2, 1e2)) * dim_kernel + WhiteKernel(1e-2, (1e-6, 1.0))
        return GaussianProcessRegressor(
            kernel, alpha=noise, normalize_y=True, n_restarts_optimizer=2, random_state=seed
        )
    if name == "knn":
        return KNeighborsRegressor(n_neighbors=5, weights="distance")
    if name == "forest":
        # three rows a leaf: on LeNet's three fold splits 0.940, 0.939, 0.945 against 0.932,
        # 0.932, 0.937 with one (the best-of-10 bias +0.006..+0.008 against +0.005..+0.008);
        # larger leaves rank no better and read the best configs higher
        return RandomForestRegressor(n_estimators=100, min_samples_leaf=3, random_state=seed, n_jobs=1)
    if name == "extra-trees":
        return ExtraTreesRegressor(n_estimators=100, min_samples_leaf=1, random_state=seed, n_jobs=1)
    if name == "boosting":
        return MultiOutputRegressor(
            HistGradientBoostingRegressor(max_iter=300, learning_rate=0.05, random_state=seed)
        )
    check_regressor(name)
    raise AssertionError(f"regressor {name!r} has no estimator")


_EPS = 1e-3


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, _EPS, 1 - _EPS)
    return np.log(p / (1 - p))


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def noise_scale(space: SearchSpace, units: np.ndarray) -> np.ndarray | None:
    """log(learning_rate / batch_size) of encoded configs, scaled to [0, 1] over the space; None without both.

    SGD's noise scale (Smith and Le, 2018: the learning rate times the data size over the batch
    size), and with a fixed number of epochs the distance travelled. Whether a sigmoid LeNet
    leaves chance level in 20 epochs follows this one quantity, a diagonal of the unit cube that
    axis-aligned trees can only follow in steps: given it, the forest (one row a leaf) ranks
    LeNet's held-out configs 0.932-0.937 (extra-trees without it 0.911-0.931, three fold
    splits), with half the MAE and half the best-of-10 bias; three rows a leaf 0.939-0.945.
    """
    names = list(space.names)
    if "learning_rate" not in names or "batch_size" not in names:
        return None
    rate, batch = space["learning_rate"], space["batch_size"]
    i, j = names.index("learning_rate"), names.index("batch_size")
    log_rate = np.log([rate.from_unit(u) for u in units[:, i]])
    log_batch = np.log([batch.from_unit(u) for u in units[:, j]])
    low = math.log(rate.low) - math.log(batch.high)
    high = math.log(rate.high) - math.log(batch.low)
    return (log_rate - log_batch - low) / (high - low)


def inputs(space: SearchSpace, units: np.ndarray, regressor: str) -> np.ndarray:
    """What a regressor learns from: the encoded configs, and for all but the GP their noise scale."""
    extra = None if regressor == "gp" else noise_scale(space, units)
    return units if extra is None else np.column_stack([units, extra])


def features(units: np.ndarray, n_epochs: int) -> np.ndarray:
    """Rows of (encoded config, epoch / n_epochs) for every config and epoch: (n * E, d + 1)."""
    epochs = np.arange(1, n_epochs + 1) / n_epochs
    n = len(units)
    return np.hstack([np.repeat(units, n_epochs, axis=0), np.tile(epochs, n)[:, None]])


class OutputWarp:
    """What a GP learns for a curve: the error's logit through a Yeo-Johnson power transform.

    The final errors of a model's configs are skewed even as logits (sgd's run from 0.15 to
    0.79, most under 0.3), and a GP with one noise level fits the crowded low end too loosely
    and the tail too tightly; the power transform (one per epoch and error, fitted on every
    training of every seed: seeds are exchangeable) makes each output near normal. `noise` is
    each config's variance over its seeds in the warped space, averaged over the outputs: the
    seed-to-seed noise differs tenfold between configs (SGD with a large learning rate is far
    noisier), which a single white-noise level cannot say.
    """

    def __init__(self, transform: PowerTransformer, noise: np.ndarray | float) -> None:
        self.transform, self.noise = transform, noise

    @classmethod
    def fit(cls, val: np.ndarray, test: np.ndarray, complete: np.ndarray | None = None) -> OutputWarp:
        """Fit on curves (n configs, seeds, E) of which `complete` (n, seeds) were trained."""
        n, n_seeds = val.shape[:2]
        complete = np.ones((n, n_seeds), bool) if complete is None else complete
        z = np.concatenate([_logit(val), _logit(test)], axis=2)
        transform = PowerTransformer().fit(z[complete])
        warped = np.full(z.shape, np.nan)
        warped[complete] = transform.transform(z[complete])
        counts = complete.sum(axis=1)
        many = counts >= 2
        if not many.any():
            return cls(transform, 1e-10)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # configs with one seed: filled below
            noise = np.nanvar(warped, axis=1, ddof=1).mean(axis=1)
        noise[~many] = np.median(noise[many])
        return cls(transform, np.maximum(noise, 1e-10))

    def forward(self, val: np.ndarray, test: np.ndarray) -> np.ndarray:
        """The warped outputs (n, 2E) of (validation, test) error curves (n, E) each."""
        return self.transform.transform(np.hstack([_logit(val), _logit(test)]))

    def backward(self, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(validation, test) error curves from warped outputs (n, 2E)."""
        # Yeo-Johnson's inverse is defined on a half-line when lambda is not 1: a prediction
        # past its end (a GP extrapolating) is the transform's extreme, not NaN
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            logits = self.transform.inverse_transform(z)
        logits = np.where(np.isnan(logits), np.sign(z) * np.inf, logits)
        p = _sigmoid(np.clip(logits, _logit(np.array(0.0)), _logit(np.array(1.0))))
        e = z.shape[1] // 2
        return p[:, :e], p[:, e:]


class CurveModel:
    """Predicts (validation error, test error) curves, shape (n, E) each, for encoded configs."""

    def __init__(self, name: str, seed: int, n_epochs: int) -> None:
        self.name, self.seed, self.n_epochs = name, seed, n_epochs

    def fit(
        self,
        units: np.ndarray,
        val: np.ndarray,
        test: np.ndarray,
        kernel: Kernel | None = None,
        warp: OutputWarp | None = None,
    ) -> CurveModel:
        """Fit on configs (n, d) and their curves (n, E); a GP given `kernel` keeps it as it is.

        A GP learns the curves through `warp` (fitted on these curves when not given), with its
        per-config noise as the diagonal, and the white-noise kernel for what the warp leaves.
        """
        if self.name == "gp":
            self.warp = warp if warp is not None else OutputWarp.fit(val[:, None], test[:, None])
            z = self.warp.forward(val, test)
            self.regressor = _regressor(self.name, self.seed, units.shape[1], kernel, self.warp.noise)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                self.regressor.fit(units, z)
            return self
        self.regressor = _regressor(self.name, self.seed, units.shape[1], kernel)
        x = features(units, self.n_epochs)
        self.regressor.fit(x, np.column_stack([val.reshape(-1), test.reshape(-1)]))
        return self

    def predict(self, units: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(validation, test) error curves of encoded configs, each (n, E), clipped to [0, 1]."""
        e = self.n_epochs
        if self.name == "gp":
            return self.warp.backward(self.regressor.predict(units))
        out = np.clip(self.regressor.predict(features(units, e)), 0.0, 1.0)
        return out[:, 0].reshape(-1, e), out[:, 1].reshape(-1, e)

    @property
    def kernel(self) -> Kernel | None:
        """The GP's fitted kernel (None for the other regressors)."""
        return self.regressor.kernel_ if self.name == "gp" else None


class Surrogate:
    """Per-seed curve models fitted on a curve table's complete curves."""

    def __init__(
        self, space: SearchSpace, n_epochs: int, errors: list[CurveModel], seconds: list[RegressorMixin]
    ) -> None:
        self.space, self.n_epochs = space, n_epochs
        self.errors, self.seconds = errors, seconds
        self._memo: dict[tuple, tuple[np.ndarray, ...]] = {}

    @classmethod
    def fit(
        cls,
        table: CurveTable,
        regressor: str | None = None,
        seed: int = 0,
        config_subset: Sequence[int] | None = None,
    ) -> Surrogate:
        """Fit one curve model and one time model per training seed on the chosen configs."""
        regressor = regressor or preferred_regressor(table.model)
        check_regressor(regressor)
        subset = np.arange(len(table.configs)) if config_subset is None else np.asarray(config_subset)
        errors, seconds = [], []
        rows = subset[table.complete[subset].any(axis=1)]
        warp = (
            OutputWarp.fit(table.val_error[rows], table.test_error[rows], table.complete[rows])
            if regressor == "gp"
            else None
        )
        for s in range(len(table.seeds)):
            # Every seed's model sees every config: a config not (yet) trained with seed s
            # stands in with its first complete seed, so that a seed collected for a few
            # configs only does not get a model fitted on those few.
            has_s = table.complete[rows, s]
            seed_of_row = np.where(has_s, s, table.complete[rows].argmax(axis=1))
            val = table.val_error[rows, seed_of_row]
            test = table.test_error[rows, seed_of_row]
            shared = errors[0].kernel if errors else None
            errors.append(
                CurveModel(regressor, seed, table.n_epochs).fit(
                    inputs(table.space, table.units[rows], regressor), val, test, shared, warp
                )
            )
            x = features(table.units[rows], table.n_epochs)
            sec = table.epoch_seconds[rows, seed_of_row].reshape(-1)
            # times are positive and multiplicative: fit their log; zero-second epochs (after
            # a divergence) are left out
            trained = sec > 0
            seconds.append(
                KNeighborsRegressor(n_neighbors=5, weights="distance").fit(x[trained], np.log(sec[trained]))
            )
        return cls(table.space, table.n_epochs, errors, seconds)

    def predict_final(self, units: np.ndarray, s: int = 0) -> np.ndarray:
        """Predicted last-epoch validation error of encoded configs (n, d) for seed index s."""
        model = self.errors[s]
        return model.predict(inputs(self.space, units, model.name))[0][:, -1]

    def arrays(self, config: Mapping[str, Any], s: int) -> tuple[np.ndarray, ...]:
        """Predicted (val error, test error, seconds, diverged) per epoch of `config`."""
        key = (config_key(config), s)
        if key not in self._memo:
            unit = self.space.to_unit(config)[None, :]
            val, test = self.errors[s].predict(inputs(self.space, unit, self.errors[s].name))
            sec = np.exp(self.seconds[s].predict(features(unit, self.n_epochs)))
            self._memo[key] = (val[0], test[0], sec, np.zeros(self.n_epochs, dtype=bool))
        return self._memo[key]
