"""Running a comparison's replays: in this process, in watched processes, or on a Dask cluster.

Wherever a replay runs, it hands back its rows and metadata (or its plug-in's failure) and this
process writes every file, so a cluster's workers need no shared file system. A replay is a
pure function of the cache, the spec and the seed: its rows are the same bytes wherever it ran.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from bench.experiment import RunSpec, run_replay
from bench.results import is_finished, run_record, write_results
from bench.study import Task, unfinished
from cache.lookup.blackbox import BlackBox
from hpo.algorithms import get_algorithm
from hpo.errors import HPOError
from hpo.files import atomic_write_bytes
from hpo.isolation import Died, Isolated
from hpo.plugins import PluginFailure, call_limit
from reports.schema import ALGORITHM, BUDGET_TRAININGS, CONFIG_ERROR, MESSAGE, MODEL, SEED, WORKERS

__all__ = ["FAILED_SUFFIX", "Failed", "Replayed", "prefit_surrogates", "run_tasks", "save"]

FAILED_SUFFIX = ".failed.json"


@dataclass(frozen=True)
class Replayed:
    """A finished replay's rows and the metadata stored with them."""

    table: pa.Table
    meta: dict[str, Any]


@dataclass(frozen=True)
class Failed:
    """A replay whose plug-in failed, and why."""

    message: str


_BENCHMARKS: dict[tuple[str, str, str | None], tuple[BlackBox, str]] = {}


def _benchmark(spec: RunSpec) -> tuple[BlackBox, str]:
    # one load (and one surrogate fit) per model and process, shared by its replays, with the
    # digest of its table; the options were checked against the table when the budgets were planned
    where = spec.where
    key = (spec.model, where.mode, where.cache_dir)
    if key not in _BENCHMARKS:
        benchmark = BlackBox.load(spec.model, where.mode, where.cache_dir)
        _BENCHMARKS[key] = benchmark, benchmark.digest()
    return _BENCHMARKS[key]


def replay_task(task: Task, command: str, digest: str | None = None) -> Replayed | Failed:
    """Replay one task where this runs: its rows and metadata, or its plug-in's failure.

    With `digest` (the plan's digest of the model's table), a process whose cache differs (a
    cluster's worker with another hpobench) refuses to answer for it.
    """
    benchmark, found = _benchmark(task.spec)
    if digest is not None and found != digest:
        raise HPOError(
            f"this process's cache of {task.spec.model} is another one (digest {found}, the comparison's "
            f"{digest}): every worker needs the same hpobench and --cache-dir"
        )
    try:
        done = run_replay(task.spec, benchmark)
    except PluginFailure as exc:
        return Failed(str(exc))
    # what each row's config is worth (its seed mean at r_max): the regret of an incumbent is
    # measured on it, not on the lucky reading that made it the incumbent
    worth = benchmark.config_errors([row.config for row in done.outcome.rows], task.spec.settings.r_max)
    table, meta = run_record(task.spec, done, command, "compare-replay", columns={CONFIG_ERROR: worth})
    return Replayed(table, meta)


def failure_path(result: Path) -> Path:
    """Where a replay whose plug-in failed keeps the message (`seed-0000.failed.json`)."""
    return result.with_suffix(FAILED_SUFFIX)


def save(task: Task, outcome: Replayed | Failed | Died) -> Path:
    """Write a replay's result file, or its failure file (the task runs again on resume)."""
    task.path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(outcome, Replayed):
        failure_path(task.path).unlink(missing_ok=True)
        return write_results(task.path, outcome.table, outcome.meta)
    spec = task.spec
    record = {
        MODEL: spec.model,
        ALGORITHM: spec.algorithm,
        WORKERS: spec.where.workers,
        BUDGET_TRAININGS: spec.budget.epochs / spec.settings.r_max,
        SEED: spec.seed,
        MESSAGE: outcome.message.removeprefix(f"{spec.algorithm}: "),
    }
    atomic_write_bytes(failure_path(task.path), json.dumps(record, sort_keys=True).encode())
    return failure_path(task.path)


def prefit_surrogates(tasks: Sequence[Task], on_model: Callable[[str], None] | None = None) -> None:
    """Fit, in this process, the surrogate of every model a pending surrogate-mode task replays.

    Slow fits are kept on disk (`cache.lookup.fitted`), so the replay processes load them instead of
    each fitting its own.
    """
    specs = {}
    for task in tasks:
        if task.spec.where.mode == "surrogate" and not is_finished(task.path):
            specs.setdefault((task.spec.model, task.spec.where.cache_dir), task.spec)
    for spec in specs.values():
        if on_model:
            on_model(spec.model)
        _benchmark(spec)


def run_tasks(
    tasks: Sequence[Task],
    processes: int,
    command: str,
    on_done: Callable[[Task], None] | None = None,
    scheduler_address: str | None = None,
    digests: dict[str, str] | None = None,
) -> None:
    """Run the tasks whose result file is missing, in `processes` processes or on the Dask cluster
    at `scheduler_address` (whose workers check their cache against `digests`, per model).

    With one process and only built-in algorithms they run in this process. Otherwise locally they
    run in watched children (`hpo.isolation`): a replay whose process dies, overruns the plug-in
    time limit or runs out of memory is that replay's failure, and the others go on.
    """
    todo = _interleave(unfinished(tasks))
    done = on_done or (lambda task: None)
    if scheduler_address is not None:
        _run_on_cluster(todo, command, scheduler_address, digests or {}, done)
    elif processes <= 1 and not any(get_algorithm(t.spec.algorithm).outside for t in todo):
        for task in todo:
            save(task, replay_task(task, command))
            done(task)
    else:
        with Isolated(processes, call_limit()) as pool:
            for i, outcome in pool.run((i, replay_task, (task, command)) for i, task in enumerate(todo)):
                save(todo[i], outcome)
                done(todo[i])


def _run_on_cluster(
    todo: list[Task], command: str, address: str, digests: dict[str, str], done: Callable[[Task], None]
) -> None:
    # a worker that dies mid-replay (a plug-in's os._exit, the OOM killer) has its replay retried
    # on another; a second death is that replay's failure, as in watched local processes
    from distributed.scheduler import KilledWorker

    from hpo.execution.cluster import ClusterSpec, open_client, run_all

    if not todo:
        return
    with open_client(ClusterSpec(None, address, None)) as client:
        for task, future in run_all(
            client, replay_task, todo, lambda t: (t, command, digests.get(t.spec.model)), "replay"
        ):
            try:
                outcome = future.result()
            except KilledWorker:
                outcome = Died("its Dask worker died running it, twice")
            save(task, outcome)
            done(task)


def _interleave(tasks: Iterable[Task]) -> list[Task]:
    # seed-major order, so that each process touches every model early and the slow
    # algorithms (BO) do not all land at the end
    return sorted(tasks, key=lambda t: (t.spec.seed, t.spec.model, t.spec.algorithm, str(t.path)))
