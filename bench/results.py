"""Result files: the rows of an experiment in Parquet, with what is needed to redo it."""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from cache.store.shards import atomic_write_table
from hpo import provenance
from hpo.errors import ConfigError, HPOError
from hpo.files import atomic_write_bytes, named
from hpo.schedulers import Job
from hpo.tuner import ROW_FIELDS, Result, Row, TuneOutcome
from reports.schema import CONFIG, EXPERIMENT_COLUMNS, JOB_COLUMNS, METADATA_KEY, hp_column, result_table

__all__ = [
    "JOURNAL_FILE",
    "RESULTS_FILE",
    "RunWriter",
    "is_finished",
    "path_name",
    "read_journal",
    "read_results",
    "run_record",
    "write_results",
    "write_run",
]

RESULTS_FILE = "results.parquet"
CHECKPOINTS_DIR = "checkpoints"
JOURNAL_FILE = "journal.jsonl"


def rows_table(rows: Sequence[Row], spec: Any) -> pa.Table:
    """A run's rows as a result table (`reports.schema`): its identity, the jobs, the configs."""
    if not rows:
        return pa.table({})
    n = len(rows)
    identity = (spec.experiment_id, spec.model, spec.algorithm, spec.backend, spec.seed)
    columns: dict[str, Sequence[Any]] = {
        name: [value] * n for name, value in zip(EXPERIMENT_COLUMNS, identity, strict=True)
    }
    jobs = dict(zip(JOB_COLUMNS, zip(*rows, strict=True), strict=True))
    configs = jobs.pop(CONFIG)
    columns.update(jobs)
    columns[CONFIG] = _config_texts(configs)
    for name in spec.search_space.names:
        columns[hp_column(name)] = [config[name] for config in configs]
    return result_table(columns)


_ENCODE = json.JSONEncoder(sort_keys=True).encode  # json.dumps(config, sort_keys=True), built once


def _config_texts(configs: Sequence[dict[str, Any]]) -> list[str]:
    # a trial's rows share one config object (the tuner never copies it): each is encoded once
    texts: dict[int, str] = {}
    out = []
    for config in configs:
        text = texts.get(id(config))
        if text is None:
            text = texts[id(config)] = _ENCODE(config)
        out.append(text)
    return out


def write_results(path: Path, table: pa.Table, meta: dict[str, Any]) -> Path:
    """Write `table` with `meta` (spec, versions, command) as Parquet metadata, atomically."""
    table = table.replace_schema_metadata(
        {METADATA_KEY: json.dumps(meta, sort_keys=True, default=str).encode()}
    )
    atomic_write_table(path, table)
    return path


def run_record(
    spec: Any,
    done: Any,
    command: str,
    kind: str,
    columns: dict[str, Sequence[float]] | None = None,
) -> tuple[pa.Table, dict[str, Any]]:
    """The rows of a finished run (`bench.live_run.LiveRun` or `bench.experiment.ReplayRun`) and the
    metadata stored with them (its spec, command, environment); `columns` go beside the rows."""
    table = rows_table(done.outcome.rows, spec)
    for name, values in (columns or {}).items():
        # as these columns always were: floats with NaN kept as NaN (the rows' own columns read NaN as null)
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
        "exhausted_at": done.outcome.exhausted_at,
    }
    return table, meta


def write_run(
    path: Path,
    spec: Any,
    done: Any,
    command: str,
    kind: str,
    columns: dict[str, Sequence[float]] | None = None,
) -> Path:
    """Write a finished run's rows and metadata (`run_record`) to `path`."""
    table, meta = run_record(spec, done, command, kind, columns)
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_results(path, table, meta)


def path_name(algorithm: str) -> str:
    """An algorithm's name as a file or directory name (a plug-in's `module:Object` without the colon)."""
    return algorithm.replace(":", ".")


def is_finished(path: Path) -> bool:
    """Whether a run's result file is there whole (a truncated or foreign file counts as missing,
    so that a resumed comparison runs it again)."""
    try:
        metadata = pq.read_metadata(path).metadata or {}
    except (pa.ArrowException, OSError):
        return False
    return METADATA_KEY in metadata


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


