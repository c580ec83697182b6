"""Numbers for people: a value with its band in one cell, words where there is no number."""

from __future__ import annotations

import math

import pandas as pd


def _missing(value: float) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def with_band(value: float, lo: float, hi: float, digits: int = 4) -> str:
    """ "0.1234 [0.1200, 0.1300]"; "no result" where the value is missing."""
    if _missing(value):
        return "no result"
    text = f"{value:.{digits}f}"
    return text if _missing(lo) else f"{text} [{lo:.{digits}f}, {hi:.{digits}f}]"


def speedup_text(speedup: float, lo: float, hi: float) -> str:
    """A speed-up with its band, or a word: "never" (target not reached), "-" (no baseline to time)."""
    if _missing(speedup):
        return "-" if _missing(lo) else "never"
    text = f"{speedup:.2f}x"
    return text if _missing(lo) else f"{text} [{lo:.2f}, {hi:.2f}]"


def readable_summary(summary: pd.DataFrame) -> pd.DataFrame:
    """The comparison's summary with one formatted cell per quantity (the table a report shows)."""
    return pd.DataFrame(
        {
            "model": summary["model"],
            "algorithm": summary["algorithm"],
            "workers": summary["workers"],
            "budget (trainings)": summary["budget_trainings"].map(lambda b: f"{b:g}"),
            "val error [95% band]": [
                with_band(r.val_error, r.val_lo, r.val_hi) for r in summary.itertuples(index=False)
            ],
            "test error": summary["test_error"].map(lambda v: with_band(v, None, None)),
            "speed-up vs random [95% band]": [
                speedup_text(r.speedup, r.speedup_lo, r.speedup_hi) for r in summary.itertuples(index=False)
            ],
            "busy": summary["utilisation"].map(lambda u: "-" if _missing(u) else f"{u:.0%}"),
            "trainings to r_max": summary["full_trainings"].map(lambda n: f"{n:.1f}"),
            "table exhausted": summary["exhausted"].map(lambda f: "no" if f == 0 else f"in {f:.0%} of runs"),
        }
    )
