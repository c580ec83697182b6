"""A Gaussian process with an ARD Matérn 5/2 kernel, fitted noise and normalised targets.

Shapes: n observations, d dimensions, m query points. Inputs live in the unit cube.
Hyperparameters are fitted by maximising the log marginal likelihood plus a weak log prior
(L-BFGS-B with the analytic gradient), warm-started from the previous fit. The linear algebra
calls LAPACK directly and keeps the inverse Cholesky factor, so a prediction is matrix
products only: at BO's sizes (n <= a few hundred) the wrappers' checks cost more than the work.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import scipy  # its submodules load on first use: naming an algorithm does not pay for them

__all__ = ["GaussianProcess"]

SQRT5 = math.sqrt(5.0)
# Bounds of log(length scale), log(signal variance), log(noise variance) on normalised targets.
LOG_LENGTH_BOUNDS = (math.log(1e-2), math.log(20.0))
LOG_SIGNAL_BOUNDS = (math.log(1e-2), math.log(20.0))
LOG_NOISE_BOUNDS = (math.log(1e-6), math.log(1.0))
JITTER = 1e-8


def _matern52(t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Matérn 5/2 correlation (1 + t + t^2/3) e^-t of t = sqrt5 r, and (1 + t) e^-t, the factor
    its derivatives share (t is overwritten: the arrays are (n, n) or (m, n) per call)."""
    e = np.negative(t)
    np.exp(e, out=e)
    base = t + 1.0
    base *= e
    np.multiply(t, t, out=t)
    t *= e
    t *= 1.0 / 3.0
    t += base
    return t, base


