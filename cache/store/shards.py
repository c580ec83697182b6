"""The on-disk curve store: per model, immutable part files compacted into listed shards.

Layout of one model under a cache root::

    <root>/<model>/manifest.json        what was asked for: space, designs, epochs, commands
    <root>/<model>/shards.json          the shard files that are current (replaced atomically)
    <root>/<model>/shard-<gen>-<i>.parquet
    <root>/<model>/parts/<config_id>-s<seed>.parquet   one finished training each

Every file is written under a temporary name and renamed into place, so a killed writer
leaves either the old state or the new one, never half a file. A part whose key is already
in a listed shard is a leftover of an interrupted compaction and is ignored.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from cache.store.schema import (
    RUN_COLUMN,
    SCHEMA_VERSION,
    UNKNOWN_RUN,
    CacheError,
    check_values,
    check_version,
    decode_metadata,
    encode_metadata,
)
from hpo.errors import HPOError
from hpo.files import abandoned, atomic_write_bytes
from hpo.space import SearchSpace

__all__ = ["CurveStore", "atomic_write_table", "provenance", "run_key", "sha256_hex"]

PART_RE = re.compile(r"^(?P<config_id>[0-9a-f]{16})-s(?P<seed>\d+)\.parquet$")
SHARD_RE = re.compile(r"^shard-\d{4,}-\d{4,}\.parquet$")  # the only names a listing may hold
MAX_SHARD_ROWS = 1_000_000


def parquet_bytes(table: pa.Table) -> bytes:
    """A table as the bytes of a zstd-compressed Parquet file."""
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd")
    return sink.getvalue().to_pybytes()


def atomic_write_table(path: Path, table: pa.Table) -> None:
    """Write a Parquet file through a temporary file and a rename."""
    atomic_write_bytes(path, parquet_bytes(table))


def sha256_hex(data: bytes) -> str:
    """The SHA-256 of `data`, in hex."""
    return hashlib.sha256(data).hexdigest()


def read_parquet(path: Path) -> pa.Table:
    """Read one Parquet file; a truncated or corrupted file is a one-line CacheError."""
    try:
        return pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise CacheError(f"{path}: unreadable Parquet file ({first_line})") from None


class CurveStore:
    """One cache root holding a curve dataset per model."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"CurveStore({str(self.root)!r})"

    def model_dir(self, model: str) -> Path:
        """The directory of one model's dataset."""
        return self.root / model

    def models(self) -> list[str]:
        """Models with a manifest under this root, sorted."""
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if (p / "manifest.json").is_file())

    # -- manifest ---------------------------------------------------------------------

    def manifest(self, model: str) -> dict[str, Any] | None:
        """The model's manifest, or None if nothing was collected."""
        path = self.model_dir(model) / "manifest.json"
        if not path.is_file():
            return None
        try:
            manifest = json.loads(path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError, OSError) as exc:
            raise CacheError(f"{path}: unreadable manifest ({exc})") from None
        if not isinstance(manifest, dict):
            raise CacheError(f"{path}: a manifest is a JSON object, not {type(manifest).__name__}")
        check_version(manifest.get("schema_version"), str(path))
        if manifest.get("model") != model:
            raise CacheError(f"{path}: manifest is for model {manifest.get('model')!r}, not {model!r}")
        _check_manifest(path, manifest)
        return manifest

    def write_manifest(self, model: str, manifest: dict[str, Any]) -> None:
        """Replace the model's manifest atomically."""
        data = json.dumps(manifest, indent=2).encode()  # key order kept: it is the parameter order
        atomic_write_bytes(self.model_dir(model) / "manifest.json", data)

    # -- files ------------------------------------------------------------------------

    def shard_paths(self, model: str) -> list[Path]:
        """The current shards, as listed in shards.json."""
        return [self.model_dir(model) / name for name in self.listing(model)]

    def listing(self, model: str) -> dict[str, str | None]:
        """shards.json: each current shard's name and the SHA-256 of its bytes (None in listings
        written before digests were kept). Only names this store makes are accepted, so a crafted
        listing cannot point outside the model's directory."""
        listing = self.model_dir(model) / "shards.json"
        if not listing.is_file():
            return {}
        try:
            data = json.loads(listing.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError, OSError) as exc:
            raise CacheError(f"{listing}: unreadable shard list ({exc})") from None
        names = data.get("shards") if isinstance(data, dict) else None
        if not isinstance(names, list):
            raise CacheError(f'{listing}: field "shards" must be a list of shard names')
        digests = data.get("sha256", {})
        if not isinstance(digests, dict):
            raise CacheError(f'{listing}: field "sha256" must map shard names to digests')
        out: dict[str, str | None] = {}
        for name in names:
            if not isinstance(name, str) or not SHARD_RE.match(name):
                raise CacheError(
                    f'{listing}: "shards" holds {name!r}, not a shard name (shard-NNNN-NNNN.parquet)'
                )
            digest = digests.get(name)
            if digest is not None and not (isinstance(digest, str) and re.fullmatch(r"[0-9a-f]{64}", digest)):
                raise CacheError(f'{listing}: "sha256" of {name} is not a SHA-256 digest')
            out[name] = digest
        return out

    def read_shard(self, model: str, path: Path, digest: str | None) -> pa.Table:
        """One listed shard, checked against its digest: a changed bit is a one-line CacheError."""
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise CacheError(f"{path}: unreadable shard ({exc.strerror or exc})") from None
        if digest is not None and sha256_hex(data) != digest:
            raise CacheError(
                f"{path}: content does not match the SHA-256 in shards.json (corrupted or changed)"
            )
        try:
            return pq.read_table(pa.BufferReader(data))
        except (pa.ArrowException, OSError) as exc:
            first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise CacheError(f"{path}: unreadable Parquet file ({first_line})") from None

    def part_paths(self, model: str) -> dict[tuple[str, int], Path]:
        """Finished part files keyed by (config_id, train_seed)."""
        parts_dir = self.model_dir(model) / "parts"
        if not parts_dir.is_dir():
            return {}
        found = {}
        for path in sorted(parts_dir.iterdir()):
            match = PART_RE.match(path.name)
            if match:
                found[(match["config_id"], int(match["seed"]))] = path
        return found

    def part_path(self, model: str, config_id: str, train_seed: int) -> Path:
        """Where the part of one training lands."""
        return self.model_dir(model) / "parts" / f"{config_id}-s{train_seed}.parquet"

    def write_part(self, model: str, config_id: str, train_seed: int, table: pa.Table) -> Path:
        """Store one finished training's rows atomically."""
        path = self.part_path(model, config_id, train_seed)
        atomic_write_table(path, table)
        return path

    # -- reading ----------------------------------------------------------------------

    def _shard_tables(self, model: str) -> list[tuple[Path, pa.Table]]:
        directory = self.model_dir(model)
        return [
            (directory / name, self.read_shard(model, directory / name, digest))
            for name, digest in self.listing(model).items()
        ]

    def done_keys(self, model: str) -> set[tuple[str, int]]:
        """(config_id, train_seed) of every finished training."""
        if not self.model_dir(model).is_dir():
            return set()
        with self._locked(model, shared=True):
            return self._done_keys(model)

    def _done_keys(self, model: str) -> set[tuple[str, int]]:
        keys = set(self.part_paths(model))
        for _, table in self._shard_tables(model):
            keys.update(zip(table["config_id"].to_pylist(), table["train_seed"].to_pylist(), strict=True))
        return keys

    def files(self, model: str) -> list[Path]:
        """Every file that holds current rows (listed shards, then parts not covered by them)."""
        shard_keys = self._keys_in(self._shard_tables(model))
        parts = [p for key, p in self.part_paths(model).items() if key not in shard_keys]
        return self.shard_paths(model) + parts

    @staticmethod
    def _keys_in(tables: Iterable[tuple[Path, pa.Table]]) -> set[tuple[str, int]]:
        keys: set[tuple[str, int]] = set()
        for _, table in tables:
            keys.update(zip(table["config_id"].to_pylist(), table["train_seed"].to_pylist(), strict=True))
        return keys

    def read(
        self, model: str, parts: dict[tuple[str, int], Path] | None = None
    ) -> tuple[pa.Table | None, list[dict[str, Any]]]:
        """All current rows of `model` and the metadata of each file they came from.

        The rows' `run` indexes `provenance(metas)`, the distinct runs of all files in file
        order (each file's own indices are renumbered; a version 1 file's rows get its one run,
        or -1 when it lists several). `parts` restricts the part files read (compaction passes
        the ones it will delete).
        """
        if not self.model_dir(model).is_dir():
            return None, []
        with self._locked(model, shared=True):
            return self._read(model, parts)

    def _read(
        self, model: str, parts: dict[tuple[str, int], Path] | None = None
    ) -> tuple[pa.Table | None, list[dict[str, Any]]]:
        shards = self._shard_tables(model)
        shard_keys = self._keys_in(shards)
        tables = list(shards)
        parts = self.part_paths(model) if parts is None else parts
        for key, path in parts.items():
            if key not in shard_keys:
                tables.append((path, read_parquet(path)))
        if not tables:
            return None, []
        metas = [decode_metadata(table.schema, str(path)) for path, table in tables]
        for (path, table), meta in zip(tables, metas, strict=True):
            if meta.get("model") != model:
                raise CacheError(f"{path}: holds rows of model {meta.get('model')!r}, not {model!r}")
            check_values(table, str(path))
        runs = provenance(metas)
        keys = [run_key(r) for r in runs]
        plain = [
            _renumber_runs(table.replace_schema_metadata(None), meta, keys, str(path))
            for (path, table), meta in zip(tables, metas, strict=True)
        ]
        try:
            merged = pa.concat_tables(plain)
        except pa.ArrowInvalid as exc:
            raise CacheError(f"{self.model_dir(model)}: files disagree on their columns ({exc})") from None
        return merged, metas

    # -- compaction -------------------------------------------------------------------

    @contextmanager
    def _locked(self, model: str, shared: bool = False) -> Iterator[None]:
        """Hold the model's lock file across processes: exclusive for a compaction or cleanup,
        shared for a reader, which must not see parts deleted between listing and reading them.
        A directory that cannot hold a lock file (a read-only install) is read without one."""
        directory = self.model_dir(model)
        try:
            if not shared:
                directory.mkdir(parents=True, exist_ok=True)
            fd = os.open(directory / ".lock", os.O_RDWR | os.O_CREAT, 0o666)
        except OSError:
            if not shared:
                raise
            yield
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    def compact(self, model: str) -> list[Path]:
        """Merge shards and parts into a new generation of shards; delete what they replace.

        Several collectors may share a cache: compactions take turns under the model's lock,
        and each deletes only the parts it has read into its shards.
        """
        with self._locked(model):
            return self._compact(model)

    def _compact(self, model: str) -> list[Path]:
        # Parts are listed before reading: a collector writing new parts meanwhile keeps them.
        parts = self.part_paths(model)
        old_shards = self.shard_paths(model)
        table, metas = self._read(model, parts)
        if table is None:
            return []
        if len(old_shards) == 1 and not parts:
            ((name, digest),) = self.listing(model).items()
            if digest is None:  # a listing from before digests: the shard was just read whole
                self.write_listing(model, {name: sha256_hex(old_shards[0].read_bytes())})
            return old_shards
        order = pc.sort_indices(
            table, sort_keys=[("config_id", "ascending"), ("train_seed", "ascending"), ("epoch", "ascending")]
        )
        table = table.take(order)
        meta = dict(metas[0])
        meta["schema_version"] = SCHEMA_VERSION
        meta["provenance"] = provenance(metas)
        table = table.replace_schema_metadata(encode_metadata(meta))
        generation = 1 + max((_generation(p) for p in old_shards), default=0)
        digests = {}
        for i, start in enumerate(range(0, table.num_rows, MAX_SHARD_ROWS)):
            name = f"shard-{generation:04d}-{i:04d}.parquet"
            data = parquet_bytes(table.slice(start, MAX_SHARD_ROWS))
            atomic_write_bytes(self.model_dir(model) / name, data)
            digests[name] = sha256_hex(data)
        self.write_listing(model, digests)
        names = list(digests)
        for path in old_shards:
            path.unlink(missing_ok=True)
        for path in parts.values():
            path.unlink(missing_ok=True)
        self._remove_leftovers(model)
        return [self.model_dir(model) / n for n in names]

    def write_listing(self, model: str, digests: dict[str, str]) -> None:
        """Replace shards.json atomically: the shards' names, in order, and their SHA-256."""
        listing = json.dumps({"shards": list(digests), "sha256": digests}, indent=2).encode()
        atomic_write_bytes(self.model_dir(model) / "shards.json", listing)

    def remove_leftovers(self, model: str) -> None:
        """Delete temporary files of writers that are gone, and shards no listing names."""
        with self._locked(model):
            self._remove_leftovers(model)

    def _remove_leftovers(self, model: str) -> None:
        directory = self.model_dir(model)
        listed = {p.name for p in self.shard_paths(model)}
        for path in list(directory.glob(".*.tmp")) + list((directory / "parts").glob(".*.tmp")):
            if abandoned(path):
                path.unlink(missing_ok=True)
        for path in directory.glob("shard-*.parquet"):
            if path.name not in listed:
                path.unlink(missing_ok=True)

    def size_bytes(self, model: str) -> int:
        """Bytes on disk of the model's directory."""
        return sum(p.stat().st_size for p in self.model_dir(model).rglob("*") if p.is_file())


