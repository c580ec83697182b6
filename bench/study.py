"""A study on disk: its plan file, its output directory and which of its runs are done.

`bench compare` and `bench agree` are studies: a plan of runs, each writing one result file,
under one directory named after what determines the results. The plan file records the spec,
the cache it reads and the command; the same command resumes the study, and another plan is
refused in the same directory so that results of different settings never mix.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.results import is_finished
from hpo.errors import ConfigError, HPOError
from hpo.files import atomic_write_bytes

__all__ = ["REPORT_FILE", "Task", "check_plan_file", "open_plan", "study_dir", "unfinished", "write_report"]

RESULTS_ROOT = Path("results")
REPORT_FILE = "report.html"


@dataclass(frozen=True)
class Task:
    """One run of a study and the result file it writes."""

    spec: Any  # a bench.experiment.RunSpec
    path: Path


def study_dir(out_dir: str | Path | None, prefix: str, determines: Sequence[Any]) -> Path:
    """`out_dir`, or results/PREFIX-HASH where HASH digests what `determines` the results: the
    same command resumes its directory, other settings (or a changed cache) get their own."""
    if out_dir:
        return Path(out_dir)
    key = hashlib.sha256(json.dumps(list(determines), sort_keys=True).encode()).hexdigest()[:8]
    return RESULTS_ROOT / f"{prefix}-{key}"


def unfinished(tasks: Sequence[Task]) -> list[Task]:
    """The tasks whose result file is missing or incomplete (those a resumed study runs)."""
    return [t for t in tasks if not is_finished(t.path)]


def read_plan(path: Path, fields: dict[str, type], spec_fields: dict[str, type]) -> dict[str, Any]:
    """A plan file, checked for the `fields` (and `spec_fields` inside its "spec") a report reads;
    a damaged or foreign file is one line naming the file and the field."""
    try:
        record = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise HPOError(f"{path}: not a plan file ({exc})") from None
    if not isinstance(record, dict):
        raise HPOError(f"{path}: not a plan file (expected a JSON object, got {type(record).__name__})")
    for where, holder, wanted in (("", record, fields), ("spec.", record.get("spec"), spec_fields)):
        for name, kind in wanted.items():
            value = holder.get(name) if isinstance(holder, dict) else None
            if not isinstance(value, kind) or (isinstance(value, bool) and kind is int):
                raise HPOError(f'{path}: field "{where}{name}" is missing or not a {kind.__name__}')
    return record


def open_plan(
    out: Path, name: str, what: str, fields: dict[str, type], spec_fields: dict[str, type]
) -> dict[str, Any]:
    """The plan file `name` of the study in `out`, or one line saying `out` is not a `what`'s directory."""
    path = out / name
    if not path.is_file():
        raise HPOError(f"{out}: no {name}; is it the --out of a {what}?")
    return read_plan(path, fields, spec_fields)


def check_plan_file(out: Path, record: dict[str, Any], keys: tuple[str, ...], name: str) -> None:
    """Refuse to mix results of another plan into `out` (its `keys` differ); write the plan file if new."""
    path = out / name
    if path.exists():
        existing = read_plan(path, {}, {})
        # some keys follow from the cache (budgets, curve counts): a changed cache must not mix with old runs
        if any(existing.get(key) != record.get(key) for key in keys):
            raise ConfigError(
                f"{out} holds results made with other settings ({path}); choose another --out or remove it"
            )
        return
    atomic_write_bytes(path, json.dumps(record, indent=2, sort_keys=True).encode())


def write_report(out: Path, text: str, name: str = REPORT_FILE) -> Path:
    """Write a study's HTML report into its directory, whole or not at all."""
    path = out / name
    atomic_write_bytes(path, text.encode("utf-8"))
    return path
