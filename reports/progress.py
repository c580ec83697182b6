"""The two-panel progress figure of one run: best validation error by trials and by runtime."""

from __future__ import annotations

from pathlib import Path

import matplotlib

__all__ = ["progress_figure"]

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from reports.schema import T_END, TRIAL_ID, VAL_ERROR

MAX_POINTS = 5_000  # results drawn as markers at most


def _corners(x: np.ndarray, best: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The points where the best-so-far step line changes, and its last: the same line, drawn
    through a handful of points instead of one per result."""
    if not len(best):
        return x, best
    keep = np.flatnonzero(np.diff(best, prepend=np.inf) != 0.0)  # the first result, then each improvement
    if keep[-1] != len(best) - 1:
        keep = np.append(keep, len(best) - 1)  # the line runs on to the last result
    return x[keep], best[keep]


def progress_figure(rows: pd.DataFrame, path: str | Path, title: str) -> Path:
    """Save best-validation-error-so-far against results and against cumulative runtime."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), constrained_layout=True)
    ordered = rows.sort_values([T_END, TRIAL_ID], kind="stable")
    errors = ordered[VAL_ERROR].to_numpy(dtype=float)
    best = np.minimum.accumulate(errors)
    # past MAX_POINTS results the markers cover each other and drawing them dominates the
    # figure's time: every step-th is drawn (the best-so-far line still runs through all of them)
    step = max(1, len(errors) // MAX_POINTS)
    by_results = np.arange(1, len(errors) + 1)
    by_time = ordered[T_END].to_numpy(dtype=float)
    for ax, x, label in ((axes[0], by_results, "results (jobs finished)"), (axes[1], by_time, "runtime (s)")):
        ax.plot(
            x[::step],
            errors[::step],
            ".",
            alpha=0.35,
            label="each result" if step == 1 else f"every {step}th result",
        )
        ax.step(*_corners(x, best), where="post", linewidth=2, label="best so far")
        ax.set_xlabel(label)
        ax.set_ylabel("validation error")
        ax.grid(alpha=0.3)
        finite = rows[VAL_ERROR][rows[VAL_ERROR] < 1.0]
        if len(finite):
            ax.set_ylim(max(0.0, float(best.min()) - 0.02), min(1.0, float(finite.quantile(0.9)) + 0.02))
    axes[0].legend(loc="upper right")
    fig.suptitle(title)
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
