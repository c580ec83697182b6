"""Expected improvement (for minimisation) and its gradient."""

from __future__ import annotations

import numpy as np
import scipy  # its submodules load on first use: naming an algorithm does not pay for them

__all__ = ["expected_improvement", "expected_improvement_partials"]

_INV_SQRT_2PI = 1.0 / np.sqrt(2.0 * np.pi)


def expected_improvement(mean: np.ndarray, std: np.ndarray, best: float) -> np.ndarray:
    """E[max(best - f, 0)] for f ~ N(mean, std^2): std * (z Phi(z) + phi(z)), z = (best - mean) / std."""
    z = (best - mean) / std
    return std * (z * scipy.special.ndtr(z) + _INV_SQRT_2PI * np.exp(-0.5 * z * z))


def expected_improvement_partials(
    mean: np.ndarray, std: np.ndarray, best: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """EI (m,) and its partial derivatives with respect to the mean and the std (each (m,))."""
    z = (best - mean) / std
    cdf = scipy.special.ndtr(z)
    pdf = np.exp(-0.5 * z * z)
    pdf *= _INV_SQRT_2PI
    ei = z * cdf
    ei += pdf
    ei *= std
    # dEI/dmean = -Phi(z); dEI/dstd = phi(z)
    return ei, np.negative(cdf, out=cdf), pdf
