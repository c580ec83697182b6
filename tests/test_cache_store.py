from __future__ import annotations

import json

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from cachefixtures import write_cache

from cache.configid import config_id
from cache.schema import CacheError
from cache.store import CurveStore
from cache.verify import verify_model


def test_config_id_is_stable_and_order_free() -> None:
    config = {"learning_rate": 0.1, "batch_size": 256}
    # pinned: a change here silently orphans every shipped cache
    assert config_id("softmax", config) == config_id("softmax", {"batch_size": 256, "learning_rate": 0.1})
    assert config_id("softmax", config) == "3a5d26e10c1022d0"
    assert config_id("lenet", config) != config_id("softmax", config)
    assert config_id("softmax", {**config, "learning_rate": 0.1 + 1e-12}) != config_id("softmax", config)


def test_write_read_compact(tmp_path) -> None:
    store = write_cache(tmp_path, n_configs=8, seeds=2, epochs=3)
    assert store.models() == ["softmax"]
    assert store.part_paths("softmax") == {}
    assert len(store.shard_paths("softmax")) == 1
    table, metas = store.read("softmax")
    assert table.num_rows == 8 * 2 * 3
    assert metas[0]["model"] == "softmax"
    assert verify_model(store, "softmax") == {"configs": 8, "curves": 16, "rows": 48, "files": 1}


def test_parts_already_in_a_shard_are_ignored(tmp_path) -> None:
    store = write_cache(tmp_path, n_configs=4, seeds=1, epochs=2)
    # an interrupted compaction: the shard is listed, a part it covers was not yet deleted
    table, _ = store.read("softmax")
    first = table.slice(0, 2)
    cid = first["config_id"][0].as_py()
    import pyarrow as pa

    meta = pq.read_schema(store.shard_paths("softmax")[0]).metadata
    store.write_part(
        "softmax", cid, 0, pa.Table.from_batches(first.to_batches()).replace_schema_metadata(meta)
    )
    again, _ = store.read("softmax")
    assert again.num_rows == table.num_rows
    verify_model(store, "softmax")
    store.compact("softmax")
    assert store.part_paths("softmax") == {}


def test_leftover_temporary_files_are_removed(tmp_path) -> None:
    store = write_cache(tmp_path, n_configs=4, seeds=1, epochs=2)
    stray = store.model_dir("softmax") / "parts" / ".abc.parquet.123.tmp"
    stray.parent.mkdir(exist_ok=True)
    stray.write_bytes(b"half")
    unlisted = store.model_dir("softmax") / "shard-0099-0000.parquet"
    unlisted.write_bytes(b"old")
    assert store.read("softmax")[0].num_rows == 8  # neither is read
    store.remove_leftovers("softmax")
    assert not stray.exists() and not unlisted.exists()


def test_truncated_file_is_one_clear_line(tmp_path) -> None:
    store = write_cache(tmp_path, n_configs=4, seeds=1, epochs=2)
    shard = store.shard_paths("softmax")[0]
    shard.write_bytes(shard.read_bytes()[:-200])
    with pytest.raises(CacheError, match=rf"{shard}: unreadable Parquet file") as info:
        verify_model(store, "softmax")
    assert "\n" not in str(info.value)


def test_unknown_schema_version(tmp_path) -> None:
    store = write_cache(tmp_path, n_configs=4, seeds=1, epochs=2)
    path = store.model_dir("softmax") / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["schema_version"] = 99
    path.write_text(json.dumps(manifest))
    with pytest.raises(CacheError, match="unknown schema version 99"):
        verify_model(store, "softmax")


def test_rows_of_another_model(tmp_path) -> None:
    other = write_cache(tmp_path / "other", model="lenet", n_configs=4, seeds=1, epochs=2)
    store = write_cache(tmp_path / "main", n_configs=4, seeds=1, epochs=2)
    stray = other.shard_paths("lenet")[0]
    target = store.model_dir("softmax") / "parts" / f"{'0' * 16}-s0.parquet"
    target.parent.mkdir(exist_ok=True)
    target.write_bytes(stray.read_bytes())
    with pytest.raises(CacheError, match="holds rows of model 'lenet', not 'softmax'"):
        verify_model(store, "softmax")


def test_gaps_and_duplicates_are_found(tmp_path) -> None:
    import pyarrow as pa
    import pyarrow.compute as pc

    store = write_cache(tmp_path, n_configs=4, seeds=1, epochs=3)
    shard = store.shard_paths("softmax")[0]
    table = pq.read_table(shard)
    meta = table.schema.metadata
    gap = table.filter(
        pc.invert(pc.and_(pc.equal(table["epoch"], 2), pc.equal(table["config_id"], table["config_id"][0])))
    )
    pq.write_table(gap.replace_schema_metadata(meta), shard)
    with pytest.raises(CacheError, match="has gaps"):
        verify_model(store, "softmax")
    pq.write_table(pa.concat_tables([table, table.slice(0, 1)]).replace_schema_metadata(meta), shard)
    with pytest.raises(CacheError, match="duplicate row"):
        verify_model(store, "softmax")


def test_empty_store() -> None:
    assert CurveStore("/nonexistent/place").models() == []


def test_short_curves_are_found(tmp_path) -> None:
    import pyarrow.compute as pc

    store = write_cache(tmp_path, n_configs=4, seeds=1, epochs=3)
    shard = store.shard_paths("softmax")[0]
    table = pq.read_table(shard)
    short = table.filter(
        pc.invert(pc.and_(pc.equal(table["epoch"], 3), pc.equal(table["config_id"], table["config_id"][0])))
    )
    pq.write_table(short.replace_schema_metadata(table.schema.metadata), shard)
    with pytest.raises(CacheError, match=r"has 2 epochs; the manifest collected \[3\]"):
        verify_model(store, "softmax")


def test_shipped_caches_verify_and_name_the_run_of_every_row() -> None:
    from cache.locations import SHIPPED_ROOT
    from cache.schema import RUN_COLUMN

    store = CurveStore(SHIPPED_ROOT)
    assert store.models() == ["lenet", "sgd", "softmax", "svm"]
    for model in store.models():
        assert verify_model(store, model)["curves"] > 0
        table, _ = store.read(model)
        assert pc.min(table[RUN_COLUMN]).as_py() >= 0, model  # replays' one clock needs every run
