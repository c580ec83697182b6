"""The bootstrap bands of the report: scipy's resampling, the percentile band, NaN-aware."""

from __future__ import annotations

import numpy as np
import pytest

from reports.anytime import bootstrap_mean, resampled_means


def _by_hand(values: np.ndarray, rng: np.random.Generator, n_boot: int) -> np.ndarray:
    """The percentile bootstrap's resampled means, written out: rows drawn with replacement."""
    picks = rng.integers(0, values.shape[0], size=(n_boot, values.shape[0]))
    return np.nanmean(values[picks], axis=1)


@pytest.mark.parametrize(("seeds", "times"), [(2, 1), (7, 5), (40, 13)])
def test_resampled_means_are_the_means_of_seeds_drawn_with_replacement(seeds, times) -> None:
    # the same draws as the hand-written bootstrap the reports used before scipy's: their bands,
    # and the comparison table printed from them, keep their bytes
    values = np.random.default_rng(seeds).random((seeds, times))
    ours = resampled_means(values, np.random.default_rng(5), 300)
    assert ours.shape == (300, times)
    assert np.array_equal(ours, _by_hand(values, np.random.default_rng(5), 300))


def test_the_band_holds_the_mean_and_narrows_with_more_seeds() -> None:
    rng = np.random.default_rng(0)
    few, many = rng.normal(0.3, 0.1, (10, 1)), rng.normal(0.3, 0.1, (1000, 1))
    widths = []
    for values in (few, many):
        mean, lo, hi = bootstrap_mean(values, np.random.default_rng(1))
        assert lo[0] < mean[0] < hi[0]
        widths.append(hi[0] - lo[0])
    # the band's width goes as 1/sqrt(seeds): 100x the seeds, a tenth of the width (a quarter
    # leaves room for ten seeds' own spread, whose standard deviation varies by about a quarter)
    assert widths[1] < widths[0] / 4


def test_one_seed_is_its_own_band_and_a_missing_value_is_skipped() -> None:
    mean, lo, hi = bootstrap_mean(np.array([[0.25, 0.5]]), np.random.default_rng(0))
    assert mean.tolist() == lo.tolist() == hi.tolist() == [0.25, 0.5]
    values = np.array([[0.1], [np.nan], [0.3], [0.2]])
    mean, lo, hi = bootstrap_mean(values, np.random.default_rng(0))
    assert mean[0] == pytest.approx(0.2) and 0.1 <= lo[0] < hi[0] <= 0.3