class RunWriter:
    """The directory of one `bench run`.

    Every result is appended to a journal (`journal.jsonl`: a header line with the spec and
    command, then one line per result, each written whole with one `write`), and each trial's
    last checkpoint is kept beside it; a killed run loses only the jobs in flight, and
    `--resume` continues it from the journal. `results.parquet` is written at the end, and
    when the run is interrupted. The process writing the directory holds an exclusive `flock`
    on its journal: a second writer (two `--resume` of one run) is refused with one line.
    """

    def __init__(self, out: Path, spec: Any, command: str, journal: bool = True) -> None:
        self.out = Path(out)
        self.journal = journal  # replays need none: they rerun in seconds
        self.spec = spec
        self.command = command
        self.started = provenance.now_iso()
        self._journal: int | None = None

    @property
    def path(self) -> Path:
        """The result file."""
        return self.out / RESULTS_FILE

    @property
    def journal_path(self) -> Path:
        """The append-only journal of results."""
        return self.out / JOURNAL_FILE

    def _header(self) -> dict[str, Any]:
        return {"kind": "run", "spec": self.spec.to_dict(), "command": self.command, "started": self.started}

    def start(self, overwrite: bool) -> tuple[None, None]:
        """Claim the directory for a new run; its journal's header proves it writable before training."""
        if (self.path.exists() or self.journal_path.exists()) and not overwrite:
            raise ConfigError(
                f"{self.out} already holds results; pass --overwrite, --resume it, or choose another --out"
            )
        if self.journal_path.is_file():  # --overwrite of a run another process is still writing
            self._open_journal()
            self._close_journal()
        try:
            self.out.mkdir(parents=True, exist_ok=True)
            for old in [self.path, *(self.out / CHECKPOINTS_DIR).glob("trial-*.pt")]:
                old.unlink(missing_ok=True)
            self.journal_path.unlink(missing_ok=True)
            if self.journal:
                atomic_write_bytes(self.journal_path, _line(self._header()))
                self._open_journal()
            else:  # still prove the directory writable before any work
                atomic_write_bytes(self.out / ".writable", b"")
                (self.out / ".writable").unlink()
        except OSError as exc:
            raise HPOError(f"{self.out}: cannot write results there ({exc.strerror or exc})") from None
        return None, None

    def _open_journal(self) -> None:
        fd = os.open(self.journal_path, os.O_WRONLY | os.O_APPEND)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise HPOError(
                f"{self.out}: another bench process is writing this run; wait for it to end"
            ) from None
        self._journal = fd

    def resume(self) -> tuple[list[Result], dict[int, dict[str, Any]]]:
        """The results of an interrupted run of the same spec, and its trials' checkpoints.

        A torn last line (the writer killed mid-write) is cut off before anything is appended,
        so the next result starts on a line of its own and the run can be resumed again.
        """
        if not self.journal_path.is_file():
            raise ConfigError(f"--resume {self.out}: no {JOURNAL_FILE} of a bench run there to continue")
        try:
            self._open_journal()  # the lock first: nobody else appends while it is read and repaired
            header, rows = read_journal(self.journal_path)
            whole = whole_length(self.journal_path)
            if whole < os.fstat(self._journal).st_size:
                os.ftruncate(self._journal, whole)
        except BaseException:
            self._close_journal()
            raise
        return self._resumed(header, rows)

    def _close_journal(self) -> None:
        if self._journal is not None:
            os.close(self._journal)  # closing releases the lock
            self._journal = None

    def _resumed(
        self, header: dict[str, Any], rows: list[dict[str, Any]]
    ) -> tuple[list[Result], dict[int, dict[str, Any]]]:
        stored, asked = header.get("spec") or {}, self.spec.to_dict()
        refusal = None
        if header.get("kind") != "run":
            refusal = f"--resume {self.out}: {JOURNAL_FILE} is not the journal of a bench run"
        elif stored != asked:
            keys = sorted(k for k in set(stored) | set(asked) if stored.get(k) != asked.get(k))
            refusal = f"--resume {self.out}: that run had other settings ({', '.join(keys)}); use its options"
        elif self.path.is_file() and read_results(self.path)[1].get("complete"):
            refusal = f"--resume {self.out}: that run is complete"
        if refusal is not None:
            self._close_journal()
            raise ConfigError(refusal)
        self.started = header.get("started", self.started)
        recorded = []
        for record in rows:
            row = Row(**{name: record[name] for name in ROW_FIELDS})
            job = Job(row.trial_id, row.config, row.epochs, row.resume_from)
            recorded.append(
                Result(job, row.val_error, row.test_error, row.status, row.worker, row.t_start, row.t_end)
            )
        states = {}
        from hpo.training import load_checkpoint

        for path in sorted((self.out / CHECKPOINTS_DIR).glob("trial-*.pt")):
            try:
                states[int(path.stem.split("-")[1])] = load_checkpoint(path)
            except Exception:  # a damaged checkpoint: the trial trains again from its seed, same bytes
                continue
        return recorded, states

    def append(self, row: Row) -> None:
        """Journal one result; the line goes to the file whole, in one write."""
        if self._journal is not None:
            try:
                os.write(self._journal, _line(row._asdict()))
            except OSError as exc:  # a full disk: say which file
                raise named(exc, self.journal_path) from None

    def save_state(self, trial_id: int, state: dict[str, Any]) -> None:
        """Keep a trial's last state (after its row is journalled: a lagging checkpoint trains again).

        A trial at the top rung is never continued by the scheduler, so its state is not written
        (the final training of a resumed run retrains such an incumbent from its seed, same bytes).
        """
        if len(state["curve"]) >= self.spec.settings.r_max:
            return
        import io

        import torch

        buffer = io.BytesIO()
        torch.save(state, buffer)
        atomic_write_bytes(self.out / CHECKPOINTS_DIR / f"trial-{trial_id}.pt", buffer.getvalue(), sync=False)

    def finish(self, outcome: TuneOutcome, complete: bool, done: Any = None) -> pa.Table:
        """Write every row with the spec, command and versions to the result file, atomically."""
        spec = self.spec
        table = rows_table(outcome.rows, spec)
        meta = {
            "kind": "run",
            "spec": spec.to_dict(),
            "experiment_id": spec.experiment_id,
            "command": self.command,
            "started": self.started,
            "finished": provenance.now_iso(),
            "complete": complete,
            "epochs_trained": outcome.epochs_trained,
        }
        if done is not None:
            meta.update(
                environment=done.environment,
                busy_seconds=done.backend.busy_seconds,
                failures=getattr(done.backend, "failures", []),
            )
        write_results(self.path, table, meta)
        self._close_journal()  # the lock is held until the result file is written
        return table


def _line(obj: dict[str, Any]) -> bytes:
    return (json.dumps(obj, sort_keys=True, allow_nan=True) + "\n").encode()


def whole_length(path: Path) -> int:
    """The journal's length up to and including its last newline (what a torn write left beyond it is not a record)."""
    data = path.read_bytes()
    return data.rfind(b"\n") + 1


def read_journal(path: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A journal's header and rows; a torn last line (the writer killed mid-write) is left out."""
    try:
        lines = path.read_bytes().split(b"\n")
    except OSError as exc:
        raise HPOError(f"{path}: cannot read the journal ({exc.strerror or exc})") from None
    complete = lines[:-1]  # whatever follows the last newline was never finished
    records = []
    for number, line in enumerate(complete, start=1):
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            raise HPOError(f"{path}: line {number} is not a journal record") from None
        if not isinstance(record, dict):
            raise HPOError(f"{path}: line {number} is not a journal record")
        records.append(record)
    if not records:
        raise HPOError(f"{path}: an empty journal")
    return records[0], records[1:]
