"""The HTML reports (comparison, live-versus-replay agreement): self-contained files, figures inline."""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from reports.agreement import (
    CACHE_COLUMN,
    epoch_bands,
    lookup_agreement,
    order_agreement,
    outcome_agreement,
)
from reports.anytime import (
    anytime_bands,
    average_ranks,
    final_summary,
    speedup_bands,
    time_to_target,
    trajectories,
)
from reports.formatting import readable_summary

GRID_POINTS = 200


def _png(fig) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def _colors(algorithms: list[str]) -> dict[str, Any]:
    palette = plt.get_cmap("tab10")
    return {a: palette(i % 10) for i, a in enumerate(algorithms)}


def anytime_figure(bands: pd.DataFrame, ranks: pd.DataFrame, title: str) -> str:
    """Mean incumbent with its band, and average rank, against simulated time for one setting."""
    fig, (ax, ax_rank) = plt.subplots(1, 2, figsize=(11, 4), constrained_layout=True)
    colors = _colors(sorted(bands["algorithm"].unique()))
    for algorithm, curve in bands.groupby("algorithm", sort=True):
        ax.step(curve["t"], curve["mean"], where="post", color=colors[algorithm], label=algorithm)
        ax.fill_between(curve["t"], curve["lo"], curve["hi"], step="post", color=colors[algorithm], alpha=0.2)
    finite = bands[bands["mean"] < 1.0]
    if len(finite):
        low, high = float(finite["lo"].min()), float(finite["mean"].quantile(0.9))
        ax.set_ylim(max(0.0, low - 0.01), min(1.0, high + 0.01))
    ax.set_xlabel("simulated wall-clock time (s)")
    ax.set_ylabel("best validation error so far")
    ax.set_title(f"{title}: incumbent, mean and 95% band")
    ax.grid(alpha=0.3)
    ax.legend()
    for algorithm, curve in ranks.groupby("algorithm", sort=True):
        ax_rank.step(curve["t"], curve["rank"], where="post", color=colors[algorithm], label=algorithm)
    ax_rank.set_xlabel("simulated wall-clock time (s)")
    ax_rank.set_ylabel("average rank (1 = best)")
    ax_rank.set_title(f"{title}: average rank over seeds")
    ax_rank.grid(alpha=0.3)
    return _png(fig)


def _table(frame: pd.DataFrame) -> str:
    return frame.to_html(index=False, border=0, classes="results", float_format=lambda v: f"{v:.4g}")


def _head(title: str, notes: Mapping[str, str]) -> list[str]:
    """The opening of a report page: title, styles and the notes that say how it was made."""
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'>",
        f"<title>{html.escape(title)}</title>",
        "<style>body{font-family:sans-serif;max-width:1150px;margin:2em auto;padding:0 1em}"
        "table.results{border-collapse:collapse;font-size:0.9em}"
        "table.results td,table.results th{padding:3px 8px;border-bottom:1px solid #ddd;text-align:right}"
        "img{max-width:100%}code{background:#f4f4f4;padding:1px 4px}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
    ]
    return parts + [f"<p><b>{html.escape(k)}:</b> {html.escape(str(v))}</p>" for k, v in notes.items()]


SETTING = ["model", "workers", "budget_trainings"]


def build_report(
    rows: pd.DataFrame,
    usage: pd.DataFrame,
    title: str,
    notes: Mapping[str, str],
    seed: int = 0,
) -> tuple[str, pd.DataFrame]:
    """The HTML text of the report from the rows of every run of a comparison, and its summary table.

    `rows` carry the setting columns (model, workers, budget_trainings); `usage` has per setting
    and algorithm the mean utilisation, trainings to r_max and share of runs that exhausted the table.
    """
    # each setting's time axis runs to its last result: more workers spend the same budget sooner
    ends = rows.groupby(SETTING)["t_end"].max()
    grids = {key: np.linspace(0.0, float(end), GRID_POINTS) for key, end in ends.items()}
    traj = trajectories(rows, grids)
    bands = anytime_bands(traj, seed)
    ranks = average_ranks(traj)
    keys = [*SETTING, "algorithm"]
    speed = time_to_target(bands).merge(speedup_bands(traj, seed=seed), on=keys, how="left")
    summary = final_summary(rows, seed).merge(speed, on=keys, how="left").merge(usage, on=keys, how="left")
    parts = _head(title, notes)
    parts.append(
        "<h2>Summary</h2><p>Each replay starts jobs until its budget (trainings x r_max epochs, the "
        "same for every worker count) is committed and finishes what it started. Incumbent = the "
        "config with the best validation error a run reported; its test error is shown beside it "
        "(HPO never saw it). Bands are 95% percentile bootstraps over seeds. Speed-up: random "
        "search's time to reach its own final mean incumbent over the algorithm's, with a 95% "
        "bootstrap band over both algorithms' seeds (never: the mean never reached it). Busy: busy "
        "worker time over workers x makespan. Trainings to r_max: results at the top rung per run. "
        "Table exhausted: runs that used every training in the table and then started no new trial.</p>"
    )
    parts.append(_table(readable_summary(summary)))
    for model in sorted(rows["model"].unique()):
        parts.append(f"<h2>{html.escape(model)}</h2>")
        for (workers, trainings), end in ends[model].items():
            label = f"{model}, {workers} workers, {trainings:g} trainings"
            select = (bands["model"] == model) & (bands["workers"] == workers)
            select &= bands["budget_trainings"] == trainings
            rank_select = (ranks["model"] == model) & (ranks["workers"] == workers)
            rank_select &= ranks["budget_trainings"] == trainings
            figure = anytime_figure(bands[select], ranks[rank_select], label)
            parts.append(
                f"<h3>{html.escape(label)}</h3><p>budget {trainings:g} trainings to r_max; last result "
                f"at {end:.1f} simulated seconds</p><img alt='{html.escape(label)}' src='{figure}'>"
            )
    parts.append("</body></html>")
    return "\n".join(parts), summary


