"""Anytime performance across seeds: incumbent trajectories, bootstrap bands, ranks, speed-ups.

Input is the rows of many runs (one per model, algorithm and seed) as the result files hold
them; output is plain DataFrames that the figures and the HTML report draw.
"""

from __future__ import annotations

import warnings
import zlib

import numpy as np
import pandas as pd

from reports.schema import (
    ALGORITHM,
    BUDGET_TRAININGS,
    CONFIG_ERROR,
    MODEL,
    SEED,
    T_END,
    TEST_ERROR,
    TRIAL_ID,
    VAL_ERROR,
    WORKERS,
)

__all__ = [
    "anytime_bands",
    "average_ranks",
    "bootstrap_mean",
    "final_incumbents",
    "final_summary",
    "group_rng",
    "incumbent_on_grid",
    "resampled_means",
    "setting_keys",
    "speedup_bands",
    "time_to_target",
    "trajectories",
]

SETTING_COLUMNS = (MODEL, WORKERS, BUDGET_TRAININGS)
"""What a comparison varies besides algorithm and seed; a sweep has one panel per setting."""


def setting_keys(frame: pd.DataFrame) -> list[str]:
    """The setting columns `frame` has (at least the model)."""
    return [c for c in SETTING_COLUMNS if c in frame.columns]


def _grid_key(values: tuple) -> object:
    # a comparison of models only keys its grids by the model name
    return values[0] if len(values) == 1 else values


def group_rng(seed: int, *names: object) -> np.random.Generator:
    """A generator of one (setting, algorithm, purpose): its band does not depend on which others are compared."""
    key = tuple(zlib.crc32(str(name).encode()) for name in names)
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=key))


def incumbent_on_grid(rows: pd.DataFrame, grid: np.ndarray, value: str = VAL_ERROR) -> np.ndarray:
    """The incumbent of one run at each time in `grid` (NaN before the first result).

    The incumbent is the result with the lowest validation error so far (the earlier one on a
    tie); `value` is which of its columns to report: its validation error, or for instance what
    its config is worth (`config_error`).
    """
    ordered = rows.sort_values([T_END, TRIAL_ID], kind="stable")
    t = ordered[T_END].to_numpy(dtype=float)
    val = ordered[VAL_ERROR].to_numpy(dtype=float)
    if value == VAL_ERROR:
        best = np.minimum.accumulate(val)
    else:
        previous = np.concatenate([[np.inf], np.minimum.accumulate(val)[:-1]])
        improved = (val < previous) | (np.arange(len(val)) == 0)
        where = np.maximum.accumulate(np.where(improved, np.arange(len(val)), 0))
        best = ordered[value].to_numpy(dtype=float)[where]
    idx = np.searchsorted(t, grid, side="right") - 1
    out = np.full(len(grid), np.nan)
    seen = idx >= 0
    out[seen] = best[idx[seen]]
    return out


def trajectories(rows: pd.DataFrame, grids: dict[object, np.ndarray], value: str = VAL_ERROR) -> pd.DataFrame:
    """Long table (setting..., algorithm, seed, t, incumbent) on each setting's time grid.

    `grids` is keyed by the model, or by the tuple of setting values in a sweep; `incumbent` is
    the incumbent's `value` (see `incumbent_on_grid`).
    """
    setting = setting_keys(rows)
    parts = []
    for values, run in rows.groupby([*setting, ALGORITHM, SEED], sort=True):
        grid = grids[_grid_key(values[: len(setting)])]
        frame = pd.DataFrame({"t": grid, "incumbent": incumbent_on_grid(run, grid, value)})
        for name, v in zip([*setting, ALGORITHM, SEED], values, strict=True):
            frame.insert(len(frame.columns) - 2, name, v)
        parts.append(frame)
    return pd.concat(parts, ignore_index=True)


def bootstrap_mean(values: np.ndarray, rng: np.random.Generator, n_boot: int = 1000, level: float = 0.95):
    """Mean over axis 0 (seeds) and its percentile-bootstrap band, ignoring NaN: (mean, lo, hi)."""
    values = np.asarray(values, dtype=float)
    mean = np.nanmean(values, axis=0)
    means = resampled_means(values, rng, n_boot)
    alpha = (1 - level) / 2
    lo, hi = np.nanquantile(means, [alpha, 1 - alpha], axis=0)
    return mean, lo, hi


