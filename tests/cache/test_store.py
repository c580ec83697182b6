from __future__ import annotations

import json
import os

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from cache.store.configid import config_id
from cache.store.schema import CacheError
from cache.store.shards import CurveStore
from cache.store.verify import verify_model
from tests.support.cachefixtures import write_cache


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
    os.utime(stray, (0, 0))  # a temporary file of no known writer counts as abandoned once a day old
    unlisted = store.model_dir("softmax") / "shard-0099-0000.parquet"
    unlisted.write_bytes(b"old")
    assert store.read("softmax")[0].num_rows == 8  # neither is read
    store.remove_leftovers("softmax")
    assert not stray.exists() and not unlisted.exists()


def test_truncated_file_is_one_clear_line(tmp_path) -> None:
    store = write_cache(tmp_path, n_configs=4, seeds=1, epochs=2)
    shard = store.shard_paths("softmax")[0]
    shard.write_bytes(shard.read_bytes()[:-200])
    with pytest.raises(CacheError, match=rf"{shard}: content does not match the SHA-256") as info:
        verify_model(store, "softmax")
    assert "\n" not in str(info.value)
    _relist(store, shard)  # a listing that vouches for the truncated bytes: Parquet refuses them
    with pytest.raises(CacheError, match=rf"{shard}: unreadable Parquet file") as info:
        verify_model(store, "softmax")
    assert "\n" not in str(info.value)


def _relist(store: CurveStore, shard) -> None:
    """Make shards.json vouch for the shard as it is now (tests that edit shards on purpose)."""
    import hashlib

    store.write_listing("softmax", {shard.name: hashlib.sha256(shard.read_bytes()).hexdigest()})


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
    _relist(store, shard)
    with pytest.raises(CacheError, match="has gaps"):
        verify_model(store, "softmax")
    pq.write_table(pa.concat_tables([table, table.slice(0, 1)]).replace_schema_metadata(meta), shard)
    _relist(store, shard)
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
    _relist(store, shard)
    with pytest.raises(CacheError, match=r"has 2 epochs; the manifest collected \[3\]"):
        verify_model(store, "softmax")


def test_shipped_caches_verify_and_name_the_run_of_every_row() -> None:
    from cache.store.locations import SHIPPED_ROOT
    from cache.store.schema import RUN_COLUMN

    store = CurveStore(SHIPPED_ROOT)
    assert store.models() == ["lenet", "sgd", "softmax", "svm"]
    for model in store.models():
        assert verify_model(store, model)["curves"] > 0
        table, _ = store.read(model)
        assert pc.min(table[RUN_COLUMN]).as_py() >= 0, model  # replays' one clock needs every run


def test_every_bit_flipped_in_a_shard_is_caught(tmp_path) -> None:
    """One bit flipped at every byte of a listed shard: every load and verify refuse it.

    Before digests, most flips inside the error columns changed values silently (a validation
    error of 0.1948 read as 0.3464, and replays used it)."""
    store = write_cache(tmp_path, n_configs=6, seeds=1, epochs=3)
    (shard,) = store.shard_paths("softmax")
    good = shard.read_bytes()
    for position in range(len(good)):
        bad = bytearray(good)
        bad[position] ^= 1 << (position % 8)
        shard.write_bytes(bytes(bad))
        with pytest.raises(CacheError, match="does not match the SHA-256 in shards.json"):
            store.read("softmax")
    shard.write_bytes(good)
    assert verify_model(store, "softmax")["curves"] == 6


@pytest.mark.parametrize(
    "name",
    ["../../victim/softmax/shard-0001-0000.parquet", "/tmp/shard-0001-0000.parquet", "parts/x.parquet", 7],
)
def test_a_listing_names_only_shards_of_its_own_directory(tmp_path, name) -> None:
    victim = write_cache(tmp_path / "victim", n_configs=2, seeds=1, epochs=1)
    (victim_shard,) = victim.shard_paths("softmax")
    store = write_cache(tmp_path / "evil", n_configs=2, seeds=1, epochs=1)
    listing = store.model_dir("softmax") / "shards.json"
    listing.write_text(json.dumps({"shards": [name]}))
    with pytest.raises(CacheError, match=r"shards.json: \"shards\" holds .* not a shard name"):
        store.compact("softmax")
    assert victim_shard.is_file()  # neither read nor deleted


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[]", 'field "shards" must be a list'),
        ('{"shards": null}', 'field "shards" must be a list'),
        ("42", 'field "shards" must be a list'),
        ('{"shards": ["shard-0001-0000.parquet"], "sha256": []}', 'field "sha256" must map'),
        (
            '{"shards": ["shard-0001-0000.parquet"], "sha256": {"shard-0001-0000.parquet": 1}}',
            "not a SHA-256",
        ),
        ('{"shards": [', "unreadable shard list"),
    ],
)
def test_a_listing_of_the_wrong_shape_is_one_line(tmp_path, content, message) -> None:
    store = write_cache(tmp_path, n_configs=2, seeds=1, epochs=1)
    (store.model_dir("softmax") / "shards.json").write_text(content)
    with pytest.raises(CacheError, match=message) as info:
        verify_model(store, "softmax")
    assert "shards.json" in str(info.value) and "\n" not in str(info.value)


