"""Which method to trust: regret, paired tests against a baseline, ranks across the benchmark.

Plain functions over DataFrames. Input is each run's final incumbent (one row per setting,
algorithm and seed); the tests come from scipy.stats, statsmodels and scikit-posthocs.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import scikit_posthocs
from scipy import stats
from statsmodels.stats.multitest import multipletests

from reports.anytime import setting_keys
from reports.plan import CacheFacts
from reports.schema import ALGORITHM, CONFIG_ERROR, MODEL, SEED, VAL_ERROR

__all__ = [
    "average_ranks",
    "block_matrix",
    "critical_difference",
    "friedman",
    "nemenyi",
    "paired_against",
    "rank_biserial",
    "with_regret",
]


def with_regret(finals: pd.DataFrame, reference: Mapping[str, CacheFacts]) -> pd.DataFrame:
    """Add `regret` (the incumbent config's worth - the cache's best config) and `normalised_regret`
    (over best..worst).

    `reference[model]` holds `best` and `worst`: the lowest and highest seed-mean validation
    error over the cache's configs. The incumbent is measured by `config_error`, what its config
    is worth on the same scale, so a lucky training does not read as negative regret (the
    validation error it reported where rows lack that column). A normalised regret of 0 is the
    best config, 1 the worst, so models with different error scales can be ranked together.
    """
    best = finals[MODEL].map(lambda m: reference[m].best)
    worst = finals[MODEL].map(lambda m: reference[m].worst)
    worth = finals[CONFIG_ERROR] if CONFIG_ERROR in finals else finals[VAL_ERROR]
    regret = worth - best
    return finals.assign(regret=regret, normalised_regret=regret / (worst - best))


def paired_against(finals: pd.DataFrame, baseline: str = "random", value: str = VAL_ERROR) -> pd.DataFrame:
    """Per setting, every algorithm against `baseline`, paired by seed: a two-sided Wilcoxon
    signed-rank test, Holm-corrected over the algorithms of the setting.

    Columns: the median paired difference (algorithm - baseline; negative: the algorithm is
    better), the matched-pairs rank-biserial correlation (-1: better on every seed, +1: worse
    on every seed), the raw and the Holm-adjusted p-value, and the number of pairs. Seeds that
    either side lacks are left out; fewer than two pairs, or all differences zero, give no p.
    """
    setting = setting_keys(finals)
    records = []
    for values, part in finals.groupby(setting, sort=True):
        table = part.pivot(index=SEED, columns=ALGORITHM, values=value)
        if baseline not in table:
            continue
        found = []
        for algorithm in table.columns:
            if algorithm == baseline:
                continue
            pairs = table[[algorithm, baseline]].dropna()
            diff = (pairs[algorithm] - pairs[baseline]).to_numpy(dtype=float)
            p = np.nan
            if len(diff) >= 2 and np.any(diff != 0):
                p = float(stats.wilcoxon(diff, zero_method="wilcox", alternative="two-sided").pvalue)
            found.append(
                {
                    **dict(zip(setting, values if isinstance(values, tuple) else (values,), strict=True)),
                    ALGORITHM: algorithm,
                    "pairs": len(diff),
                    "median_difference": float(np.median(diff)) if len(diff) else np.nan,
                    "rank_biserial": rank_biserial(diff),
                    "p": p,
                }
            )
        tested = [r for r in found if not np.isnan(r["p"])]
        if tested:
            adjusted = multipletests([r["p"] for r in tested], method="holm")[1]
            for record, p_holm in zip(tested, adjusted, strict=True):
                record["p_holm"] = float(p_holm)
        records.extend(found)
    columns = [*setting, ALGORITHM, "pairs", "median_difference", "rank_biserial", "p", "p_holm"]
    return pd.DataFrame(records, columns=columns)


def rank_biserial(diff: np.ndarray) -> float:
    """Matched-pairs rank-biserial correlation of paired differences: (R+ - R-) / (R+ + R-), zeros dropped."""
    diff = np.asarray(diff, dtype=float)
    diff = diff[diff != 0]
    if not len(diff):
        return np.nan
    ranks = stats.rankdata(np.abs(diff))
    return float((ranks[diff > 0].sum() - ranks[diff < 0].sum()) / ranks.sum())


def block_matrix(finals: pd.DataFrame, value: str = "normalised_regret") -> pd.DataFrame:
    """Blocks (model, seed) x algorithms of `value`, for one (workers, budget) setting; incomplete blocks dropped."""
    table = finals.pivot_table(index=[MODEL, SEED], columns=ALGORITHM, values=value, aggfunc="first")
    return table.dropna()


def average_ranks(blocks: pd.DataFrame) -> pd.Series:
    """Each algorithm's rank within a block (1 = lowest value, ties share their average), averaged over blocks."""
    ranks = blocks.rank(axis=1, method="average")
    return ranks.mean(axis=0).sort_values()


def friedman(blocks: pd.DataFrame) -> tuple[float, float]:
    """Friedman's chi-square statistic and p-value over the blocks (needs at least three algorithms)."""
    if blocks.shape[1] < 3 or blocks.shape[0] < 2:
        return np.nan, np.nan
    result = stats.friedmanchisquare(*(blocks[c].to_numpy(dtype=float) for c in blocks.columns))
    return float(result.statistic), float(result.pvalue)


def nemenyi(blocks: pd.DataFrame) -> pd.DataFrame:
    """Pairwise Nemenyi p-values after Friedman (algorithms x algorithms)."""
    return scikit_posthocs.posthoc_nemenyi_friedman(blocks.reset_index(drop=True))


def critical_difference(n_algorithms: int, n_blocks: int, alpha: float = 0.05) -> float:
    """Nemenyi's critical difference of average ranks: q_alpha * sqrt(k (k + 1) / (6 N))."""
    k = n_algorithms
    q = stats.studentized_range.ppf(1 - alpha, k, np.inf) / np.sqrt(2)
    return float(q * np.sqrt(k * (k + 1) / (6.0 * n_blocks)))
