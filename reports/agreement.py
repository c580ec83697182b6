"""Live against replayed: how closely replays and the cache's answers match real training.

Input is the rows of an agreement run (`bench agree`): one run per backend (live, replay),
algorithm and seed, with the usual result columns; live rows also hold the cache's answer
for their config and epoch (`cache_val_error`). Output is plain DataFrames and dicts.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from reports import anytime
from reports.anytime import anytime_bands, bootstrap_mean, group_rng, trajectories
from reports.schema import (
    ALGORITHM,
    BACKEND,
    CACHE_ERROR,
    EPOCHS,
    MODEL,
    RESUME_FROM,
    SEED,
    T_END,
    TRIAL_ID,
    VAL_ERROR,
)

__all__ = [
    "epoch_bands",
    "final_incumbents",
    "lookup_agreement",
    "order_agreement",
    "outcome_agreement",
    "with_epoch_clock",
]

RUN = [BACKEND, ALGORITHM, SEED]


def with_epoch_clock(rows: pd.DataFrame) -> pd.DataFrame:
    """The rows with `epochs_used`: epochs the run had trained by the end of each result."""
    ordered = rows.sort_values([*RUN, T_END, TRIAL_ID], kind="stable")
    trained = ordered[EPOCHS] - ordered[RESUME_FROM]
    return ordered.assign(epochs_used=trained.groupby([ordered[k] for k in RUN]).cumsum())


def final_incumbents(rows: pd.DataFrame) -> pd.DataFrame:
    """Per backend, algorithm and seed: the best validation error reported and its test error."""
    return anytime.final_incumbents(rows, RUN)


def outcome_agreement(rows: pd.DataFrame, seed: int = 0, n_boot: int = 1000) -> pd.DataFrame:
    """Per algorithm: final incumbent live and replayed (mean, 95% band) and the gap replay - live.

    The gap is paired by seed (a live run and its replay share the searcher's stream), over the
    seeds that have both.
    """
    finals = final_incumbents(rows).pivot_table(index=[ALGORITHM, SEED], columns=BACKEND, values=VAL_ERROR)
    records = []
    for algorithm, part in finals.groupby(level=ALGORITHM, sort=True):
        record: dict[str, object] = {ALGORITHM: algorithm}
        for backend in ("live", "replay"):
            values = part[backend].dropna().to_numpy() if backend in part else np.array([])
            mean, lo, hi = _band(values, group_rng(seed, algorithm, backend, "agree"), n_boot)
            record.update({backend: mean, f"{backend}_lo": lo, f"{backend}_hi": hi})
        both = part.dropna(subset=[b for b in ("live", "replay") if b in part])
        gaps = (both["replay"] - both["live"]).to_numpy() if {"live", "replay"} <= set(part) else np.array([])
        mean, lo, hi = _band(gaps, group_rng(seed, algorithm, "gap", "agree"), n_boot)
        record.update({"pairs": len(gaps), "gap": mean, "gap_lo": lo, "gap_hi": hi})
        records.append(record)
    return pd.DataFrame(records)


def _band(values: np.ndarray, rng: np.random.Generator, n_boot: int) -> tuple[float, float, float]:
    if len(values) == 0:
        return float("nan"), float("nan"), float("nan")
    mean, lo, hi = bootstrap_mean(values[:, None], rng, n_boot)
    return float(mean[0]), float(lo[0]), float(hi[0])


def order_agreement(outcomes: pd.DataFrame) -> dict[str, object]:
    """The algorithms best first by mean final incumbent, live and replayed, and Kendall's tau between."""
    live = outcomes.sort_values(["live", ALGORITHM])[ALGORITHM].tolist()
    replay = outcomes.sort_values(["replay", ALGORITHM])[ALGORITHM].tolist()
    tau = None
    if len(outcomes) >= 2 and outcomes[["live", "replay"]].notna().all().all():
        value = stats.kendalltau(outcomes["live"], outcomes["replay"]).statistic
        tau = None if np.isnan(value) else float(value)
    return {"live": live, "replay": replay, "same_order": live == replay, "kendall": tau}


def lookup_agreement(rows: pd.DataFrame, seed_to_seed_mae: Sequence[float] | None = None) -> pd.DataFrame:
    """The cache's answers against live trainings: over every live result, and at the last epoch only.

    Spearman and Kendall rank correlation, mean absolute error, the bias (cache - live), and
    beside the MAE its yardstick when given (`seed_to_seed_mae`, per epoch): how far two
    trainings of one config differ, averaged over the same epochs as the results.
    """
    live = rows[(rows[BACKEND] == "live") & rows[CACHE_ERROR].notna()]
    records = []
    for name, part in (("every result", live), ("last epoch", live[live[EPOCHS] == live[EPOCHS].max()])):
        n = len(part)
        cache, real = part[CACHE_ERROR].to_numpy(float), part[VAL_ERROR].to_numpy(float)
        ranked = n >= 3 and np.ptp(cache) > 0 and np.ptp(real) > 0
        records.append(
            {
                "results": name,
                "n": n,
                "spearman": float(stats.spearmanr(cache, real).statistic) if ranked else np.nan,
                "kendall": float(stats.kendalltau(cache, real).statistic) if ranked else np.nan,
                "mae": float(np.mean(np.abs(cache - real))) if n else np.nan,
                "bias": float(np.mean(cache - real)) if n else np.nan,
                "seed_to_seed_mae": (
                    float(np.mean(np.asarray(seed_to_seed_mae)[part[EPOCHS].to_numpy(int) - 1]))
                    if n and seed_to_seed_mae is not None
                    else np.nan
                ),
            }
        )
    return pd.DataFrame(records)


def epoch_bands(rows: pd.DataFrame, budget_epochs: int, seed: int = 0, points: int = 101) -> pd.DataFrame:
    """Mean incumbent over seeds with its band against epochs trained, per backend and algorithm."""
    grid = np.linspace(0.0, float(budget_epochs), points)
    clocked = with_epoch_clock(rows)
    # the anytime helpers group by model: here each backend plays that part
    frame = clocked.assign(model=clocked[BACKEND], t_end=clocked["epochs_used"].astype(float))
    traj = trajectories(frame, {backend: grid for backend in frame[BACKEND].unique()})
    return anytime_bands(traj, seed).rename(columns={MODEL: BACKEND, "t": EPOCHS})
