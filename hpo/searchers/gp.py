"""A Gaussian process with an ARD Matérn 5/2 kernel, fitted noise and normalised targets.

Shapes: n observations, d dimensions, m query points. Inputs live in the unit cube.
Hyperparameters are fitted by maximising the log marginal likelihood (L-BFGS-B with the
analytic gradient), warm-started from the previous fit.
"""

from __future__ import annotations

import math

import numpy as np
import scipy  # its submodules load on first use: naming an algorithm does not pay for them

__all__ = ["GaussianProcess"]

SQRT5 = math.sqrt(5.0)
# Bounds of log(length scale), log(signal variance), log(noise variance) on normalised targets.
LOG_LENGTH_BOUNDS = (math.log(1e-2), math.log(20.0))
LOG_SIGNAL_BOUNDS = (math.log(1e-2), math.log(20.0))
LOG_NOISE_BOUNDS = (math.log(1e-6), math.log(1.0))
JITTER = 1e-8


def matern52(r: np.ndarray) -> np.ndarray:
    """Matérn 5/2 correlation of scaled distances r."""
    return (1.0 + SQRT5 * r + 5.0 / 3.0 * r * r) * np.exp(-SQRT5 * r)


def _scaled_sq_dists(a: np.ndarray, b: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Per-dimension squared differences divided by squared length scales: (len(a), len(b), d)."""
    diff = (a[:, None, :] - b[None, :, :]) / lengths
    return diff * diff


class GaussianProcess:
    """GP regression; `fit` learns hyperparameters, `condition` only refreshes the posterior."""

    def __init__(self, dim: int) -> None:
        self.dim = dim
        # theta = [log lengths (d), log signal variance, log noise variance]
        self.theta = np.concatenate([np.full(dim, math.log(0.5)), [0.0, math.log(1e-3)]])
        self._bounds = [LOG_LENGTH_BOUNDS] * dim + [LOG_SIGNAL_BOUNDS, LOG_NOISE_BOUNDS]

    # -- hyperparameters -------------------------------------------------------------------

    def _nll(self, theta: np.ndarray, x: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
        d = self.dim
        lengths, signal, noise = np.exp(theta[:d]), math.exp(theta[d]), math.exp(theta[d + 1])
        sq = _scaled_sq_dists(x, x, lengths)
        r = np.sqrt(sq.sum(axis=2))
        e = np.exp(-SQRT5 * r)
        k_f = signal * (1.0 + SQRT5 * r + 5.0 / 3.0 * r * r) * e
        k = k_f + (noise + JITTER) * np.eye(len(x))
        try:
            chol = scipy.linalg.cholesky(k, lower=True)
        except scipy.linalg.LinAlgError:
            return 1e10, np.zeros_like(theta)
        alpha = scipy.linalg.cho_solve((chol, True), y)
        nll = 0.5 * y @ alpha + np.log(np.diag(chol)).sum() + 0.5 * len(x) * math.log(2 * math.pi)
        w = scipy.linalg.cho_solve((chol, True), np.eye(len(x))) - np.outer(alpha, alpha)
        grad = np.empty_like(theta)
        # dK/dlog(l_i) = signal * 5/3 * (1 + sqrt5 r) exp(-sqrt5 r) * sq_i
        common = signal * 5.0 / 3.0 * (1.0 + SQRT5 * r) * e
        grad[:d] = 0.5 * np.einsum("ij,ijk->k", w * common, sq)
        grad[d] = 0.5 * np.sum(w * k_f)
        grad[d + 1] = 0.5 * noise * np.trace(w)
        return float(nll), grad

    def fit(self, x: np.ndarray, y: np.ndarray, rng: np.random.Generator, restarts: int = 0) -> None:
        """Fit hyperparameters to (x, y) (y already normalised), then condition on the data."""
        starts = [self.theta] + [
            np.array([rng.uniform(lo, hi) for lo, hi in self._bounds]) for _ in range(restarts)
        ]
        best = (math.inf, self.theta)
        for start in starts:
            res = scipy.optimize.minimize(
                self._nll,
                start,
                args=(x, y),
                jac=True,
                method="L-BFGS-B",
                bounds=self._bounds,
                options={"maxiter": 60},
            )
            if res.fun < best[0]:
                best = (float(res.fun), res.x)
        self.theta = best[1]
        self.condition(x, y)

    # -- posterior -------------------------------------------------------------------------

    @property
    def lengths(self) -> np.ndarray:
        """Length scales per dimension."""
        return np.exp(self.theta[: self.dim])

    @property
    def signal(self) -> float:
        """Signal variance."""
        return math.exp(self.theta[self.dim])

    @property
    def noise(self) -> float:
        """Noise variance."""
        return math.exp(self.theta[self.dim + 1])

    def condition(self, x: np.ndarray, y: np.ndarray) -> None:
        """Compute the posterior on (x, y) with the current hyperparameters."""
        k = self.signal * matern52(np.sqrt(_scaled_sq_dists(x, x, self.lengths).sum(axis=2)))
        k[np.diag_indices_from(k)] += self.noise + JITTER
        self._x = x
        self._chol = scipy.linalg.cholesky(k, lower=True)
        self._alpha = scipy.linalg.cho_solve((self._chol, True), y)

    def predict(self, xq: np.ndarray, with_grad: bool = False):
        """Posterior mean and standard deviation at xq (m, d) of the latent function.

        With `with_grad`, also their gradients with respect to xq, each (m, d).
        """
        lengths, signal = self.lengths, self.signal
        # distances through |a|^2 + |b|^2 - 2 a.b: (m, n) arrays only, no (m, n, d) ones
        q, x = xq / lengths, self._x / lengths
        sq = (q * q).sum(axis=1)[:, None] + (x * x).sum(axis=1)[None, :] - 2.0 * (q @ x.T)
        r = np.sqrt(np.maximum(sq, 0.0))  # (m, n)
        e = np.exp(-SQRT5 * r)
        k = signal * (1.0 + SQRT5 * r + 5.0 / 3.0 * r * r) * e  # (m, n)
        mean = k @ self._alpha
        half = scipy.linalg.solve_triangular(
            self._chol, k.T, lower=True, check_finite=False
        )  # L^-1 k^T: (n, m)
        var = np.maximum(signal - np.einsum("nm,nm->m", half, half), 1e-12)
        std = np.sqrt(var)
        if not with_grad:
            return mean, std
        v = scipy.linalg.solve_triangular(
            self._chol, half, lower=True, trans="T", check_finite=False
        )  # K^-1 k^T
        # dk[m, n]/dxq[m] = c[m, n] * (xq[m] - x[n]) / l^2 with c = -signal * 5/3 * (1 + sqrt5 r) exp(-sqrt5 r),
        # so a weighted sum over n of dk is (sum_n w) xq - w @ x, divided by l^2
        c = -signal * 5.0 / 3.0 * (1.0 + SQRT5 * r) * e
        inv_sq = 1.0 / (lengths * lengths)

        def weighted(w: np.ndarray) -> np.ndarray:
            return (w.sum(axis=1)[:, None] * xq - w @ self._x) * inv_sq

        dmean = weighted(c * self._alpha[None, :])
        dvar = -2.0 * weighted(c * v.T)
        dstd = dvar / (2.0 * std[:, None])
        return mean, std, dmean, dstd
