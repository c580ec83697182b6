"""The report's figures: the same bytes in every process, no change to matplotlib's global state."""

from __future__ import annotations

import os
import subprocess
import sys

import matplotlib as mpl
import numpy as np
import pandas as pd

from reports import figures
from reports.progress import _corners

NAMES = ["random", "bo", "sh", "asha", "hyperband"]
SCRIPT = """
import hashlib, pandas as pd
from reports import figures
names = {names!r}
ranks = pd.Series([3.1, 2.2, 2.9, 1.6, 2.2], index=names)
# p = 1 everywhere: no pair told apart, so one bar joins all five (drawn from a set of labels)
significance = pd.DataFrame(1.0, index=names, columns=names)
png = figures.critical_difference_figure(ranks, significance, figures.palette(names), "t")
print(hashlib.sha256(png.encode()).hexdigest())
"""


def test_the_critical_difference_diagram_has_the_same_bytes_whatever_the_string_hashing() -> None:
    # scikit-posthocs iterates sets of labels; with algorithm names as labels, the bars' points came
    # in an order set by PYTHONHASHSEED and two runs of one comparison gave two reports
    digests = set()
    for hash_seed in ("0", "1", "2"):
        env = dict(os.environ, PYTHONHASHSEED=hash_seed)
        done = subprocess.run(
            [sys.executable, "-c", SCRIPT.format(names=NAMES)],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            check=True,
        )
        digests.add(done.stdout.strip())
    assert len(digests) == 1


def test_a_figure_leaves_matplotlib_global_state_alone() -> None:
    before, black = dict(mpl.rcParams), mpl.colors.to_rgb("k")
    ranks = pd.Series([2.0, 1.0, 3.0], index=NAMES[:3])
    significance = pd.DataFrame(0.01, index=ranks.index, columns=ranks.index)
    png = figures.critical_difference_figure(ranks, significance, figures.palette(ranks.index), "t")
    assert png.startswith("data:image/png;base64,")
    assert dict(mpl.rcParams) == before
    assert mpl.colors.to_rgb("k") == black  # seaborn's colour codes stay seaborn's, inside the figure


def test_the_progress_line_through_its_corners_is_the_line_through_every_result(rng) -> None:
    # the best-so-far step line is drawn through the points where it changes (a handful) rather
    # than one per result (a million in a long replay); read as a post-step function it must give
    # every result's best so far, and end at the last result: a dropped improvement, a corner
    # shifted by one, or a line that stops at the last improvement fails
    for errors in (rng.random(500), np.full(7, 0.5), np.array([0.3]), np.sort(rng.random(50))[::-1]):
        best = np.minimum.accumulate(errors)
        x = np.cumsum(rng.random(len(errors)))
        cx, cy = _corners(x, best)
        assert cx[-1] == x[-1] and len(cx) <= len(x)
        at = np.searchsorted(cx, x, side="right") - 1
        np.testing.assert_array_equal(cy[at], best)
