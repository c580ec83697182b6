"""Fitted surrogates kept on disk: reused when nothing they depend on changed, refitted otherwise."""

from __future__ import annotations

import os

import numpy as np
import pytest

from cache.lookup import fitted
from cache.lookup.blackbox import BlackBox
from cache.lookup.surrogate import Surrogate
from cache.store.tables import read_model
from tests.support.cachefixtures import write_cache


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("curves")
    write_cache(root, n_configs=24, seeds=2, epochs=4)
    return root


@pytest.fixture
def fits(monkeypatch):
    """Count Surrogate.fit calls; every fit counts as slow, so each one is kept."""
    monkeypatch.setattr(fitted, "SLOW_FIT_SECONDS", 0.0)
    calls = []
    real_fit = Surrogate.fit.__func__

    def counting_fit(cls, *args, **kwargs):
        calls.append(args)
        return real_fit(cls, *args, **kwargs)

    monkeypatch.setattr(Surrogate, "fit", classmethod(counting_fit))
    return calls


def _curves(bench: BlackBox) -> np.ndarray:
    probe = [{"learning_rate": 10.0**-e, "batch_size": b} for e in (0.5, 1.5, 3.0) for b in (40, 300)]
    return np.array(
        [[[c.val_error, c.test_error, c.seconds] for c in bench.evaluations(p, 1)] for p in probe]
    )


def test_a_slow_fit_is_kept_and_loaded_with_the_same_predictions(cache_dir, fits) -> None:
    first = BlackBox.load("softmax", "surrogate", cache_dir, regressor="gp")
    assert len(fits) == 1 and len(list(fitted.surrogate_dir().glob("softmax-gp-*.pkl"))) == 1
    second = BlackBox.load("softmax", "surrogate", cache_dir, regressor="gp")
    assert len(fits) == 1  # loaded, not refitted
    assert np.array_equal(_curves(first), _curves(second))


def test_a_fast_fit_is_not_kept(cache_dir, fits, monkeypatch) -> None:
    monkeypatch.setattr(fitted, "SLOW_FIT_SECONDS", 1e9)
    BlackBox.load("softmax", "surrogate", cache_dir, regressor="knn")
    BlackBox.load("softmax", "surrogate", cache_dir, regressor="knn")
    assert len(fits) == 2 and not fitted.surrogate_dir().exists()


def test_other_curves_a_regressor_or_a_seed_mean_another_fit(cache_dir, fits) -> None:
    rows, _, space = read_model("softmax", cache_dir)
    BlackBox("softmax", rows, space, "surrogate", regressor="knn")
    changed = rows.copy()
    changed.loc[changed.index[-1], "val_error"] += 0.01  # one epoch of one curve
    BlackBox("softmax", changed, space, "surrogate", regressor="knn")
    BlackBox("softmax", rows, space, "surrogate", regressor="forest")
    BlackBox("softmax", rows, space, "surrogate", regressor="knn", seed=1)
    assert len(fits) == 4 and len(list(fitted.surrogate_dir().glob("*.pkl"))) == 4
    BlackBox("softmax", rows, space, "surrogate", regressor="knn")
    assert len(fits) == 4


@pytest.mark.parametrize("damage", [b"", b"not a pickle", None])
def test_a_damaged_file_is_refitted_and_replaced(cache_dir, fits, damage) -> None:
    first = BlackBox.load("softmax", "surrogate", cache_dir, regressor="knn")
    (path,) = fitted.surrogate_dir().glob("*.pkl")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2] if damage is None else damage)
    second = BlackBox.load("softmax", "surrogate", cache_dir, regressor="knn")
    assert len(fits) == 2 and np.array_equal(_curves(first), _curves(second))
    BlackBox.load("softmax", "surrogate", cache_dir, regressor="knn")
    assert len(fits) == 2  # the replacement is read back


def test_cross_validation_folds_are_never_kept(cache_dir, fits) -> None:
    bench = BlackBox.load("softmax", "tabular", cache_dir)
    fitted.load_or_fit(bench, "knn", 0, config_subset=range(12))
    assert len(fits) == 1 and not fitted.surrogate_dir().exists()


def _with_changed_curve(rows, shift: float):
    changed = rows.copy()
    changed.loc[changed.index[-1], "val_error"] += shift
    return changed


def _age(paths, start: float = 1e9) -> None:
    """Give files distinct modification times, oldest first (file systems may round them)."""
    for i, path in enumerate(paths):
        os.utime(path, (start + i, start + i))


def test_only_the_most_recently_used_fits_of_a_regressor_are_kept(cache_dir, fits, monkeypatch) -> None:
    monkeypatch.setattr(fitted, "KEEP_PER_REGRESSOR", 3)
    rows, _, space = read_model("softmax", cache_dir)
    BlackBox("softmax", rows, space, "surrogate", regressor="forest")  # another regressor: untouched
    made = []
    for i in range(3):
        bench = BlackBox(
            "softmax", _with_changed_curve(rows, 0.01 * (i + 1)), space, "surrogate", regressor="knn"
        )
        made.append(fitted.surrogate_path(bench, "knn", 0))
    _age(made)
    # reading the oldest marks it used: the next new fit replaces the second one instead
    BlackBox("softmax", _with_changed_curve(rows, 0.01), space, "surrogate", regressor="knn")
    newest = BlackBox("softmax", _with_changed_curve(rows, 0.04), space, "surrogate", regressor="knn")
    kept = set(fitted.surrogate_dir().glob("softmax-knn-*.pkl"))
    assert kept == {made[0], made[2], fitted.surrogate_path(newest, "knn", 0)}
    assert len(list(fitted.surrogate_dir().glob("softmax-forest-*.pkl"))) == 1
    assert len(fits) == 5


def test_prune_leaves_files_it_did_not_write(cache_dir, fits) -> None:
    BlackBox.load("softmax", "surrogate", cache_dir, regressor="knn")
    (ours,) = fitted.surrogate_dir().glob("softmax-knn-*.pkl")
    foreign = [fitted.surrogate_dir() / name for name in ("softmax-knn-notes.pkl", "softmax-knn-x.txt")]
    for path in foreign:
        path.write_bytes(b"mine")
    assert fitted.prune("softmax", "knn", keep=0) == [ours]
    assert all(path.exists() for path in foreign) and not ours.exists()
