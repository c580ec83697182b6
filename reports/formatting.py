"""Numbers for people: a value with its band in one cell, consistent precision, words where there is no number."""

from __future__ import annotations

import math

import pandas as pd

from reports.schema import ALGORITHM, BUDGET_TRAININGS, MODEL, WORKERS

__all__ = [
    "correlation_text",
    "missing",
    "number",
    "readable_lookups",
    "readable_outcomes",
    "readable_summary",
    "readable_sweep",
    "speedup_text",
    "versus_text",
    "with_band",
]


def missing(value: object) -> bool:
    """Whether `value` is absent (None or NaN)."""
    return value is None or (isinstance(value, float) and math.isnan(value))


def number(value: float, digits: int = 4, p: bool = False, signed: bool = False) -> str:
    """A number at fixed precision; a p-value as "< 0.001" below that; "-" where there is none."""
    if missing(value):
        return "-"
    if p:
        return "< 0.001" if value < 0.001 else f"{value:.3f}"
    if math.isinf(value):
        return "never"
    return f"{value:+.{digits}f}" if signed else f"{value:.{digits}f}"


def with_band(value: float, lo: float, hi: float, digits: int = 4, signed: bool = False) -> str:
    """ "0.1234 [0.1200, 0.1300]"; "no result" where the value is missing."""
    if missing(value):
        return "no result"
    text = number(value, digits, signed=signed)
    return (
        text
        if missing(lo)
        else f"{text} [{number(lo, digits, signed=signed)}, {number(hi, digits, signed=signed)}]"
    )


def speedup_text(speedup: float, lo: float, hi: float) -> str:
    """A speed-up with its band, or a word: "never" (target not reached), "-" (no baseline to time)."""
    if missing(speedup):
        return "-" if missing(lo) else "never"
    text = f"{speedup:.2f}x"
    return text if missing(lo) else f"{text} [{lo:.2f}, {hi:.2f}]"


def versus_text(difference: float, r: float, p_holm: float) -> str:
    """A paired comparison against the baseline: median difference, rank-biserial r and Holm's p."""
    if missing(difference):
        return "-"
    if missing(p_holm):
        return f"{difference:+.4f} (no difference on any seed)" if difference == 0 else f"{difference:+.4f}"
    return f"{difference:+.4f}, r {r:+.2f}, p {number(p_holm, p=True)}"


def readable_summary(summary: pd.DataFrame) -> pd.DataFrame:
    """The comparison's summary with one formatted cell per quantity (the table the report and the CLI show)."""
    rows = list(summary.itertuples(index=False))
    return pd.DataFrame(
        {
            "model": summary[MODEL].tolist(),
            "algorithm": summary[ALGORITHM].tolist(),
            "workers": summary[WORKERS].tolist(),
            "budget": [f"{b:g}" for b in summary[BUDGET_TRAININGS]],
            # what the incumbent's config is worth (its seed mean) scores it; the reading it was
            # picked by is one training's luck, shown beside it (live runs have only the reading)
            "worth [95% band]": [
                with_band(r.worth, r.worth_lo, r.worth_hi) if hasattr(r, "worth") else "-" for r in rows
            ],
            "val reading [95% band]": [with_band(r.val_error, r.val_lo, r.val_hi) for r in rows],
            "test error": [number(r.test_error) for r in rows],
            "regret": [number(getattr(r, "mean_regret", float("nan"))) for r in rows],
            "vs random (median diff, r, Holm p)": [
                versus_text(
                    getattr(r, "median_difference", float("nan")),
                    getattr(r, "rank_biserial", float("nan")),
                    getattr(r, "p_holm", float("nan")),
                )
                if r.algorithm != "random"
                else "-"
                for r in rows
            ],
            "speed-up [95% band]": [speedup_text(r.speedup, r.speedup_lo, r.speedup_hi) for r in rows],
            "busy": ["-" if missing(r.utilisation) else f"{r.utilisation:.0%}" for r in rows],
            "to r_max": [f"{r.full_trainings:.1f}" for r in rows],
            "table exhausted": ["no" if r.exhausted == 0 else f"in {r.exhausted:.0%} of runs" for r in rows],
        }
    )


def readable_sweep(sweep: pd.DataFrame) -> pd.DataFrame:
    """Time to target and speed-up per model, budget, algorithm and worker count."""
    return pd.DataFrame(
        {
            "model": sweep[MODEL],
            "budget": [f"{b:g}" for b in sweep[BUDGET_TRAININGS]],
            "algorithm": sweep[ALGORITHM],
            "workers": sweep[WORKERS],
            "target": [number(t) for t in sweep["target"]],
            "time to target (s)": [number(t, 1) for t in sweep["time_to_target"]],
            "speed-up": ["-" if missing(s) else f"{s:.2f}x" for s in sweep["speedup"]],
        }
    )


def readable_outcomes(outcomes: pd.DataFrame) -> pd.DataFrame:
    """An agreement's final incumbents, live and replayed, and their gap."""
    rows = list(outcomes.itertuples(index=False))
    return pd.DataFrame(
        {
            "algorithm": [r.algorithm for r in rows],
            "pairs": [r.pairs for r in rows],
            "live [95% band]": [with_band(r.live, r.live_lo, r.live_hi) for r in rows],
            "replay [95% band]": [with_band(r.replay, r.replay_lo, r.replay_hi) for r in rows],
            "gap replay - live [95% band]": [
                with_band(r.gap, r.gap_lo, r.gap_hi, signed=True) if r.pairs else "no pair" for r in rows
            ],
        }
    )


def correlation_text(value: float, n: int) -> str:
    """A rank correlation, or why there is none."""
    if missing(value):
        return f"too few results ({n})" if n < 3 else "no spread to rank"
    return f"{value:.3f}"


def readable_lookups(lookups: pd.DataFrame) -> pd.DataFrame:
    """The cache against live trainings, with words where a correlation cannot be computed."""
    rows = list(lookups.itertuples(index=False))
    return pd.DataFrame(
        {
            "results": [r.results for r in rows],
            "n": [r.n for r in rows],
            "Spearman": [correlation_text(r.spearman, r.n) for r in rows],
            "Kendall": [correlation_text(r.kendall, r.n) for r in rows],
            "MAE": [number(r.mae) for r in rows],
            "two trainings of one config (MAE)": [number(r.seed_to_seed_mae) for r in rows],
            "bias": [number(r.bias, signed=True) for r in rows],
        }
    )
