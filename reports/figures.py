"""The figures of the reports, drawn with seaborn, returned as inline PNG data URIs.

One colour per algorithm everywhere, from seaborn's colour-blind-safe palette, in a fixed
order of algorithm names, so an algorithm keeps its colour from figure to figure and report to
report.
"""

from __future__ import annotations

import base64
import functools
import io
from collections.abc import Callable, Iterable, Mapping
from typing import ParamSpec

import matplotlib
import matplotlib.lines

__all__ = [
    "P",
    "agreement_figure",
    "anytime_figure",
    "critical_difference_figure",
    "curves_figure",
    "lookup_figure",
    "palette",
    "png",
    "speedup_figure",
]

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import scikit_posthocs
import seaborn as sns

from reports.schema import ALGORITHM, BACKEND, CONFIG_RANK, EPOCH, EPOCHS, MODEL, VAL_ERROR, WORKERS

# the built-in algorithms first, in the registry's order, so their colours never move
KNOWN = ("random", "bo", "sh", "hyperband", "asha", "bohb", "asha-bo")
P = ParamSpec("P")
CROSSBAR = (0.1, 0.1, 0.1)  # seaborn's "k", which the figures keep without changing matplotlib's codes
REGRET_FLOOR = 1e-4  # a log axis cannot show a regret of 0: the best config itself


def palette(algorithms: Iterable[str]) -> dict[str, tuple]:
    """A fixed colour per algorithm (colour-blind safe); unknown names take the colours after the known ones."""
    names = list(KNOWN) + sorted(set(algorithms) - set(KNOWN))
    colours = sns.color_palette("colorblind", len(names))
    return {name: colours[i] for i, name in enumerate(names)}


def png(fig: plt.Figure) -> str:
    """The figure as a data URI (no timestamp in the PNG, so a rebuilt report has the same bytes)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, metadata={"Software": None})
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


@functools.cache
def _theme() -> dict:
    """The rc parameters of seaborn's whitegrid theme, read without changing matplotlib's own."""
    with plt.rc_context():
        sns.set_theme(style="whitegrid", context="notebook", font_scale=0.9, color_codes=False)
        return dict(plt.rcParams)


def _styled(draw: Callable[P, str]) -> Callable[P, str]:
    """`draw` under the report's theme: a figure changes no global matplotlib state."""

    @functools.wraps(draw)
    def styled(*args: P.args, **kwargs: P.kwargs) -> str:
        with plt.rc_context(_theme()):
            return draw(*args, **kwargs)

    return styled


def _panels(n: int, height: float = 3.4, rows: int = 1) -> tuple[plt.Figure, np.ndarray]:
    fig, axes = plt.subplots(
        rows, n, figsize=(3.6 * n + 0.8, height * rows), squeeze=False, constrained_layout=True
    )
    return fig, axes


def _band(ax, curve: pd.DataFrame, colour, label: str, y: str = "mean") -> None:
    ax.step(curve["t"], curve[y], where="post", color=colour, label=label, lw=1.6)
    if "lo" in curve:
        # light fill plus thin edges: overlapping bands stay readable
        ax.fill_between(curve["t"], curve["lo"], curve["hi"], step="post", color=colour, alpha=0.12, lw=0)
        for edge in ("lo", "hi"):
            ax.step(curve["t"], curve[edge], where="post", color=colour, lw=0.5, alpha=0.6)


@_styled
def anytime_figure(
    regret: pd.DataFrame, ranks: pd.DataFrame, colours: Mapping[str, tuple], log_time: bool = False
) -> str:
    """Per model (columns): normalised regret of the mean incumbent on a log axis (top) and average rank (bottom).

    `regret` has model, algorithm, t, mean, lo, hi (normalised); `ranks` model, algorithm, t, rank,
    already cut to start at the first finished result.
    """
    models = sorted(regret[MODEL].unique())
    fig, axes = _panels(len(models), height=3.2, rows=2)
    for j, model in enumerate(models):
        ax, ax_rank = axes[0, j], axes[1, j]
        for algorithm, curve in regret[regret[MODEL] == model].groupby(ALGORITHM, sort=True):
            clipped = curve.assign(**{c: curve[c].clip(lower=REGRET_FLOOR) for c in ("mean", "lo", "hi")})
            _band(ax, clipped, colours[algorithm], algorithm)
        ax.set_yscale("log")
        ax.set_title(model)
        ax.set_ylabel("normalised regret" if j == 0 else "")
        for algorithm, curve in ranks[ranks[MODEL] == model].groupby(ALGORITHM, sort=True):
            ax_rank.step(curve["t"], curve["rank"], where="post", color=colours[algorithm], lw=1.6)
        ax_rank.set_ylabel("average rank (1 = best)" if j == 0 else "")
        ax_rank.set_xlabel("simulated time (s)")
        if log_time:
            ax.set_xscale("log")
            ax_rank.set_xscale("log")
    axes[0, 0].legend(fontsize="small")
    return png(fig)


