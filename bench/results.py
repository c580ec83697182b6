"""Result files: the rows of an experiment in Parquet, with what is needed to redo it."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from cache.store import atomic_write_table
from hpo.errors import HPOError

RESULTS_FILE = "results.parquet"
METADATA_KEY = b"hpobench_results"


def rows_table(
    rows: Sequence[dict[str, Any]], experiment: dict[str, Any], space_names: Sequence[str]
) -> pa.Table:
    """Flatten tuner rows (plus the experiment's identifying columns) into an Arrow table."""
    records = []
    for row in rows:
        record = {key: experiment[key] for key in ("experiment_id", "model", "algorithm", "backend", "seed")}
        record.update({k: v for k, v in row.items() if k != "config"})
        record["config"] = json.dumps(row["config"], sort_keys=True)
        for name in space_names:
            record[f"hp_{name}"] = row["config"][name]
        records.append(record)
    return pa.Table.from_pandas(pd.DataFrame.from_records(records), preserve_index=False)


def write_results(path: Path, table: pa.Table, meta: dict[str, Any]) -> Path:
    """Write `table` with `meta` (spec, versions, command) as Parquet metadata, atomically."""
    table = table.replace_schema_metadata(
        {METADATA_KEY: json.dumps(meta, sort_keys=True, default=str).encode()}
    )
    atomic_write_table(path, table)
    return path


def write_run(
    path: Path,
    spec: Any,
    done: Any,
    command: str,
    kind: str,
    columns: dict[str, Sequence[float]] | None = None,
) -> Path:
    """Write the rows of a finished run (`bench.experiment`'s LiveRun or ReplayRun) with its spec and command.

    `columns` are added beside the rows (one value per row).
    """
    experiment = {
        "experiment_id": spec.experiment_id,
        "model": spec.model,
        "algorithm": spec.algorithm,
        "backend": spec.backend,
        "seed": spec.seed,
    }
    table = rows_table(done.outcome.rows, experiment, spec.search_space.names)
    for name, values in (columns or {}).items():
        table = table.append_column(name, [list(values)])
    meta = {
        "kind": kind,
        "spec": spec.to_dict(),
        "experiment_id": spec.experiment_id,
        "command": command,
        "environment": done.environment,
        "epochs_trained": done.outcome.epochs_trained,
        "busy_seconds": done.backend.busy_seconds,
        "makespan_seconds": done.backend.now,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_results(path, table, meta)


def read_results(path: str | Path) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The rows and metadata of a result file (or of `results.parquet` in a directory)."""
    path = Path(path)
    if path.is_dir():
        path = path / RESULTS_FILE
    if not path.is_file():
        raise HPOError(f"{path}: no result file")
    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        raise HPOError(f"{path}: unreadable result file ({str(exc).splitlines()[0]})") from None
    raw = (table.schema.metadata or {}).get(METADATA_KEY)
    if raw is None:
        raise HPOError(f"{path}: not an hpobench result file")
    return table.to_pandas(), json.loads(raw)
