"""Bayesian optimisation: GP (Matérn 5/2, ARD) + expected improvement on the unit cube.

Kernel hyperparameters are refitted every 3 observations up to 48 points, then every n/16.
EI is maximised on its log, in units of the length scales, by projected gradient steps with
spectral step lengths (`hpo.searchers.ascent`), from the incumbent and from the best of
n_candidates random points; over a candidate pool (tabular replays) it is
taken over the pool's fresh configs themselves.

Multi-fidelity use (inside SH, Hyperband or ASHA): the GP is fitted on the highest number
of epochs that has at least dim + 2 observations, as BOHB does. Pending configs are
fantasised with the constant liar at the incumbent, so parallel workers get different
suggestions.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from hpo.errors import ConfigError
from hpo.searchers.acquisition import expected_improvement, expected_improvement_partials
from hpo.searchers.ascent import minimise_boxed
from hpo.searchers.base import Observation, Searcher
from hpo.searchers.gp import GaussianProcess
from hpo.searchers.pool import CandidatePool
from hpo.space import SearchSpace, config_key

__all__ = ["BOSearcher"]

TINY = 1e-300  # where EI underflows (its gradient then does too), its log is taken here
# EI evaluations per acquisition search (each one of every start at once): the search's whole
# cost, about what L-BFGS-B used, without the per-evaluation cost of scipy's wrapper
ASCENT_EVALUATIONS = 15


@functools.cache
def _blas() -> Any:
    """A controller of every BLAS the GP uses: made once, after SciPy's own has been loaded.

    A controller knows the libraries loaded when it is made; made before `scipy.linalg` was
    imported (`hpo.searchers` imported first), it left SciPy's OpenBLAS on all its threads, and
    a suggestion's last bits depended on the import order and the core count.
    """
    import scipy.linalg  # loads SciPy's BLAS, so that the controller sees it
    import scipy.optimize  # noqa: F401
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


class BOSearcher(Searcher):
    """GP-EI Bayesian optimisation with random initial design."""

    def __init__(
        self,
        space: SearchSpace,
        rng: np.random.Generator,
        initial_config: Mapping[str, Any] | None = None,
        n_initial: int | None = None,
        n_candidates: int = 500,
        n_restarts: int = 5,
        refit_every: int = 3,
    ) -> None:
        super().__init__(space, rng, initial_config)
        self.min_points = space.dim + 2
        self.n_initial = self.min_points if n_initial is None else n_initial
        for name, value, low in (
            ("n_initial", self.n_initial, 1),
            ("n_candidates", n_candidates, 1),
            ("n_restarts", n_restarts, 1),
            ("refit_every", refit_every, 1),
        ):
            if value < low:
                raise ConfigError(f"bo option {name} must be >= {low}, got {value}")
        self.n_candidates = n_candidates
        self.n_restarts = n_restarts
        self.refit_every = refit_every
        self.gp = GaussianProcess(space.dim)
        self._fitted_on = -1
        self._n_fits = 0
        self._suggested: set[tuple] = set()  # keys of every config suggested, never proposed again
        # per fidelity, each config's unit-cube point and latest error, kept as results come in
        self._by_epochs: dict[int, dict[tuple, tuple[np.ndarray, float]]] = defaultdict(dict)

    def suggest(self, trial_id: int, pool: CandidatePool | None = None) -> dict[str, Any]:
        config = super().suggest(trial_id, pool)
        self._suggested.add(config_key(config))
        return config

    def observe(self, observation: Observation) -> None:
        super().observe(observation)
        # a config seen twice at one fidelity: keep the latest error
        self._by_epochs[observation.epochs][config_key(observation.config)] = (
            self.space.to_unit(observation.config),
            observation.error,
        )

    def _training_data(self) -> tuple[np.ndarray, np.ndarray] | None:
        """Unit-cube inputs and errors at the highest fidelity with enough observations."""
        for epochs in sorted(self._by_epochs, reverse=True):
            points = self._by_epochs[epochs]
            if len(points) >= self.min_points:
                x = np.array([p for p, _ in points.values()])
                y = np.array([e for _, e in points.values()], dtype=float)
                return x, y
        return None

    def propose(self, trial_id: int) -> dict[str, Any]:
        return self._single_threaded(self.random_config, self._maximise)

    def propose_from(self, trial_id: int, pool: CandidatePool) -> dict[str, Any]:
        # EI over the pool's fresh configs themselves: no config is proposed that the pool would replace
        return self._single_threaded(lambda: pool.draw(self.rng), lambda best, x: self._best_of(pool, best))

    def _single_threaded(
        self,
        at_random: Callable[[], dict[str, Any]],
        by_ei: Callable[[float, np.ndarray], dict[str, Any] | None],
    ) -> dict[str, Any]:
        # The matrices here are small: BLAS threads cost more than they save (measured 7x
        # slower with 2 threads on a busy 2-core machine).
        with _blas().limit(limits=1):
            fitted = self._condition()
            if fitted is None:
                return at_random()
            best, x = fitted
            config = by_ei(best, x)
            return at_random() if config is None else config

    def _condition(self) -> tuple[float, np.ndarray] | None:
        """Fit and condition the GP on the observations (pending ones fantasised); the best
        normalised value and where it was seen (unit cube), or None while there are too few points."""
        data = self._training_data()
        if data is None or len(self.observations) < self.n_initial:
            return None
        x, y = data
        finite = np.isfinite(y)
        x, y = x[finite], y[finite]
        if len(y) < self.min_points or np.ptp(y) == 0.0:
            return None
        mean, std = y.mean(), y.std()
        y_norm = (y - mean) / std
        # The warm-started hyperparameters move little from one observation to the next, and a fit
        # costs O(n^3) per step: they are refitted every refit_every observations, beyond 16 *
        # refit_every points every n/16 (the GP is still conditioned on every point), so a
        # suggestion stays cheap and long budgets affordable.
        due = max(self.refit_every, len(y) // 16)
        refit = len(self.observations) - self._fitted_on >= due or self._fitted_on < 0
        if refit:
            # a random restart now and then keeps the warm-started fit out of a poor optimum
            restarts = 1 if self._n_fits % 10 == 0 else 0
            self.gp.fit(x, y_norm, self.rng, restarts=restarts)  # conditioned on (x, y_norm) too
            self._fitted_on = len(self.observations)
            self._n_fits += 1
        best = float(y_norm.min())
        pending = [self.space.to_unit(c) for c in self.pending_configs]
        if pending:
            # constant liar: pretend each pending config returned the incumbent value
            self.gp.condition(np.vstack([x, pending]), np.concatenate([y_norm, np.full(len(pending), best)]))
        elif not refit:
            self.gp.condition(x, y_norm)
        return best, x[int(np.argmin(y_norm))]

    def _best_of(self, pool: CandidatePool, best: float) -> dict[str, Any] | None:
        fresh = pool.fresh()
        if not len(fresh):
            return None
        mean, std = self.gp.predict(pool.units[fresh])
        ei = expected_improvement(mean, std, best)
        return dict(pool.configs[int(fresh[int(np.argmax(ei))])])

    def _maximise(self, best: float, incumbent: np.ndarray) -> dict[str, Any] | None:
        dim = self.space.dim
        # Local searches from the best observed point (EI's optimum is often a small step from
        # the incumbent, which random candidates rarely land near) and from the random
        # candidates with the highest EI.
        samples = self.rng.random((self.n_candidates, dim))
        mean, std = self.gp.predict(samples)
        ei = expected_improvement(mean, std, best)
        starts = np.vstack([incumbent, samples[np.argsort(-ei)[: self.n_restarts - 1]]])
        # Searched in units of the length scales, where EI's curvature is about the same along
        # every axis: a gradient step then needs a fraction of the iterations it needs on the cube.
        lengths = self.gp.lengths

        def negative_log_ei(scaled: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            mean, std, pullback = self.gp.predict_with_pullback(scaled * lengths)
            value, by_mean, by_std = expected_improvement_partials(mean, std, best)
            # log EI: a gradient tolerance on it is relative, whatever the start's EI
            value = np.maximum(value, TINY)
            inverse = -1.0 / value
            grad = pullback(by_mean * inverse, by_std * inverse)
            grad *= lengths
            return -np.log(value), grad

        scaled, values = minimise_boxed(negative_log_ei, starts / lengths, 1.0 / lengths, ASCENT_EVALUATIONS)
        optimised = np.clip(scaled * lengths, 0.0, 1.0)
        taken = self._suggested | {config_key(c) for c in self.pending_configs}
        for i in np.argsort(values, kind="stable"):
            config = self.space.from_unit(optimised[i])
            if config_key(config) not in taken:
                return config
        return None
