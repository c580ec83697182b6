"""The numbers of a comparison report, from result rows to tables: plain functions over DataFrames."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from reports.anytime import (
    anytime_bands,
    average_ranks,
    final_incumbents,
    final_summary,
    speedup_bands,
    time_to_target,
    trajectories,
)
from reports.plan import CacheFacts
from reports.schema import (
    ALGORITHM,
    BUDGET_TRAININGS,
    CONFIG_ERROR,
    MESSAGE,
    MODEL,
    SEED,
    T_END,
    VAL_ERROR,
    WORKERS,
)
from reports.statistics import (
    average_ranks as block_ranks,
)
from reports.statistics import (
    block_matrix,
    critical_difference,
    friedman,
    nemenyi,
    paired_against,
    with_regret,
)

__all__ = ["SETTING", "compute", "failure_table", "normalised", "rankings"]

SETTING = [MODEL, WORKERS, BUDGET_TRAININGS]
SWEEP = [WORKERS, BUDGET_TRAININGS]
GRID_POINTS = 200
BASELINE = "random"


def time_grids(rows: pd.DataFrame) -> dict[tuple, np.ndarray]:
    """Each setting's time axis, from 0 to its last result: more workers spend the same budget sooner."""
    ends = rows.groupby(SETTING)[T_END].max()
    return {key: np.linspace(0.0, float(end), GRID_POINTS) for key, end in ends.items()}


def normalised(bands: pd.DataFrame, reference: Mapping[str, CacheFacts]) -> pd.DataFrame:
    """Bands of (expected) validation error turned into normalised regret: 0 the cache's best config, 1 its worst."""
    best = bands[MODEL].map(lambda m: reference[m].best)
    span = bands[MODEL].map(lambda m: reference[m].worst - reference[m].best)
    return bands.assign(**{c: (bands[c] - best) / span for c in ("mean", "lo", "hi")})


def ranks_from_first_result(ranks: pd.DataFrame, rows: pd.DataFrame) -> pd.DataFrame:
    """Average ranks over time from each setting's first finished result on (before it every algorithm ties)."""
    first = rows.groupby(SETTING)[T_END].min().rename("first").reset_index()
    merged = ranks.merge(first, on=SETTING)
    return merged[merged["t"] >= merged["first"]].drop(columns="first")


def worth_column(rows: pd.DataFrame) -> str:
    """The column an incumbent is scored by: what its config is worth (`config_error`, its seed
    mean at r_max, in replays) where the rows have it, else its own validation error (live runs)."""
    return CONFIG_ERROR if CONFIG_ERROR in rows else VAL_ERROR


def summary_table(
    rows: pd.DataFrame, bands: pd.DataFrame, traj: pd.DataFrame, usage: pd.DataFrame, seed: int = 0
) -> pd.DataFrame:
    """Per setting and algorithm: final incumbent with bands, speed-up to random search, usage, and the
    paired test against random search."""
    keys = [*SETTING, ALGORITHM]
    speed = time_to_target(bands, BASELINE).merge(
        speedup_bands(traj, BASELINE, seed=seed), on=keys, how="left"
    )
    tests = paired_against(final_incumbents(rows), BASELINE, worth_column(rows))
    summary = final_summary(rows, seed).merge(speed, on=keys, how="left").merge(usage, on=keys, how="left")
    return summary.merge(tests, on=keys, how="left")


def rankings(finals: pd.DataFrame) -> list[dict[str, Any]]:
    """Per (workers, budget): average ranks over (model, seed) blocks of normalised regret, Friedman's
    test, Nemenyi's pairwise p-values and critical difference."""
    out = []
    for (workers, trainings), part in finals.groupby(SWEEP, sort=True):
        blocks = block_matrix(part, "normalised_regret")
        if blocks.empty:
            continue
        ranks = block_ranks(blocks)
        statistic, p = friedman(blocks)
        mean_regret = blocks.mean(axis=0)
        out.append(
            {
                WORKERS: int(workers),
                BUDGET_TRAININGS: float(trainings),
                "blocks": len(blocks),
                "models": sorted(part[MODEL].unique()),
                "ranks": ranks,
                "mean_regret": mean_regret,
                "friedman": statistic,
                "friedman_p": p,
                "nemenyi": nemenyi(blocks) if blocks.shape[1] >= 3 else None,
                "critical_difference": critical_difference(blocks.shape[1], len(blocks))
                if blocks.shape[1] >= 2
                else np.nan,
            }
        )
    return out


