"""One experiment from plan to files: what `bench run` does between parsing its options and printing.

`plan` turns the command's options into a `RunPlan` (the spec, where its files go, whether it
resumes); `execute` claims the directory, runs the experiment live or replayed, keeps what
finished when it is interrupted or loses its cluster, writes the result file and the progress
figure, and returns a `RunSummary` that says everything the command prints.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.experiment import LiveOptions, ReplayOptions, RunSpec, run_replay
from bench.options import algorithm_settings
from bench.results import RESULTS_FILE, RunWriter, path_name
from hpo import provenance
from hpo.errors import ConfigError
from hpo.execution.cluster import ClusterError, check_reachable
from hpo.space import SearchSpace
from hpo.tuner import Budget, Incumbent, Row, TuneOutcome

__all__ = ["RunPlan", "RunSummary", "execute", "plan"]


@dataclass(frozen=True)
class RunPlan:
    """An experiment to run and the directory it writes: new, replaced, or resumed."""

    spec: RunSpec
    out: Path
    resume: bool = False
    overwrite: bool = False
    final: bool = True  # train (or look up) the incumbent at r_max at the end

    @property
    def live(self) -> bool:
        """Whether trials really train (and write a journal a killed run resumes from)."""
        return self.spec.backend == "live"


@dataclass
class RunSummary:
    """What a finished experiment reports."""

    plan: RunPlan
    outcome: TuneOutcome
    trials: int
    elapsed: float
    results: Path
    figure: Path
    failures: list[dict[str, Any]] = field(default_factory=list)
    final: dict[str, Any] | None = None  # the incumbent at r_max: trained live, or the cache's values

    @property
    def best(self) -> Incumbent:
        """The final incumbent."""
        assert self.outcome.incumbent is not None
        return self.outcome.incumbent


def plan(
    *,
    model: str,
    algorithm: str,
    backend: str,
    mode: str,
    workers: int | None,
    scheduler_address: str | None,
    cache_dir: str | None,
    trials: int,
    budget_epochs: int | None,
    budget_seconds: float | None,
    eta: float,
    r_min: int,
    r_max: int,
    prefact: int,
    n_configs: int | None,
    space_file: str | None,
    seed: int,
    initial_default: bool,
    out_dir: str | None,
    overwrite: bool,
    resume_dir: str | None,
    no_final: bool,
    device: str,
    precision: str,
    data_dir: str | None,
    threads: int | None,
) -> RunPlan:
    """The experiment `bench run`'s options ask for, checked (a bad combination is a ConfigError)."""
    where: LiveOptions | ReplayOptions
    if backend == "live":
        where = LiveOptions(device, precision, data_dir, threads, workers, scheduler_address)
    elif scheduler_address is not None:
        raise ConfigError("--scheduler-address applies to live training; replays run in this process")
    elif precision != "fp32":
        raise ConfigError("--precision applies to live training; replays read the curves in the cache")
    else:
        where = ReplayOptions(1 if workers is None else workers, mode, cache_dir)
    spec = RunSpec(
        model=model,
        algorithm=algorithm,
        budget=Budget(trials=trials, epochs=budget_epochs, seconds=budget_seconds),
        settings=algorithm_settings(eta, r_min, r_max, prefact=prefact, n_configs=n_configs),
        seed=seed,
        space=SearchSpace.from_file(space_file) if space_file else None,
        initial_default=initial_default,
        where=where,
    )
    if resume_dir is not None and backend != "live":
        raise ConfigError("--resume continues a live run; a replay is rerun in seconds")
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    default_out = Path("results") / f"run-{model}-{path_name(algorithm)}-seed{seed}-{stamp}"
    out = Path(resume_dir or out_dir or default_out)
    if scheduler_address is not None and backend == "live":
        check_reachable(scheduler_address)  # before the directory is claimed
    return RunPlan(spec, out, resume=resume_dir is not None, overwrite=overwrite, final=not no_final)


def execute(run: RunPlan, on_result: Callable[[TuneOutcome, int], None] | None = None) -> RunSummary:
    """Run the plan and write its files; after every result `on_result` sees the outcome so far and
    the trials started (for a progress bar).

    Interrupted (Ctrl-C) or cut off from its cluster, a live run writes what finished, readable
    at once and resumable with `--resume`.
    """
    spec = run.spec
    writer = RunWriter(run.out, spec, provenance.command_line(), journal=run.live)
    recorded, states = writer.resume() if run.resume else writer.start(run.overwrite)
    seen: set[int] = set()
    so_far: list[TuneOutcome] = []  # the tuner's outcome so far, for an interrupted run's result file

    def record(row: Row, outcome: TuneOutcome) -> None:
        so_far[:] = [outcome]
        if run.live:
            writer.append(row)  # a killed run keeps every result so far
        seen.add(row.trial_id)
        if on_result is not None:
            on_result(outcome, len(seen))

    r_max = spec.settings.r_max
    try:
        if run.live:
            from bench.live_run import run_live  # torch and Dask: not for a replay

            done = run_live(spec, record, r_max if run.final else None, writer.save_state, recorded, states)
        else:  # a replay without a progress bar needs no call per result: it is counted at the end
            done = run_replay(spec, on_result=record if on_result is not None else None)
            seen.update(row.trial_id for row in done.outcome.rows)
    except KeyboardInterrupt:
        if run.live and so_far:
            writer.finish(so_far[0], complete=False)  # what finished, readable at once
        raise
    except ClusterError as exc:  # the cluster went away mid-run: what finished is kept, and resumable
        if not run.live or not so_far:
            raise
        writer.finish(so_far[0], complete=False)
        kept = len(so_far[0].rows)
        raise ClusterError(
            f"{exc}; {kept} results kept in {run.out}: continue with --resume {run.out}"
        ) from None
    outcome = done.outcome
    if outcome.incumbent is None:
        raise ConfigError("the experiment produced no results")
    table = writer.finish(outcome, complete=True, done=done)
    from reports.progress import progress_figure

    title = f"{spec.algorithm} on {spec.model}, seed {spec.seed}"
    figure = progress_figure(table.to_pandas(), run.out / "progress.png", title)
    summary = RunSummary(
        run,
        outcome,
        len(seen),
        done.backend.now,
        run.out / RESULTS_FILE,
        figure,
        getattr(done.backend, "failures", []),
    )
    if run.final and not run.live:
        best = outcome.incumbent
        train_seed = done.backend.objective.train_seed(best.trial_id)
        end = done.benchmark.value(best.config, r_max, train_seed)
        worth = float(done.benchmark.config_errors([best.config], r_max)[0])
        summary.final = {
            "epochs": r_max,
            "train_seed": train_seed,
            "val": end.val_error,
            "test": end.test_error,
            "worth": worth,
        }
    elif run.final and done.final is not None:
        summary.final = dict(done.final)
    return summary