@_styled
def speedup_figure(sweep: pd.DataFrame, colours: Mapping[str, tuple]) -> str:
    """Per model: speed-up to a target against the number of workers, one line per algorithm, ideal dashed.

    `sweep` has model, algorithm, workers, speedup (time to target with the fewest workers over
    the time with these).
    """
    models = sorted(sweep[MODEL].unique())
    fig, axes = _panels(len(models))
    fewest = int(sweep[WORKERS].min())
    for j, model in enumerate(models):
        ax = axes[0, j]
        part = sweep[(sweep[MODEL] == model) & np.isfinite(sweep["speedup"])]
        sns.lineplot(
            data=part,
            x=WORKERS,
            y="speedup",
            hue=ALGORITHM,
            palette={a: colours[a] for a in part[ALGORITHM].unique()},
            marker="o",
            ax=ax,
            legend=False,
        )
        ticks = sorted(sweep[WORKERS].unique())
        ax.plot(ticks, [w / fewest for w in ticks], ls="--", color="grey", lw=1, label="linear")
        ax.set_xscale("log", base=2)
        ax.set_yscale("log", base=2)
        ax.set_xticks(ticks, [str(t) for t in ticks])
        ax.set_title(model)
        ax.set_xlabel("workers")
        ax.set_ylabel("speed-up to target" if j == 0 else "")
    # every algorithm in the legend, also one that reaches the target on no model shown first
    handles = [
        matplotlib.lines.Line2D([], [], color=colours[a], marker="o", label=a)
        for a in sorted(sweep[ALGORITHM].unique())
    ]
    handles.append(matplotlib.lines.Line2D([], [], color="grey", ls="--", label="linear"))
    axes[0, 0].legend(handles=handles, fontsize="small")
    return png(fig)


@_styled
def critical_difference_figure(
    ranks: pd.Series, significance: pd.DataFrame, colours: Mapping[str, tuple], title: str
) -> str:
    """The critical-difference diagram: average ranks, with bars joining algorithms not told apart."""
    fig, ax = plt.subplots(figsize=(7.5, 0.5 + 0.35 * len(ranks)), constrained_layout=True)
    # scikit-posthocs walks sets of the labels it is given: names as labels would draw the bars'
    # points in an order that changes with Python's string hashing, and the PNG's bytes with it
    names = list(ranks.index)
    drawn = scikit_posthocs.critical_difference_diagram(
        {i: float(ranks[name]) for i, name in enumerate(names)},
        pd.DataFrame(significance.loc[names, names].to_numpy()),
        ax=ax,
        color_palette={i: colours[name] for i, name in enumerate(names)},
        crossbar_props={"color": CROSSBAR},
        label_fmt_left="{label}\0 ({rank:.2g})",
        label_fmt_right="({rank:.2g}) \0{label}",
    )
    for text in drawn["labels"]:
        before, after = text.get_text().split("\0")
        text.set_text(f"{names[int(before)]}{after}" if before.isdigit() else f"{before}{names[int(after)]}")
    ax.set_title(title, fontsize="medium")
    return png(fig)


@_styled
def curves_figure(curves: pd.DataFrame) -> str:
    """Per model: a sample of the cache's learning curves (seed means), darker for configs that end better."""
    models = sorted(curves[MODEL].unique())
    fig, axes = _panels(len(models), height=3.0)
    for j, model in enumerate(models):
        ax = axes[0, j]
        part = curves[curves[MODEL] == model]
        n = int(part[CONFIG_RANK].max()) + 1
        shades = sns.color_palette("mako", n)
        for rank, curve in part.groupby(CONFIG_RANK, sort=True):
            ax.plot(curve[EPOCH], curve[VAL_ERROR], color=shades[int(rank)], lw=1.2)
        ax.set_title(model)
        ax.set_xlabel("epoch")
        ax.set_ylabel("validation error" if j == 0 else "")
    return png(fig)


@_styled
def agreement_figure(bands: pd.DataFrame, colours: Mapping[str, tuple]) -> str:
    """Incumbent against epochs trained, live (solid) and replayed (dashed), one panel per algorithm."""
    algorithms = sorted(bands[ALGORITHM].unique())
    fig, axes = _panels(len(algorithms))
    for ax, algorithm in zip(axes[0], algorithms, strict=True):
        for backend, style in (("live", "-"), ("replay", "--")):
            curve = bands[(bands[ALGORITHM] == algorithm) & (bands[BACKEND] == backend)]
            if curve.empty:
                continue
            ax.step(
                curve[EPOCHS],
                curve["mean"],
                where="post",
                ls=style,
                color=colours[algorithm],
                label=backend,
            )
            ax.fill_between(
                curve[EPOCHS],
                curve["lo"],
                curve["hi"],
                step="post",
                color=colours[algorithm],
                alpha=0.12,
                lw=0,
            )
            # the final value as a marker: a run with one result still shows in its panel
            last = curve.iloc[-1]
            marker = "o" if backend == "live" else "s"
            ax.plot([last[EPOCHS]], [last["mean"]], marker=marker, color=colours[algorithm])
        ax.set_title(algorithm)
        ax.set_xlabel("epochs trained")
        ax.legend(fontsize="small")
    finite = bands[bands["mean"] < 1.0]
    if len(finite):
        low, high = float(finite["lo"].min()), float(finite["mean"].quantile(0.9))
        axes[0, 0].set_ylim(max(0.0, low - 0.01), min(1.0, high + 0.01))
    axes[0, 0].set_ylabel("best validation error so far")
    return png(fig)


@_styled
def lookup_figure(live: pd.DataFrame, cache_column: str, colours: Mapping[str, tuple]) -> str:
    """The cache's validation error against the live training's, one point per live result."""
    fig, ax = plt.subplots(figsize=(4.8, 4.4), constrained_layout=True)
    sns.scatterplot(
        data=live,
        x=VAL_ERROR,
        y=cache_column,
        hue=ALGORITHM,
        palette={a: colours[a] for a in live[ALGORITHM].unique()},
        s=14,
        alpha=0.6,
        ax=ax,
    )
    ax.plot([0, 1], [0, 1], color="grey", lw=0.8)
    ax.set_xlabel("live validation error")
    ax.set_ylabel("cache's validation error (mean over its seeds)")
    return png(fig)
