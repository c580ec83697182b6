"""Live runs beside their replays, from options to report: what `bench agree` does.

`plan` builds the study from the options and claims (or reopens) its directory; `execute` runs
the live runs not yet done side by side on one Dask cluster (one worker each), then their
replays, and builds the report from the stored results, so that an interrupted study resumes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.options import algorithm_settings, parse_algorithms
from hpo.execution.cluster import ClusterSpec

if TYPE_CHECKING:
    from bench.agreement import AgreeSpec
    from bench.study import Task
    from hpo.tuner import Row

__all__ = ["AgreePlan", "execute", "plan"]


@dataclass(frozen=True)
class AgreePlan:
    """An agreement study's runs (live and replayed), its directory and the cluster the live ones use."""

    spec: AgreeSpec
    out: Path
    tasks: list[Task]
    record: dict[str, Any]
    cluster: ClusterSpec
    benchmark: Any

    def todo(self, backend: str) -> list[Task]:
        """The runs of `backend` ('live' or 'replay') not yet in the directory."""
        from bench.study import unfinished

        return [task for task in unfinished(self.tasks) if task.spec.backend == backend]


def plan(
    *,
    model: str,
    algorithms: str,
    seeds: int,
    budget_epochs: int,
    mode: str,
    eta: float,
    r_min: int,
    r_max: int,
    cache_dir: str | None,
    data_dir: str | None,
    device: str,
    threads: int | None,
    workers: int | None,
    scheduler_address: str | None,
    out_dir: str | None,
) -> AgreePlan:
    """The study `bench agree`'s options ask for, its directory claimed and its lookups ready."""
    settings = algorithm_settings(eta, r_min, r_max)
    named = parse_algorithms(algorithms)
    # the options are read: now the stack of live and replayed runs (pandas, torch, Dask)
    from bench.agreement import PLAN_FILE, AgreeSpec, load_table, plan_record
    from bench.agreement import plan as plan_tasks
    from bench.study import check_plan_file, study_dir

    # live runs go side by side, one worker each: the threads of a worker follow from their number
    cluster = ClusterSpec(workers, scheduler_address, threads)
    spec = AgreeSpec(
        model=model,
        algorithms=named,
        seeds=seeds,
        budget_epochs=budget_epochs,
        mode=mode,
        settings=settings,
        cache_dir=cache_dir,
        data_dir=data_dir,
        device=device,
        threads=cluster.torch_threads(),
        scheduler_address=scheduler_address,
    )
    table = load_table(spec)
    record = plan_record(spec, table)
    out = study_dir(out_dir, f"agree-{model}-{seeds}seeds", [record["spec"], record["cache"]])
    tasks = plan_tasks(spec, table, out)
    check_plan_file(out, record, keys=("spec", "cache"), name=PLAN_FILE)
    # fitted after the checks: a surrogate can take a minute (its fit is kept on disk when slow)
    return AgreePlan(spec, out, tasks, record, cluster, table.in_mode(spec.mode))


def execute(
    study: AgreePlan,
    on_epochs: Callable[[int], None] | None = None,
    on_side_by_side: Callable[[int, int], None] | None = None,
) -> tuple[Path, dict[str, Any]]:
    """Run what is not yet done and write the report: its path and the summary.

    `on_epochs` hears of the epochs each live result trained (0 for a finished replay);
    `on_side_by_side(live runs, at a time)` of how the live runs are spread.
    """
    from bench.agreement import make_report, run_task
    from hpo.data import get_dataset
    from hpo.execution.cluster import n_workers, open_client
    from hpo.execution.remote import WorkerSettings, warm_up

    spec, command = study.spec, study.record["command"]
    lock = threading.Lock()

    def ticked(row: Row, _: Any) -> None:
        if on_epochs is not None:
            with lock:
                on_epochs(row.epochs - row.resume_from)

    live = study.todo("live")
    if live:
        with open_client(study.cluster) as client:
            client.run(warm_up, WorkerSettings(spec.device, spec.threads, spec.data_dir, get_dataset()))
            side_by_side = min(n_workers(client), study.cluster.workers or len(live), len(live))
            if on_side_by_side is not None:
                on_side_by_side(len(live), side_by_side)
            with ThreadPoolExecutor(side_by_side) as pool:
                futures = [pool.submit(run_task, t, study.benchmark, command, ticked, client) for t in live]
                try:
                    for future in as_completed(futures):
                        future.result()
                except BaseException:
                    for future in futures:
                        future.cancel()
                    raise
    for task in study.todo("replay"):
        run_task(task, study.benchmark, command)
        if on_epochs is not None:
            on_epochs(0)
    return make_report(study.out)