def resampled_means(values: np.ndarray, rng: np.random.Generator, n_boot: int) -> np.ndarray:
    """(n_boot, ...) means over axis 0 (seeds) of rows drawn with replacement, ignoring NaN.

    scipy's bootstrap draws the seeds; each resample's mean is the count-weighted mean of the
    seeds' rows, one matrix product for all resamples, where resampling the rows themselves
    would hold n_boot x seeds x times values (2.5 s a call at 1,000 seeds; this takes 0.04 s).
    The band's percentiles are taken here, NaN-aware (a resample of seeds that all lack a value
    has none), and for statistics scipy's one-call API has no form for (a target from one
    resample, a time from another: `speedup_bands`).
    """
    n = values.shape[0]
    if n < 2:  # scipy asks for two; every resample of one seed is that seed
        return np.repeat(np.nanmean(values, axis=0)[None], n_boot, axis=0)
    from scipy import stats

    flat = values.reshape(n, -1)
    present = ~np.isnan(flat)
    filled, present = np.where(present, flat, 0.0), present.astype(float)

    def weighted_means(seeds: np.ndarray, axis: int = -1) -> np.ndarray:
        rows = np.atleast_2d(seeds)  # (resamples, n) drawn seed indices
        offsets = n * np.arange(rows.shape[0])[:, None]
        counts = np.bincount((rows + offsets).ravel(), minlength=rows.size).reshape(rows.shape).astype(float)
        means = (counts @ filled) / (counts @ present)
        return means[0] if seeds.ndim == 1 else means.T  # scipy wants the resamples last

    with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)  # a column of NaN has a NaN mean, as it should
        result = stats.bootstrap(
            (np.arange(n),), weighted_means, n_resamples=n_boot, vectorized=True, method="percentile", rng=rng
        )
    return result.bootstrap_distribution.T.reshape(n_boot, *values.shape[1:])


def anytime_bands(traj: pd.DataFrame, seed: int = 0, n_boot: int = 1000) -> pd.DataFrame:
    """Per setting, algorithm and time: mean incumbent over seeds with a 95% bootstrap band."""
    setting = setting_keys(traj)
    out = []
    for values, part in traj.groupby([*setting, ALGORITHM], sort=True):
        table = part.pivot(index=SEED, columns="t", values="incumbent")
        # a seed with no result yet counts as the worst error, so early means are not flattered
        mean, lo, hi = bootstrap_mean(_filled(table), group_rng(seed, *values, "anytime"), n_boot)
        frame = pd.DataFrame(
            {"t": table.columns.to_numpy(dtype=float), "mean": mean, "lo": lo, "hi": hi, "seeds": len(table)}
        )
        for i, name in enumerate([*setting, ALGORITHM]):
            frame.insert(i, name, values[i])
        out.append(frame)
    return pd.concat(out, ignore_index=True)


def average_ranks(traj: pd.DataFrame) -> pd.DataFrame:
    """Per setting and time: each algorithm's rank (1 = best, ties averaged) within a seed, averaged over seeds."""
    setting = setting_keys(traj)
    ranked = traj.assign(incumbent=traj["incumbent"].fillna(np.inf))
    ranked["rank"] = ranked.groupby([*setting, SEED, "t"])["incumbent"].rank(method="average")
    return ranked.groupby([*setting, ALGORITHM, "t"], sort=True)["rank"].mean().reset_index()


def time_to_target(bands: pd.DataFrame, baseline: str = "random") -> pd.DataFrame:
    """Per setting and algorithm: first time the mean incumbent reaches the baseline's final mean, and the speed-up."""
    setting = setting_keys(bands)
    rows = []
    for values, part in bands.groupby(setting, sort=True):
        base = part[part[ALGORITHM] == baseline]
        if base.empty:
            continue
        target = float(base["mean"].iloc[-1])
        base_time = _first_time(base, target)
        for algorithm, curve in part.groupby(ALGORITHM, sort=True):
            t = _first_time(curve, target)
            rows.append(
                {
                    **dict(zip(setting, values, strict=True)),
                    ALGORITHM: algorithm,
                    "target": target,
                    "time_to_target": t,
                    "speedup": base_time / t if np.isfinite(t) and t > 0 else np.nan,
                }
            )
    # without the baseline there is no target: the table keeps its columns, empty
    return pd.DataFrame(rows, columns=[*setting, ALGORITHM, "target", "time_to_target", "speedup"])