def _sq_diffs(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per-dimension squared differences: (len(a), len(b), d)."""
    diff = a[:, None, :] - b[None, :, :]
    return diff * diff


def _cholesky(k: np.ndarray) -> np.ndarray | None:
    """The lower Cholesky factor of k, or None where k is not positive definite."""
    # LAPACK directly: scipy.linalg's checks cost more than the factorisation at these sizes
    chol, info = scipy.linalg.lapack.dpotrf(k, lower=1, clean=1)
    return chol if info == 0 else None


def _log_prior_penalty(theta: np.ndarray, d: int) -> tuple[float, np.ndarray]:
    """Minus the log prior of the hyperparameters (up to a constant) and its gradient in theta.

    Weak, so that a few points (or the plateaus of a cache answered in nearest mode) do not send
    a length scale to a bound or the noise to zero on the likelihood alone: each length scale is
    pulled towards the cube's own scale by 0.1 * (l^2 + 1/l^2), the signal variance towards 1
    (Gamma(2, 1): the targets are normalised) and the noise towards small but nonzero
    (Gamma(1.1, 30)), the shapes Optuna's GPSampler uses.
    """
    log_l, log_s, log_n = theta[:d], theta[d], theta[d + 1]
    up, down = np.exp(2.0 * log_l), np.exp(-2.0 * log_l)
    s, n = math.exp(log_s), math.exp(log_n)
    value = 0.1 * float(np.sum(up + down)) - (log_s - s) - (0.1 * log_n - 30.0 * n)
    grad = np.concatenate([0.2 * (up - down), [s - 1.0, 30.0 * n - 0.1]])
    return value, grad


class GaussianProcess:
    """GP regression; `fit` learns hyperparameters, `condition` only refreshes the posterior."""

    def __init__(self, dim: int) -> None:
        self.dim = dim
        # theta = [log lengths (d), log signal variance, log noise variance]
        self.theta = np.concatenate([np.full(dim, math.log(0.5)), [0.0, math.log(1e-3)]])
        self._bounds = [LOG_LENGTH_BOUNDS] * dim + [LOG_SIGNAL_BOUNDS, LOG_NOISE_BOUNDS]

    # -- hyperparameters -------------------------------------------------------------------

    def _nll(self, theta: np.ndarray, diffs: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
        """Minus the log marginal likelihood and log prior, and its gradient; `diffs` is `_sq_diffs(x, x)`."""
        d = self.dim
        lengths, signal, noise = np.exp(theta[:d]), math.exp(theta[d]), math.exp(theta[d + 1])
        inv_sq = 1.0 / (lengths * lengths)
        t = diffs @ (5.0 * inv_sq)
        np.sqrt(t, out=t)  # sqrt5 r
        k_f, base = _matern52(t)
        k_f *= signal
        k = k_f.copy()
        k.flat[:: len(y) + 1] += noise + JITTER
        chol = _cholesky(k)
        if chol is None:
            return 1e10, np.zeros_like(theta)
        log_det_half = np.log(chol.diagonal()).sum()
        inverse, _ = scipy.linalg.lapack.dpotri(chol, lower=1, overwrite_c=1)
        # dpotri fills the lower triangle only; the upper one is the factor's, which clean=1 zeroed
        diagonal = inverse.diagonal().copy()
        inverse += inverse.T
        inverse.flat[:: len(y) + 1] = diagonal
        alpha = inverse @ y
        nll = 0.5 * y @ alpha + log_det_half + 0.5 * len(y) * math.log(2 * math.pi)
        w = inverse
        w -= np.outer(alpha, alpha)
        grad = np.empty_like(theta)
        # dK/dlog(l_i) = signal * 5/3 * (1 + sqrt5 r) exp(-sqrt5 r) * diffs_i / l_i^2
        base *= w
        grad[:d] = (signal * 5.0 / 6.0) * (base.reshape(-1) @ diffs.reshape(-1, d)) * inv_sq
        grad[d] = 0.5 * np.einsum("ij,ij->", w, k_f)
        grad[d + 1] = 0.5 * noise * np.trace(w)
        penalty, penalty_grad = _log_prior_penalty(theta, d)
        return float(nll) + penalty, grad + penalty_grad

    def fit(self, x: np.ndarray, y: np.ndarray, rng: np.random.Generator, restarts: int = 0) -> None:
        """Fit hyperparameters to (x, y) (y already normalised), then condition on the data."""
        starts = [self.theta] + [
            np.array([rng.uniform(lo, hi) for lo, hi in self._bounds]) for _ in range(restarts)
        ]
        best = (math.inf, self.theta)
        diffs = _sq_diffs(x, x)
        for start in starts:
            res = scipy.optimize.minimize(
                self._nll,
                start,
                args=(diffs, y),
                jac=True,
                method="L-BFGS-B",
                bounds=self._bounds,
                options={"maxiter": 60, "ftol": 1e-6},
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
        t = _sq_diffs(x, x) @ (5.0 / (self.lengths * self.lengths))
        np.sqrt(t, out=t)
        k = _matern52(t)[0]
        k *= self.signal
        k[np.diag_indices_from(k)] += self.noise + JITTER
        chol = _cholesky(k)
        if chol is None:
            raise np.linalg.LinAlgError("the kernel matrix is not positive definite")
        # the inverse factor once, so that every prediction is matrix products only; the inputs
        # in units of the length scales over sqrt5 (the Matern's own distance) and their norms
        # once too, the signal variance folded into the factors that predictions multiply by
        self._x = x
        self._scale, self._signal = self.lengths / SQRT5, self.signal
        x_scaled = x / self._scale
        self._x_scaled_t2 = -2.0 * x_scaled.T
        self._x_norms = (x_scaled * x_scaled).sum(axis=1)
        inv_chol, _ = scipy.linalg.lapack.dtrtri(chol, lower=1)
        self._alpha = inv_chol.T @ (inv_chol @ y)
        # one product gives a prediction's (L^-1 k^T)^T and its mean: [signal L^-T | signal alpha]
        self._weights = np.empty((len(y), len(y) + 1))
        np.multiply(inv_chol.T, self._signal, out=self._weights[:, :-1])
        np.multiply(self._alpha, self._signal, out=self._weights[:, -1])
        self._signal_inv_chol_t, self._signal_alpha = self._weights[:, :-1], self._weights[:, -1]
        # the gradients' constant: -5/3 over l^2 = -1/(3 scale^2), as the lengths were divided by sqrt5
        self._grad_scale = -1.0 / (3.0 * self._scale * self._scale)

    def _moments(self, xq: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Mean and std at xq, with the (m, n) arrays their gradients need: (L^-1 k^T)^T and
        (1 + sqrt5 r) e^-(sqrt5 r)."""
        # distances through |a|^2 + |b|^2 - 2 a.b: (m, n) arrays only, no (m, n, d) ones
        q = xq / self._scale
        t = q @ self._x_scaled_t2
        t += np.einsum("md,md->m", q, q)[:, None]
        t += self._x_norms
        np.maximum(t, 0.0, out=t)
        np.sqrt(t, out=t)  # t = sqrt5 r
        k, base = _matern52(t)  # (m, n), signal excluded
        products = k @ self._weights
        half, mean = products[:, :-1], products[:, -1]
        std = np.sqrt(np.maximum(self._signal - np.einsum("mn,mn->m", half, half), 1e-12))
        return mean, std, half, base

    def predict(self, xq: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and standard deviation at xq (m, d) of the latent function."""
        mean, std, _, _ = self._moments(xq)
        return mean, std

    def predict_with_pullback(
        self, xq: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, Callable[[np.ndarray, np.ndarray], np.ndarray]]:
        """Posterior mean and std at xq (m, d), and their pullback: given per-point weights a and
        b (m,), the gradient (m, d) of a * mean + b * std with respect to xq.

        An acquisition that is a function of the mean and std gets its gradient in one pass, not
        the two gradients it would combine.
        """
        mean, std, half, base = self._moments(xq)

        def pullback(a: np.ndarray, b: np.ndarray) -> np.ndarray:
            # dk[m, n]/dxq[m] = c[m, n] (xq[m] - x[n]) / l^2 with c = -signal 5/3 (1 + sqrt5 r) e^-(sqrt5 r);
            # the mean's weights on it are alpha, the std's -(K^-1 k^T)^T / std, so a weighted sum
            # over n is (sum_n w) xq - w @ x
            w = (b / -std)[:, None] * (half @ self._signal_inv_chol_t.T)
            w += a[:, None] * self._signal_alpha
            w *= base
            grad = w.sum(axis=1)[:, None] * xq
            grad -= w @ self._x
            grad *= self._grad_scale
            return grad

        return mean, std, pullback