def worker_sweep(bands: pd.DataFrame) -> pd.DataFrame:
    """Per model, budget, algorithm and worker count: time to a target and the speed-up over the fewest workers.

    The target of a (model, budget) is random search's final mean incumbent with the fewest
    workers (without random search: the worst final mean there, which every algorithm reaches).
    An algorithm's speed-up at w workers is its time to the target with the fewest workers over
    its time with w; never reaching the target gives no point.
    """
    records = []
    for (model, trainings), part in bands.groupby([MODEL, BUDGET_TRAININGS], sort=True):
        fewest = part[WORKERS].min()
        at_fewest = part[part[WORKERS] == fewest]
        finals = at_fewest.groupby(ALGORITHM)["mean"].last()
        target = float(finals[BASELINE]) if BASELINE in finals else float(finals.max())
        times = {}
        for (algorithm, workers), curve in part.groupby([ALGORITHM, WORKERS], sort=True):
            reached = curve[curve["mean"] <= target + 1e-12]
            times[algorithm, workers] = float(reached["t"].iloc[0]) if len(reached) else np.inf
        for (algorithm, workers), t in times.items():
            base = times.get((algorithm, fewest), np.inf)
            ok = np.isfinite(t) and np.isfinite(base) and t > 0
            records.append(
                {
                    MODEL: model,
                    BUDGET_TRAININGS: trainings,
                    ALGORITHM: algorithm,
                    WORKERS: int(workers),
                    "target": target,
                    "time_to_target": t,
                    "speedup": base / t if ok else np.nan,
                }
            )
    return pd.DataFrame(
        records,
        columns=[MODEL, BUDGET_TRAININGS, ALGORITHM, WORKERS, "target", "time_to_target", "speedup"],
    )


def failure_table(failures: list[Mapping[str, Any]]) -> pd.DataFrame:
    """Failed replays per algorithm, model and setting: how many, and the first message.

    `failures` are failure records (model, algorithm, workers, budget_trainings, seed, message).
    """
    columns = [ALGORITHM, MODEL, WORKERS, BUDGET_TRAININGS, "failed replays", MESSAGE]
    if not failures:
        return pd.DataFrame(columns=columns)
    frame = pd.DataFrame(failures).sort_values([ALGORITHM, MODEL, WORKERS, BUDGET_TRAININGS, SEED])
    grouped = frame.groupby([ALGORITHM, MODEL, WORKERS, BUDGET_TRAININGS], sort=True)
    return grouped.agg(**{"failed replays": (SEED, "size"), MESSAGE: (MESSAGE, "first")}).reset_index()


def compute(rows: pd.DataFrame, usage: pd.DataFrame, reference: Mapping[str, CacheFacts], seed: int = 0):
    """Everything a comparison report shows, as DataFrames and dicts."""
    grids = time_grids(rows)
    # every score is of what the incumbent's config is worth, not of the reading it was picked by
    traj = trajectories(rows, grids, worth_column(rows))
    bands = anytime_bands(traj, seed)
    regret_bands = normalised(bands, reference)
    ranks = ranks_from_first_result(average_ranks(traj), rows)
    summary = summary_table(rows, bands, traj, usage, seed)
    finals = with_regret(final_incumbents(rows), reference)
    regret = (
        finals.groupby([*SETTING, ALGORITHM], sort=True)["normalised_regret"].mean().rename("mean_regret")
    )
    summary = summary.merge(regret.reset_index(), on=[*SETTING, ALGORITHM], how="left")
    return {
        "bands": bands,
        "regret": regret_bands,
        "ranks": ranks,
        "summary": summary,
        "rankings": rankings(finals),
        "sweep": worker_sweep(bands),
    }
