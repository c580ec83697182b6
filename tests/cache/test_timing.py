"""Which run trained each row, and one clock for trainings timed by different runs."""

from __future__ import annotations

import hashlib

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from cache.lookup.blackbox import BlackBox
from cache.store.schema import RUN_COLUMN, CacheError, decode_metadata, encode_metadata
from cache.store.shards import CurveStore, provenance
from cache.store.tables import read_model
from cache.store.timing import clock_factors
from cache.store.verify import verify_model
from tests.support.cachefixtures import write_cache

FAST, SLOW, OTHER = {"command": "fast", "cpu": "A"}, {"command": "slow", "cpu": "B"}, {"command": "other"}


def test_a_slower_run_is_put_on_the_clock_of_the_largest_run() -> None:
    rng = np.random.default_rng(0)
    config_seconds = rng.uniform(0.5, 5.0, size=(6, 1, 1)) * np.ones((6, 3, 4))
    runs = np.array([[0, 1, 1]] * 4 + [[1, 1, 1], [0, 0, 0]])  # run 1 is the larger one
    recorded = config_seconds * np.where(runs == 0, 3.0, 1.0)[:, :, None]
    factors = clock_factors(recorded, runs)
    np.testing.assert_allclose(factors, np.where(runs == 0, 1 / 3, 1.0), rtol=1e-9)
    # config 5 was timed by the slow run alone: it is rescaled all the same
    np.testing.assert_allclose(recorded[5] * factors[5][:, None], config_seconds[5], rtol=1e-9)


def test_runs_with_no_config_in_common_keep_their_seconds() -> None:
    seconds = np.array([[[1.0, 1.0]], [[1.0, 1.0]], [[9.0, 9.0]]])
    runs = np.array([[0], [0], [7]])
    assert clock_factors(seconds, runs).tolist() == [[1.0], [1.0], [1.0]]


def test_unknown_run_is_a_run_of_its_own_and_untimed_trainings_keep_factor_one() -> None:
    seconds = np.array([[[2.0], [4.0], [np.nan]], [[1.0], [2.0], [0.0]]])
    runs = np.array([[-1, 3, 3], [-1, 3, 3]])
    factors = clock_factors(seconds, runs)
    # run 3 timed the most trainings (four, two of them without seconds): it is the reference
    np.testing.assert_allclose(factors, [[2.0, 1.0, 1.0], [2.0, 1.0, 1.0]])


def _two_run_cache(tmp_path, compact: bool = True) -> CurveStore:
    # seed 1 of every config, and seed 0 of config 0, was timed three times slower
    return write_cache(
        tmp_path,
        n_configs=4,
        seeds=2,
        epochs=2,
        run_of=lambda i, seed: (SLOW, 3.0) if seed == 1 or i == 0 else (FAST, 1.0),
        compact=compact,
    )


def test_compaction_keeps_each_rows_run(tmp_path) -> None:
    store = _two_run_cache(tmp_path)
    table, metas = store.read("softmax")
    (meta,) = metas
    assert meta["schema_version"] == 2 and meta["provenance"] in ([SLOW, FAST], [FAST, SLOW])
    rows = table.to_pandas()
    named = [meta["provenance"][r]["command"] for r in rows[RUN_COLUMN]]
    slow = rows["epoch_seconds"] > 2 * (0.1 + 0.001 * rows["batch_size"])
    assert named == ["slow" if s else "fast" for s in slow] and sum(slow) == 5 * 2
    # a second run's parts compacted into the shard join its runs, renumbered
    write_cache(tmp_path, n_configs=4, seeds=3, epochs=2, run_of=lambda i, s: (OTHER, 1.0), compact=False)
    store.compact("softmax")
    table, (meta,) = store.read("softmax")
    rows = table.to_pandas()
    assert len(meta["provenance"]) == 3
    assert {meta["provenance"][r]["command"] for r in rows[rows["train_seed"] == 2][RUN_COLUMN]} == {"other"}
    assert [meta["provenance"][r]["command"] for r in rows[rows["train_seed"] < 2][RUN_COLUMN]] == named
    assert verify_model(store, "softmax")["curves"] == 12


