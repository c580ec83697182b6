"""The cache's table layout: one row per (config, training seed, epoch), and its metadata."""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from hpo.catalog import CATALOG
from hpo.errors import HPOError
from hpo.space import SearchSpace

__all__ = [
    "KEY_COLUMNS",
    "METADATA_KEY",
    "METRIC_COLUMNS",
    "RUN_COLUMN",
    "SCHEMA_VERSION",
    "UNKNOWN_RUN",
    "CacheError",
    "arrow_schema",
    "check_values",
    "check_version",
    "decode_metadata",
    "encode_metadata",
    "space_from_metadata",
]

#: Version 2 added the `run` column; version 1 files are still read (see `store.read`).
SCHEMA_VERSION = 2
READABLE_VERSIONS = (1, 2)
METADATA_KEY = b"hpobench"
KEY_COLUMNS = ("config_id", "train_seed", "epoch")
METRIC_COLUMNS = ("train_loss", "val_loss", "val_error", "test_error", "epoch_seconds")
STATUSES = ("ok", "diverged")
#: Which collection run trained a row: an index into the file metadata's `provenance` list
#: (machine, threads, command, commit), so that timings from different machines or loads can
#: be told apart; -1 when unknown (rows of a version 1 file that lists several runs).
RUN_COLUMN = "run"
UNKNOWN_RUN = -1


class CacheError(HPOError):
    """A cache file that is missing, corrupted, of another schema or of another model."""


def arrow_schema(space: SearchSpace) -> pa.Schema:
    """The Arrow schema of a model's curve table."""
    fields = [pa.field("config_id", pa.string())]
    for p in space.parameters:
        fields.append(pa.field(p.name, pa.int64() if p.is_int else pa.float64()))
    fields += [pa.field("train_seed", pa.int32()), pa.field("epoch", pa.int32())]
    fields += [pa.field(name, pa.float64()) for name in METRIC_COLUMNS]
    fields.append(pa.field("status", pa.string()))
    fields.append(pa.field(RUN_COLUMN, pa.int32()))
    return pa.schema(fields)


def space_from_metadata(spec: dict[str, Any], model: str) -> SearchSpace:
    """The stored space, its parameters in the model's own order when the names match."""
    space = SearchSpace.from_dict(spec)
    order = CATALOG[model].hyperparameters if model in CATALOG else ()
    if set(order) == set(space.names):
        space = SearchSpace([space[name] for name in order])
    return space


def check_values(table: pa.Table, where: str) -> None:
    """The value rules of a curve file, checked wherever it is read (one vectorised pass): known
    statuses, epochs from 1, errors of finished epochs in [0, 1] (not NaN), finite seconds >= 0.

    A file that breaks one is a one-line CacheError naming it, whatever its digest says.
    """
    missing = [
        c
        for c in ("status", "epoch", "val_error", "test_error", "epoch_seconds")
        if c not in table.schema.names
    ]
    if missing:
        raise CacheError(f"{where}: no {missing[0]!r} column; not a curve cache file")
    unknown = sorted(set(pc.unique(table["status"]).to_pylist()) - set(STATUSES))
    if unknown:
        raise CacheError(f"{where}: unknown status values {unknown}; accepted: {', '.join(STATUSES)}")
    if len(table) and pc.min(table["epoch"]).as_py() < 1:
        raise CacheError(f"{where}: an epoch below 1")
    ok = table.filter(pc.equal(table["status"], "ok"))
    for column in ("val_error", "test_error"):
        values = ok[column]
        inside = pc.and_(pc.greater_equal(values, 0.0), pc.less_equal(values, 1.0))
        if not pc.all(pc.fill_null(inside, False)).as_py() or pc.any(pc.is_nan(values)).as_py():
            raise CacheError(f"{where}: {column} outside [0, 1] (or NaN) in a finished epoch")
    seconds = table["epoch_seconds"]
    if pc.any(pc.or_(pc.less(seconds, 0.0), pc.invert(pc.is_finite(seconds)))).as_py():
        raise CacheError(f"{where}: epoch_seconds negative or not finite")


def encode_metadata(meta: dict[str, Any]) -> dict[bytes, bytes]:
    """Arrow schema metadata carrying `meta` as JSON."""
    return {METADATA_KEY: json.dumps(meta).encode()}  # key order kept: it is the parameter order


def decode_metadata(schema: pa.Schema, where: str) -> dict[str, Any]:
    """The project metadata of a file, checked for a known schema version."""
    raw = (schema.metadata or {}).get(METADATA_KEY)
    if raw is None:
        raise CacheError(f"{where}: no hpobench metadata; not a curve cache file")
    try:
        meta = json.loads(raw)
    except json.JSONDecodeError:
        raise CacheError(f"{where}: unreadable hpobench metadata") from None
    check_version(meta.get("schema_version"), where)
    return meta


def check_version(version: Any, where: str) -> None:
    """Refuse a schema version this code cannot read."""
    if version not in READABLE_VERSIONS:
        readable = " and ".join(str(v) for v in READABLE_VERSIONS)
        raise CacheError(f"{where}: unknown schema version {version!r} (this code reads versions {readable})")
