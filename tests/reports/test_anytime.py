"""The bootstrap bands of the report: scipy's resampling, the percentile band, NaN-aware."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from reports.anytime import bootstrap_mean, resampled_means


def _by_hand(values: np.ndarray, rng: np.random.Generator, n_boot: int) -> np.ndarray:
    """The percentile bootstrap's resampled means, written out: rows drawn with replacement."""
    picks = rng.integers(0, values.shape[0], size=(n_boot, values.shape[0]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a resample of only the missing value: NaN
        return np.nanmean(values[picks], axis=1)


@pytest.mark.parametrize(("seeds", "times"), [(2, 1), (7, 5), (40, 13)])
def test_resampled_means_are_the_means_of_seeds_drawn_with_replacement(seeds, times) -> None:
    # the same draws as the rows resampled by hand, the means summed in another order (so equal to
    # the last bits: a table printed from the bands keeps its digits); a seed missing a value at
    # some times is left out of those times' means
    values = np.random.default_rng(seeds).random((seeds, times))
    values[0, 0] = np.nan
    ours = resampled_means(values, np.random.default_rng(5), 300)
    assert ours.shape == (300, times)
    np.testing.assert_allclose(ours, _by_hand(values, np.random.default_rng(5), 300), rtol=1e-12)


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