def speedup_bands(
    traj: pd.DataFrame, baseline: str = "random", seed: int = 0, n_boot: int = 1000, level: float = 0.95
) -> pd.DataFrame:
    """Per setting and algorithm: a percentile-bootstrap band of `time_to_target`'s speed-up.

    Each resample draws the baseline's seeds and the algorithm's seeds (with replacement,
    independently), takes the target as the resampled baseline's final mean and times both
    resampled means to it. A resample in which the algorithm never reaches the target counts
    as a speed-up of 0. The baseline's own row has no band (its speed-up is 1 by definition).
    """
    setting = setting_keys(traj)
    rows = []
    alpha = (1 - level) / 2
    for values, part in traj.groupby(setting, sort=True):
        tables = {
            algorithm: runs.pivot(index=SEED, columns="t", values="incumbent")
            for algorithm, runs in part.groupby(ALGORITHM, sort=True)
        }
        if baseline not in tables:
            continue
        grid = tables[baseline].columns.to_numpy(dtype=float)
        base = resampled_means(
            _filled(tables[baseline]), group_rng(seed, *values, baseline, "speedup"), n_boot
        )
        target = base[:, -1]
        base_time = _first_times(base, target, grid)
        for algorithm, table in tables.items():
            lo = hi = np.nan
            if algorithm != baseline:
                means = resampled_means(
                    _filled(table), group_rng(seed, *values, algorithm, "speedup"), n_boot
                )
                times = _first_times(means, target, grid)
                ratio = np.where(
                    np.isfinite(times) & (times > 0), base_time / np.where(times > 0, times, 1), 0.0
                )
                lo, hi = np.quantile(ratio, [alpha, 1 - alpha])
            rows.append(
                {
                    **dict(zip(setting, values, strict=True)),
                    ALGORITHM: algorithm,
                    "speedup_lo": lo,
                    "speedup_hi": hi,
                }
            )
    return pd.DataFrame(rows, columns=[*setting, ALGORITHM, "speedup_lo", "speedup_hi"])


def _filled(table: pd.DataFrame) -> np.ndarray:
    """Seeds x times; a seed with no result yet counts as the worst error, as in `anytime_bands`."""
    return table.fillna(1.0).to_numpy(dtype=float)


def _first_times(means: np.ndarray, target: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Per row of `means`: the first grid time at which it is <= that row's target (inf if never)."""
    reached = means <= target[:, None] + 1e-12
    return np.where(reached.any(axis=1), grid[reached.argmax(axis=1)], np.inf)


def _first_time(curve: pd.DataFrame, target: float) -> float:
    reached = curve[curve["mean"] <= target + 1e-12]
    return float(reached["t"].iloc[0]) if len(reached) else np.inf


def final_incumbents(rows: pd.DataFrame, keys: list[str] | None = None) -> pd.DataFrame:
    """One row per run (`keys`; default: setting, algorithm, seed): its best validation error, that
    result's test error, and `config_error` (what its config is worth) where the rows have it.

    A tie on validation error goes to the earlier result, then the lower trial id.
    """
    keys = keys or [*setting_keys(rows), ALGORITHM, SEED]
    ordered = rows.sort_values([*keys, VAL_ERROR, T_END, TRIAL_ID], kind="stable")
    best = ordered.drop_duplicates(keys, keep="first")
    values = [VAL_ERROR, TEST_ERROR] + ([CONFIG_ERROR] if CONFIG_ERROR in rows else [])
    return best[[*keys, *values]].reset_index(drop=True)


def final_summary(rows: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """Per setting and algorithm: each run's final incumbent, its validation and test error and,
    where the rows have it, what its config is worth (mean and band over seeds).

    A run stops starting work at its budget and finishes what it started, so its final
    incumbent is the best of all its results. Its validation error is one training's reading,
    the one the algorithm picked it by; `worth` (its config's seed mean) is what it is scored by.
    """
    setting = setting_keys(rows)
    columns = {"val": VAL_ERROR, "test": TEST_ERROR}
    if CONFIG_ERROR in rows:
        columns["worth"] = CONFIG_ERROR
    records = []
    for values, part in final_incumbents(rows).groupby([*setting, ALGORITHM], sort=True):
        record = {**dict(zip([*setting, ALGORITHM], values, strict=True)), "seeds": len(part)}
        for short, column in columns.items():
            mean, lo, hi = bootstrap_mean(
                part[column].to_numpy(dtype=float)[:, None], group_rng(seed, *values, short)
            )
            name = "worth" if short == "worth" else column
            record.update({name: float(mean[0]), f"{short}_lo": float(lo[0]), f"{short}_hi": float(hi[0])})
        records.append(record)
    return pd.DataFrame(records)
