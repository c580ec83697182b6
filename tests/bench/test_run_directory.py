"""A live run's directory: a torn journal is repaired before anything is appended, one writer at a time.

What these catch: a resume that appends after a torn last line (the next resume then finds
"line N is not a journal record" and the run can never be resumed again), and two processes
appending to one journal (two `bench run --resume DIR` at once).
"""

from __future__ import annotations

import json
import subprocess
import sys
from types import SimpleNamespace

import pytest

from bench.results import JOURNAL_FILE, RunWriter, read_journal
from hpo.errors import HPOError
from hpo.tuner import Row


def _spec():
    return SimpleNamespace(
        to_dict=lambda: {"model": "softmax", "seed": 0}, settings=SimpleNamespace(r_max=20)
    )


def _row(trial_id: int) -> Row:
    return Row(trial_id, {"learning_rate": 0.1, "batch_size": 64}, 1, 0, 0.5, 0.5, "ok", 0, 0.0, 1.0)


def test_a_torn_last_line_is_cut_off_before_the_next_result_and_the_run_resumes_again(tmp_path) -> None:
    writer = RunWriter(tmp_path, _spec(), "bench run")
    writer.start(overwrite=False)
    writer.append(_row(0))
    writer._close_journal()
    with open(tmp_path / JOURNAL_FILE, "ab") as journal:  # the writer killed mid-write
        journal.write(json.dumps(_row(1)._asdict()).encode()[:25])
    resumed = RunWriter(tmp_path, _spec(), "bench run")
    recorded, _ = resumed.resume()
    assert [r.job.trial_id for r in recorded] == [0]
    resumed.append(_row(1))
    resumed._close_journal()
    _, rows = read_journal(tmp_path / JOURNAL_FILE)  # every line whole: it resumes again
    assert [r["trial_id"] for r in rows] == [0, 1]
    again, _ = RunWriter(tmp_path, _spec(), "bench run").resume()
    assert [r.job.trial_id for r in again] == [0, 1]


def test_a_second_writer_of_one_run_is_refused_with_one_line(tmp_path) -> None:
    writer = RunWriter(tmp_path, _spec(), "bench run")
    writer.start(overwrite=False)
    writer.append(_row(0))
    with pytest.raises(HPOError, match="another bench process is writing this run"):
        RunWriter(tmp_path, _spec(), "bench run").resume()
    with pytest.raises(HPOError, match="another bench process is writing this run"):
        RunWriter(tmp_path, _spec(), "bench run").start(overwrite=True)
    # the lock is the process's: another process is refused too, and may go on once it is released
    code = (
        "import sys, types; from bench.results import RunWriter; from hpo.errors import HPOError\n"
        "spec = types.SimpleNamespace(to_dict=lambda: {'model': 'softmax', 'seed': 0}, settings=None)\n"
        f"try:\n    RunWriter({str(tmp_path)!r}, spec, 'x').resume()\nexcept HPOError as e:\n    print(e); sys.exit(3)\n"
    )
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert other.returncode == 3 and "another bench process" in other.stdout
    writer._close_journal()
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert other.returncode == 0, other.stdout + other.stderr
    assert len(read_journal(tmp_path / JOURNAL_FILE)[1]) == 1  # nothing was lost or doubled