def _check_manifest(path: Path, manifest: dict[str, Any]) -> None:
    """The fields a manifest must hold, with their types; a bad one is one line naming it."""

    def bad(field: str, what: str) -> CacheError:
        return CacheError(f'{path}: field "{field}" {what}')

    if not isinstance(manifest.get("epochs"), int) or isinstance(manifest.get("epochs"), bool):
        raise bad("epochs", "must be an integer")
    try:
        SearchSpace.from_dict(manifest.get("space"))
    except (HPOError, TypeError, AttributeError) as exc:
        raise bad("space", f"is not a search space ({exc})") from None
    collections = manifest.get("collections")
    if not isinstance(collections, list) or not all(isinstance(c, dict) for c in collections):
        raise bad("collections", "must be a list of objects")
    for i, collection in enumerate(collections):
        for key, kind in (("design", str), ("design_seed", int), ("epochs", int), ("configs", int)):
            if not isinstance(collection.get(key), kind):
                raise bad(f"collections[{i}].{key}", f"must be a {kind.__name__}")


def _generation(path: Path) -> int:
    match = re.match(r"shard-(\d+)-", path.name)
    return int(match.group(1)) if match else 0


def provenance(metas: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The distinct collection runs listed by files' metadata, in file order."""
    seen, out = set(), []
    for meta in metas:
        for run in meta.get("provenance", []):
            key = run_key(run)
            if key not in seen:
                seen.add(key)
                out.append(run)
    return out


def run_key(run: dict[str, Any]) -> str:
    """A provenance entry as a comparable string."""
    return json.dumps(run, sort_keys=True)


def _renumber_runs(table: pa.Table, meta: dict[str, Any], keys: list[str], where: str) -> pa.Table:
    """The table with its `run` column indexing `keys` (all files' runs) instead of its own list."""
    own = [keys.index(run_key(r)) for r in meta.get("provenance", [])]
    if RUN_COLUMN in table.column_names:
        local = table[RUN_COLUMN].to_numpy()
        bad = local[(local < UNKNOWN_RUN) | (local >= len(own))]
        if len(bad):
            raise CacheError(f"{where}: run {bad[0]} is not an index into its {len(own)} provenance entries")
        lookup = np.array([*own, UNKNOWN_RUN], dtype=np.int32)  # -1 picks the last: still unknown
        return table.set_column(
            table.column_names.index(RUN_COLUMN), RUN_COLUMN, pa.array(lookup[local], pa.int32())
        )
    run = own[0] if len(own) == 1 else UNKNOWN_RUN
    return table.append_column(
        pa.field(RUN_COLUMN, pa.int32()), pa.array(np.full(table.num_rows, run, np.int32))
    )