def test_compaction_lists_a_digest_for_each_shard(tmp_path) -> None:
    import hashlib

    store = write_cache(tmp_path, n_configs=3, seeds=1, epochs=2)
    for name, digest in store.listing("softmax").items():
        assert hashlib.sha256((store.model_dir("softmax") / name).read_bytes()).hexdigest() == digest


def test_written_files_respect_the_umask(tmp_path) -> None:
    import os

    from hpo.files import atomic_write_bytes

    old = os.umask(0o022)
    try:
        atomic_write_bytes(tmp_path / "a.json", b"{}")
        os.umask(0o077)
        atomic_write_bytes(tmp_path / "b.json", b"{}")
    finally:
        os.umask(old)
    assert (tmp_path / "a.json").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "b.json").stat().st_mode & 0o777 == 0o600


def test_cleanup_spares_a_temporary_file_that_a_live_writer_is_writing(tmp_path) -> None:
    import os
    import subprocess
    import sys

    from hpo import files as store_module

    store = write_cache(tmp_path, n_configs=2, seeds=1, epochs=1)
    parts = store.model_dir("softmax") / "parts"
    parts.mkdir(exist_ok=True)
    host = store_module._HOST
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    try:
        alive = parts / f".x.parquet.{host}-{sleeper.pid}.0123abcd.tmp"
        gone = parts / f".y.parquet.{host}-{int(dead.stdout)}.0123abcd.tmp"
        alive.write_bytes(b"half")
        gone.write_bytes(b"half")
        store.remove_leftovers("softmax")
        assert alive.exists() and not gone.exists()
        os.utime(alive, (0, 0))  # a day old: abandoned whoever wrote it, on this host
        sleeper.kill()
        sleeper.wait()
        store.remove_leftovers("softmax")
        assert not alive.exists()
    finally:
        sleeper.kill()
        sleeper.wait()


CONCURRENT_WRITER = """
import sys
import pyarrow as pa
from cache.store.shards import CurveStore
from cache.store.schema import SCHEMA_VERSION, encode_metadata
root, name, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
store = CurveStore(root)
template = store.read("softmax")[0].slice(0, 1)
meta = store.read("softmax")[1][0]
for i in range(n):
    config_id = f"{name}{i:015x}"[-16:]
    table = template.set_column(0, "config_id", pa.array([config_id])).drop(["run"])
    table = table.append_column("run", pa.array([0], pa.int32()))
    store.write_part("softmax", config_id, 0, table.replace_schema_metadata(encode_metadata(meta)))
    if i % 3 == 2:
        store.compact("softmax")
store.compact("softmax")
"""


def test_two_processes_writing_and_compacting_one_cache_lose_nothing(tmp_path) -> None:
    """Real concurrent writers: before the lock, 7 of 9 such runs lost trainings."""
    import subprocess
    import sys

    store = write_cache(tmp_path, n_configs=2, seeds=1, epochs=1)
    before = len(store.done_keys("softmax"))
    writers = [
        subprocess.Popen([sys.executable, "-c", CONCURRENT_WRITER, str(tmp_path), prefix, "40"])
        for prefix in ("a", "b")
    ]
    assert [w.wait(timeout=300) for w in writers] == [0, 0]
    keys = store.done_keys("softmax")
    assert len(keys) == before + 80
    assert store.part_paths("softmax") == {}  # every part went into a shard exactly once
    table, _ = store.read("softmax")
    assert table.num_rows == len(keys)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda m: [m], "a manifest is a JSON object, not list"),
        (lambda m: {**m, "space": {"learning_rate": {"type": "loguniform", "low": 0, "high": 1}}}, '"space"'),
        (lambda m: {**m, "collections": None}, '"collections" must be a list'),
        (lambda m: {**m, "epochs": "20"}, '"epochs" must be an integer'),
    ],
)
def test_a_manifest_of_the_wrong_shape_is_one_line_naming_it(tmp_path, change, message) -> None:
    store = write_cache(tmp_path, n_configs=2, seeds=1, epochs=1)
    path = store.model_dir("softmax") / "manifest.json"
    path.write_text(json.dumps(change(json.loads(path.read_text()))))
    with pytest.raises(CacheError, match=message) as info:
        verify_model(store, "softmax")
    assert str(path) in str(info.value) and "\n" not in str(info.value)
