"""Statistics of a comparison on hand-made results with known answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from reports.anytime import final_incumbents
from reports.plan import CacheFacts
from reports.statistics import (
    average_ranks,
    block_matrix,
    critical_difference,
    friedman,
    nemenyi,
    paired_against,
    rank_biserial,
    with_regret,
)


def finals(values: dict[str, list[float]], model: str = "m") -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"model": model, "algorithm": a, "seed": s, "val_error": v, "test_error": v + 0.01}
            for a, seeds in values.items()
            for s, v in enumerate(seeds)
        ]
    )


def test_final_incumbent_is_the_best_validation_error_with_its_own_test_error() -> None:
    rows = pd.DataFrame(
        {
            "model": "m",
            "algorithm": "a",
            "seed": [0, 0, 0, 1],
            "trial_id": [0, 1, 2, 0],
            "t_end": [1.0, 2.0, 3.0, 1.0],
            "val_error": [0.3, 0.1, 0.1, 0.5],
            "test_error": [0.2, 0.15, 0.11, 0.4],
        }
    )
    got = final_incumbents(rows).set_index("seed")
    # a tie on validation error goes to the earlier result, whose test error is reported
    assert got.loc[0, "val_error"] == 0.1 and got.loc[0, "test_error"] == 0.15
    assert got.loc[1, "test_error"] == 0.4


def test_regret_against_the_caches_best_and_worst_config() -> None:
    got = with_regret(finals({"a": [0.15, 0.25]}), {"m": CacheFacts(10, best=0.1, worst=0.9)})
    np.testing.assert_allclose(got["regret"], [0.05, 0.15])
    np.testing.assert_allclose(got["normalised_regret"], [0.05 / 0.8, 0.15 / 0.8])


def test_average_ranks_with_ties_by_hand() -> None:
    blocks = pd.DataFrame({"a": [1.0, 3.0], "b": [2.0, 1.0], "c": [2.0, 2.0]})
    # block 1: a 1, b and c tie for 2 and 3 -> 2.5 each; block 2: a 3, b 1, c 2
    assert average_ranks(blocks).to_dict() == {"b": 1.75, "a": 2.0, "c": 2.25}


def test_friedman_statistic_by_hand() -> None:
    # four blocks that all order a < b < c, rank sums R = 4, 8, 12:
    # chi2 = 12 / (N k (k + 1)) * sum(R_j^2) - 3 N (k + 1) = 12 / 48 * 224 - 48 = 8
    blocks = pd.DataFrame({"a": [0.1, 0.2, 0.3, 0.1], "b": [0.2, 0.3, 0.4, 0.5], "c": [0.9, 0.8, 0.7, 0.6]})
    statistic, p = friedman(blocks)
    assert statistic == pytest.approx(8.0)
    assert p == pytest.approx(np.exp(-4.0))  # chi-square with 2 degrees of freedom: sf(x) = exp(-x / 2)
    assert np.isnan(friedman(blocks[["a", "b"]])[0])  # two algorithms: no Friedman test


def test_critical_difference_matches_demsars_table() -> None:
    # Demsar (2006), Table 5(a): q_0.05 = 2.569 for k = 4, so CD = 2.569 * sqrt(4 * 5 / (6 N))
    assert critical_difference(4, 6) == pytest.approx(2.569 * np.sqrt(20 / 36), abs=1e-3)
    assert critical_difference(3, 10) == pytest.approx(2.343 * np.sqrt(12 / 60), abs=1e-3)


def test_nemenyi_separates_the_algorithm_that_always_wins() -> None:
    rng = np.random.default_rng(0)
    blocks = pd.DataFrame(
        {"good": rng.uniform(0, 0.1, 30), "x": rng.uniform(0.2, 0.4, 30), "y": rng.uniform(0.2, 0.4, 30)}
    )
    p = nemenyi(blocks)
    assert p.loc["good", "x"] < 0.001 and p.loc["good", "y"] < 0.001 and p.loc["x", "y"] > 0.05


def test_paired_wilcoxon_with_holm_by_hand() -> None:
    base = [0.30, 0.31, 0.32, 0.33, 0.34, 0.35, 0.36, 0.37, 0.38, 0.39]
    better = [b - 0.01 * (i + 1) for i, b in enumerate(base)]  # better on every seed, distinct gaps
    mixed = [b + (0.01 if i % 2 else -0.011) for i, b in enumerate(base)]
    got = paired_against(finals({"random": base, "better": better, "mixed": mixed})).set_index("algorithm")
    # exact two-sided p of 10 pairs all of one sign: 2 / 2^10
    assert got.loc["better", "p"] == pytest.approx(2 / 2**10)
    assert got.loc["better", "rank_biserial"] == -1.0
    assert got.loc["better", "median_difference"] == pytest.approx(-0.055)
    # Holm: the smallest p times the number of tests, the next times one (kept monotone)
    assert got.loc["better", "p_holm"] == pytest.approx(2 * 2 / 2**10)
    assert got.loc["mixed", "p_holm"] == pytest.approx(max(got.loc["mixed", "p"], 2 * 2 / 2**10))
    # gaps of one size either way: no evidence (R+ = 15 against R- = 40 of 55)
    assert got.loc["mixed", "p"] > 0.2 and got["pairs"].eq(10).all()


def test_paired_without_the_baseline_or_with_identical_runs() -> None:
    assert paired_against(finals({"a": [0.1, 0.2], "b": [0.2, 0.1]})).empty
    same = paired_against(finals({"random": [0.1, 0.2, 0.3], "a": [0.1, 0.2, 0.3]})).iloc[0]
    assert np.isnan(same["p"]) and np.isnan(same["rank_biserial"])


def test_rank_biserial_by_hand() -> None:
    # |d| ranks 1, 2, 3; positive ranks 1 + 3, negative 2: (4 - 2) / 6
    assert rank_biserial(np.array([0.1, -0.2, 0.3, 0.0])) == pytest.approx(2 / 6)


def test_block_matrix_drops_incomplete_blocks() -> None:
    frame = pd.concat([finals({"a": [0.1, 0.2], "b": [0.3]}), finals({"a": [0.5], "b": [0.4]}, model="n")])
    frame = frame.assign(normalised_regret=frame["val_error"])
    blocks = block_matrix(frame)
    assert list(blocks.index) == [("m", 0), ("n", 0)]


def test_words_where_there_is_no_number() -> None:
    from reports.formatting import correlation_text, number, speedup_text, versus_text, with_band

    assert with_band(float("nan"), float("nan"), float("nan")) == "no result"
    assert with_band(0.12345, 0.1, 0.2) == "0.1235 [0.1000, 0.2000]"
    assert speedup_text(float("nan"), float("nan"), float("nan")) == "-"  # no baseline
    assert speedup_text(float("nan"), 0.0, 0.0) == "never"  # a band but no point: never reached
    assert number(float("inf")) == "never" and number(0.0004, p=True) == "< 0.001"
    assert correlation_text(float("nan"), 2) == "too few results (2)"
    assert versus_text(0.0, float("nan"), float("nan")) == "+0.0000 (no difference on any seed)"


def test_every_algorithm_keeps_its_colour_whatever_else_is_compared() -> None:
    from reports.figures import palette

    assert palette(["asha", "random"])["asha"] == palette(["asha", "bo", "mine"])["asha"]
    mine = palette(["mine", "random"])["mine"]
    assert mine not in [palette([])[a] for a in ("random", "bo", "sh", "hyperband", "asha")]