def test_benchmark_replays_on_one_clock(tmp_path) -> None:
    _two_run_cache(tmp_path)
    benchmark = BlackBox.load("softmax", cache_dir=tmp_path)
    usual = np.array([0.1 + 0.001 * c["batch_size"] for c in benchmark.configs])[:, None]
    slow = benchmark.recorded_seconds[:, :, 0] > 2 * usual
    assert slow.sum() == 5
    ratio = benchmark.recorded_seconds / benchmark.epoch_seconds
    # the fast run timed 3 trainings, the slow one 5: the slow run is the reference clock
    np.testing.assert_allclose(ratio[~slow], 1 / 3, rtol=1e-5)
    np.testing.assert_allclose(ratio[slow], 1.0, rtol=1e-5)
    np.testing.assert_allclose(benchmark.epoch_seconds[:, 0], benchmark.epoch_seconds[:, 1], rtol=1e-5)


def _rewrite_shard(store: CurveStore, change) -> None:
    (shard,) = store.shard_paths("softmax")
    table = pq.read_table(shard)
    meta = decode_metadata(table.schema, str(shard))
    table, meta = change(table.replace_schema_metadata(None), meta)
    pq.write_table(table.replace_schema_metadata(encode_metadata(meta)), shard)
    # the listing vouches for the rewritten shard, as for one that compaction wrote
    store.write_listing("softmax", {shard.name: hashlib.sha256(shard.read_bytes()).hexdigest()})


def test_version_1_files_are_read_with_their_run_when_they_list_one(tmp_path) -> None:
    store = write_cache(tmp_path / "one", n_configs=2, seeds=1, epochs=2)

    def to_version_1(table, meta):
        return table.drop_columns([RUN_COLUMN]), {**meta, "schema_version": 1}

    _rewrite_shard(store, to_version_1)
    assert set(store.read("softmax")[0][RUN_COLUMN].to_pylist()) == {0}
    store = _two_run_cache(tmp_path / "two")
    _rewrite_shard(store, to_version_1)
    assert set(store.read("softmax")[0][RUN_COLUMN].to_pylist()) == {-1}
    assert verify_model(store, "softmax")["curves"] == 8


def test_a_run_index_outside_the_files_runs_is_one_clear_line(tmp_path) -> None:
    store = _two_run_cache(tmp_path)

    def corrupt(table, meta):
        runs = np.array(table[RUN_COLUMN].to_pylist())
        runs[5] = 2
        column = table.column_names.index(RUN_COLUMN)
        return table.set_column(column, RUN_COLUMN, pa.array(runs, pa.int32())), meta

    _rewrite_shard(store, corrupt)
    with pytest.raises(CacheError, match=r"run 2 is not an index into its 2 provenance entries$"):
        verify_model(store, "softmax")


def test_runs_are_numbered_across_stores(tmp_path, monkeypatch) -> None:
    write_cache(tmp_path / "a", n_configs=2, seeds=1, epochs=2, run_of=lambda i, s: (FAST, 1.0))
    write_cache(
        tmp_path / "b", n_configs=2, seeds=2, epochs=2, run_of=lambda i, s: (SLOW if s else FAST, 1.0)
    )
    stores = [CurveStore(tmp_path / "a"), CurveStore(tmp_path / "b")]
    monkeypatch.setattr("cache.store.tables.stores", lambda cache_dir=None: stores)
    rows, metas, _ = read_model("softmax")
    runs = provenance(metas)
    assert len(runs) == 2  # FAST is listed by both stores, once here
    assert {(r.train_seed, runs[r.run]["command"]) for r in rows.itertuples()} == {(0, "fast"), (1, "slow")}
