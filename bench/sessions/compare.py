"""A comparison from options to report: what `bench compare` does between parsing and printing.

`plan` checks the options, reads the caches' facts, claims (or reopens) the study directory and
lists the replays; `execute` runs the ones not yet done, locally or on a Dask cluster, and builds
the report from the stored results alone, so that an interrupted comparison resumes where it was.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.options import algorithm_settings, parse_algorithms, parse_names, parse_numbers
from hpo.catalog import CATALOG
from hpo.errors import ConfigError
from hpo.validation import check_int

if TYPE_CHECKING:
    import pandas as pd

    from bench.compare import CompareSpec
    from bench.study import Task

__all__ = ["ComparePlan", "execute", "plan"]


@dataclass(frozen=True)
class ComparePlan:
    """A comparison's replays, its directory, and the facts of the caches it reads."""

    spec: CompareSpec
    out: Path
    tasks: list[Task]
    record: dict[str, Any]
    facts: dict[str, dict[str, Any]]
    processes: int | None = None
    scheduler_address: str | None = None
    log_time: bool = False

    @property
    def todo(self) -> int:
        """Replays not yet in the directory."""
        from bench.study import unfinished

        return len(unfinished(self.tasks))


def plan(
    *,
    models: str | None,
    algorithms: str,
    seeds: int,
    workers: str,
    mode: str,
    budget_trainings: str,
    eta: float,
    r_min: int,
    r_max: int,
    cache_dir: str | None,
    processes: int | None,
    scheduler_address: str | None,
    out_dir: str | None,
    log_time: bool,
) -> ComparePlan:
    """The comparison `bench compare`'s options ask for, its directory claimed and its curves written."""
    settings = algorithm_settings(eta, r_min, r_max)
    named_models = parse_names(models, CATALOG, "model") if models else None
    named_algorithms = parse_algorithms(algorithms)
    check_int("--seeds", seeds)
    worker_counts = parse_numbers(workers, "--workers", int)
    budgets = parse_numbers(budget_trainings, "--budget-trainings", float)
    check_int("--processes", processes, optional=True)
    if processes is not None and scheduler_address is not None:
        raise ConfigError("--processes applies to local replays; on a cluster its workers run them")
    # the options are read: now the replay's stack (pandas, pyarrow)
    from bench.compare import PLAN_FILE, CompareSpec, cache_facts, plan_record, write_curves
    from bench.compare import plan as plan_tasks
    from bench.study import check_plan_file, study_dir
    from cache.store.tables import cached_models
    from hpo.execution.cluster import check_reachable

    spec = CompareSpec(
        models=named_models or tuple(cached_models(None, cache_dir)),
        algorithms=named_algorithms,
        seeds=seeds,
        workers=worker_counts,
        mode=mode,
        budget_trainings=budgets,
        settings=settings,
        cache_dir=cache_dir,
    )
    facts, curves = cache_facts(spec)
    if scheduler_address is not None:
        check_reachable(scheduler_address)  # before anything is written
    record = plan_record(spec, facts)
    # by default one directory per (settings, cache): the same command resumes, another one (or
    # a changed cache) starts afresh beside it
    hashed = [record["spec"], facts] + ([record["regressors"]] if "regressors" in record else [])
    out = study_dir(out_dir, f"compare-{mode}-{seeds}seeds", hashed)
    tasks = plan_tasks(spec, out)
    check_plan_file(out, record, keys=("spec", "cache", "regressors"), name=PLAN_FILE)
    write_curves(out, curves)
    return ComparePlan(spec, out, tasks, record, facts, processes, scheduler_address, log_time)


def execute(
    comparison: ComparePlan,
    on_done: Callable[[Task], None] | None = None,
    on_model: Callable[[str], None] | None = None,
) -> tuple[Path, pd.DataFrame]:
    """Run the replays not yet done and write the report: its path and the summary table.

    `on_model` hears of each surrogate being prepared, `on_done` of each finished replay.
    """
    from bench.compare import make_report
    from bench.replays import prefit_surrogates, run_tasks

    prefit_surrogates(comparison.tasks, on_model=on_model)
    run_tasks(
        comparison.tasks,
        comparison.processes or os.cpu_count() or 1,
        comparison.record["command"],
        on_done=on_done,
        scheduler_address=comparison.scheduler_address,
        digests={model: model_facts["digest"] for model, model_facts in comparison.facts.items()},
    )
    return make_report(comparison.out, comparison.log_time)
