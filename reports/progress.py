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

MAX_POINTS = 20_000  # results drawn as markers at most


def incumbent_curve(rows: pd.DataFrame, by: str) -> tuple[np.ndarray, np.ndarray]:
    """(x, best validation error so far) with x the result count or the finish time `t_end`."""
    ordered = rows.sort_values([T_END, TRIAL_ID], kind="stable")
    best = np.minimum.accumulate(ordered[VAL_ERROR].to_numpy(dtype=float))
    x = np.arange(1, len(ordered) + 1) if by == "results" else ordered[T_END].to_numpy(dtype=float)
    return x, best


def progress_figure(rows: pd.DataFrame, path: str | Path, title: str) -> Path:
    """Save best-validation-error-so-far against results and against cumulative runtime."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), constrained_layout=True)
    errors = rows.sort_values([T_END, TRIAL_ID], kind="stable")[VAL_ERROR].to_numpy(dtype=float)
    # past MAX_POINTS results the markers cover each other and drawing them dominates the
    # figure's time: every step-th is drawn (the best-so-far line still goes through every result)
    step = max(1, len(errors) // MAX_POINTS)
    for ax, by, label in ((axes[0], "results", "results (jobs finished)"), (axes[1], "time", "runtime (s)")):
        x, best = incumbent_curve(rows, by)
        ax.plot(
            x[::step],
            errors[::step],
            ".",
            alpha=0.35,
            label="each result" if step == 1 else f"every {step}th result",
        )
        ax.step(x, best, where="post", linewidth=2, label="best so far")
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