def agreement_figure(bands: pd.DataFrame) -> str:
    """Incumbent against epochs trained, live (solid) and replayed (dashed), one panel per algorithm."""
    algorithms = sorted(bands["algorithm"].unique())
    fig, axes = plt.subplots(
        1, len(algorithms), figsize=(3.6 * len(algorithms) + 1, 3.6), sharey=True, constrained_layout=True
    )
    axes = np.atleast_1d(axes)
    colors = _colors(algorithms)
    finite = bands[bands["mean"] < 1.0]
    for ax, algorithm in zip(axes, algorithms, strict=True):
        for backend, style in (("live", "-"), ("replay", "--")):
            curve = bands[(bands["algorithm"] == algorithm) & (bands["backend"] == backend)]
            if curve.empty:
                continue
            ax.step(
                curve["epochs"], curve["mean"], where="post", ls=style, color=colors[algorithm], label=backend
            )
            ax.fill_between(
                curve["epochs"], curve["lo"], curve["hi"], step="post", color=colors[algorithm], alpha=0.15
            )
        ax.set_title(algorithm)
        ax.set_xlabel("epochs trained")
        ax.grid(alpha=0.3)
        ax.legend()
    if len(finite):
        low, high = float(finite["lo"].min()), float(finite["mean"].quantile(0.9))
        axes[0].set_ylim(max(0.0, low - 0.01), min(1.0, high + 0.01))
    axes[0].set_ylabel("best validation error so far")
    return _png(fig)


def lookup_figure(rows: pd.DataFrame) -> str:
    """The cache's validation error against the live training's, one point per live result."""
    live = rows[rows["backend"] == "live"]
    fig, ax = plt.subplots(figsize=(4.6, 4.4), constrained_layout=True)
    colors = _colors(sorted(live["algorithm"].unique()))
    for algorithm, part in live.groupby("algorithm", sort=True):
        ax.scatter(
            part["val_error"], part[CACHE_COLUMN], s=10, alpha=0.6, color=colors[algorithm], label=algorithm
        )
    ax.plot([0, 1], [0, 1], color="grey", lw=0.8)
    ax.set_xlabel("live validation error")
    ax.set_ylabel("cache's validation error (mean over its seeds)")
    ax.set_title("every live result against the cache")
    ax.grid(alpha=0.3)
    ax.legend()
    return _png(fig)


def build_agreement_report(
    rows: pd.DataFrame,
    budget_epochs: int,
    title: str,
    notes: Mapping[str, str],
    seed_to_seed_mae: Sequence[float] | None = None,
    seed: int = 0,
) -> tuple[str, pd.DataFrame, dict, pd.DataFrame]:
    """The HTML text of a live-versus-replay report, with its outcome table, orders and lookup table."""
    outcomes = outcome_agreement(rows, seed)
    order = order_agreement(outcomes)
    lookups = lookup_agreement(rows, seed_to_seed_mae)
    bands = epoch_bands(rows, budget_epochs, seed)
    parts = _head(title, notes)
    parts.append(
        "<h2>Final incumbents</h2><p>Best validation error each run reported; the live run and its "
        "replay share the spec and the seed. Gap = replay - live, paired by seed. Bands are 95% "
        "percentile bootstraps over seeds.</p>"
    )
    parts.append(_table(outcomes))
    parts.append(
        f"<p>Algorithms, best first: live {html.escape(' < '.join(order['live']))}; replayed "
        f"{html.escape(' < '.join(order['replay']))}"
        + (f"; Kendall's tau {order['kendall']:.2f}" if order["kendall"] is not None else "")
        + "</p>"
    )
    parts.append(f"<img alt='incumbent against epochs' src='{agreement_figure(bands)}'>")
    parts.append(
        "<h2>The cache against live trainings</h2><p>Every live result beside the cache's answer for "
        "its config and epoch (mean over the cache's training seeds); live runs draw training seeds "
        "the cache never saw. Bias = cache - live. Seed-to-seed MAE: how far two trainings of one "
        "config differ in the cache, on the same epochs (the noise a perfect cache would still show).</p>"
    )
    parts.append(_table(lookups))
    parts.append(f"<img alt='cache against live' src='{lookup_figure(rows)}'>")
    parts.append("</body></html>")
    return "\n".join(parts), outcomes, order, lookups
