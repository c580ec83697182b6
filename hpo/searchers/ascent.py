"""Many independent box-constrained minimisations at once: projected gradient with spectral steps.

BO maximises its acquisition from a few starts per suggestion, each a small smooth problem in
a box. Each start takes projected gradient steps whose length is the Barzilai-Borwein step
s.s / s.y of its own last move (the spectral projected gradient of Birgin, Martinez and Raydan,
2000), backtracking by a factor of 4 until the Armijo condition holds, so that the starts share
one vectorised evaluation per iteration. The search stops when every start's projected
gradient is below `gtol` in every coordinate, or after `max_evaluations` evaluations. Each
array operation costs about a microsecond at these sizes, which is all the loop costs beside
the evaluations: it took about as many of them as scipy's L-BFGS-B did, whose wrapper cost as
much again per evaluation.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["minimise_boxed"]

ARMIJO = 1e-4
BACKTRACK = 0.25
STEP_BOUNDS = (1e-6, 1e6)


def minimise_boxed(
    fun: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]],
    x0: np.ndarray,
    upper: np.ndarray,
    max_evaluations: int = 15,
    gtol: float = 1e-2,
) -> tuple[np.ndarray, np.ndarray]:
    """Minimise each row's f over the box [0, upper] from the rows of x0 (m, d).

    `fun(x)` returns every row's value (m,) and gradient (m, d). Returns the points reached and
    their values; `fun` is called at most `max_evaluations` times.
    """
    x = np.minimum(np.maximum(np.array(x0, dtype=float), 0.0), upper)
    f, g = fun(x)
    biggest = np.abs(g).max(axis=1, keepdims=True)
    # the first move is half a unit (of the problem's own scale) along the steepest coordinate
    step = 0.5 / np.where(biggest > 0.0, biggest, 1.0)  # (m, 1)
    low_step, high_step = STEP_BOUNDS
    for _ in range(max_evaluations - 1):
        # a start has converged where a unit step along its projected gradient moves no
        # coordinate by more than gtol; converged starts are evaluated with the others (one call)
        # and stop the search once every start has
        projected = np.minimum(np.maximum(x - g, 0.0), upper)
        projected -= x
        if np.abs(projected).max() <= gtol:
            break
        trial = np.minimum(np.maximum(x - step * g, 0.0), upper)
        move = trial - x
        f_trial, g_trial = fun(trial)
        accepted = f_trial <= f + ARMIJO * np.einsum("md,md->m", g, move)
        curvature = np.einsum("md,md->m", move, g_trial - g)[:, None]
        # where the curvature along the move is not positive, the step grows instead
        spectral = 100.0 * step
        np.divide(np.einsum("md,md->m", move, move)[:, None], curvature, out=spectral, where=curvature > 0.0)
        spectral = np.minimum(np.maximum(spectral, low_step), high_step)
        if accepted.all():  # the usual case, without the selections below (each array op costs a microsecond)
            x, g, f, step = trial, g_trial, f_trial, spectral
            continue
        rows = accepted[:, None]
        step = np.where(rows, spectral, BACKTRACK * step)
        x, g = np.where(rows, trial, x), np.where(rows, g_trial, g)
        f = np.where(accepted, f_trial, f)
    return x, f
