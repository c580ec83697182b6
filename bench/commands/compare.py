"""`bench compare` (replay algorithms x seeds on the cache, then report) and `bench report`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import click

from bench.options import (
    algorithm_settings,
    cache_dir_option,
    halving_options,
    parse_algorithms,
    parse_names,
    parse_numbers,
    progress_bar,
    quiet_option,
)
from cache.names import MODES
from hpo.algorithms import ALGORITHMS, DEFAULT_ALGORITHMS
from hpo.catalog import CATALOG
from hpo.errors import ConfigError
from hpo.validation import check_int

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["compare", "report"]


@click.command()
@click.option(
    "--models", default=None, help="Comma-separated models to compare (default: every model in the cache)."
)
@click.option(
    "--algorithms",
    default=",".join(DEFAULT_ALGORITHMS),
    show_default=True,
    help=f"Comma-separated algorithms ({', '.join(ALGORITHMS)}), or plug-ins as module:Object[@scheduler].",
)
@click.option("--seeds", type=int, default=20, show_default=True, help="Replays per model and algorithm.")
@click.option(
    "--workers",
    default="4",
    show_default=True,
    help="Simulated parallel workers; a comma-separated list (1,4,16,64) sweeps them.",
)
@click.option("--mode", default="tabular", show_default=True, type=click.Choice(MODES), help="Cache lookups.")
@click.option(
    "--budget-trainings",
    default="32",
    show_default=True,
    help="Budget per replay: this many trainings' worth of epochs (x --r-max), the same for every worker "
    "count; a comma-separated list (32,128) sweeps them.",
)
@halving_options
@cache_dir_option
@click.option(
    "--processes",
    type=int,
    default=None,
    help="Processes running replays (default: the CPU count); results do not depend on it.",
)
@click.option(
    "--scheduler-address",
    default=None,
    metavar="tcp://HOST:PORT",
    help="Replay on a running Dask cluster's workers instead of local processes (the same rows).",
)
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=None, help="Output directory.")
@click.option("--log-time", is_flag=True, help="Draw simulated time on a log axis in the report.")
@quiet_option
def compare(
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
    quiet: bool,
) -> None:
    """Replay algorithms x seeds on the curve cache and write the anytime-performance HTML report."""
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
    from bench.compare import (
        PLAN_FILE,
        CompareSpec,
        cache_facts,
        make_report,
        plan,
        plan_record,
        write_curves,
    )
    from bench.replays import prefit_surrogates, run_tasks
    from bench.study import check_plan_file, study_dir, unfinished
    from hpo.cluster import check_reachable

    spec = CompareSpec(
        models=named_models or _cached_models(cache_dir),
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
    tasks = plan(spec, out)
    check_plan_file(out, record, keys=("spec", "cache", "regressors"), name=PLAN_FILE)
    write_curves(out, curves)
    todo = len(unfinished(tasks))
    if not quiet:
        click.echo(
            f"{len(tasks)} replays planned, {len(tasks) - todo} already in {out}, {todo} to run", err=True
        )
    prefit_surrogates(
        tasks, on_model=None if quiet else lambda m: click.echo(f"preparing the surrogate of {m}", err=True)
    )
    bar = progress_bar(quiet, total=todo, unit="replay", desc="compare")
    run_tasks(
        tasks,
        processes or os.cpu_count() or 1,
        record["command"],
        on_done=lambda task: bar.update(1),
        scheduler_address=scheduler_address,
        digests={model: model_facts["digest"] for model, model_facts in facts.items()},
    )
    bar.close()
    path, summary = make_report(out, log_time)
    _echo_summary(summary)
    click.echo(f"report: {path}")
    if summary.attrs.get("failures"):
        raise SystemExit(1)  # the report is written; the failed replays are the user's to look at


def _cached_models(cache_dir: str | None) -> tuple[str, ...]:
    from cache.tables import available_models, no_curves

    models = tuple(m for m in CATALOG if m in available_models(cache_dir))
    if not models:
        raise no_curves(None, cache_dir)
    return models


@click.command()
@click.argument("directory", type=click.Path(file_okay=False))
@click.option("--log-time", is_flag=True, help="Draw simulated time on a log axis (comparisons).")
def report(directory: str, log_time: bool) -> None:
    """Rebuild the HTML report of a comparison (or of a bench agree) from its stored results."""
    from bench import agreement
    from bench.compare import make_report

    if (Path(directory) / agreement.PLAN_FILE).is_file():
        from bench.commands.agree import echo_summary

        path, record = agreement.make_report(Path(directory))
        echo_summary(record)
    else:
        path, summary = make_report(Path(directory), log_time)
        _echo_summary(summary)
    click.echo(f"report: {path}")


def _echo_summary(summary: pd.DataFrame) -> None:
    from reports.formatting import readable_summary
    from reports.html import setting_title

    for failed in summary.attrs.get("failures", []):
        click.echo(
            f"{failed['algorithm']} failed in {failed['failed replays']} replays of {failed['model']} "
            f"({setting_title(failed['workers'], failed['budget_trainings'])}): {failed['message']}",
            err=True,
        )
    for ranking in summary.attrs.get("rankings", []):
        ranks = ", ".join(f"{a} {r:.2f}" for a, r in ranking["ranks"])
        click.echo(f"across models, {ranking['title']}: average rank {ranks}. {ranking['verdict']}")
    table = readable_summary(summary)
    widths = {c: max(len(c), *(len(str(v)) for v in table[c])) for c in table.columns}
    click.echo("  ".join(c.ljust(widths[c]) for c in table.columns).rstrip())
    for row in table.itertuples(index=False):
        click.echo(
            "  ".join(str(v).ljust(widths[c]) for c, v in zip(table.columns, row, strict=True)).rstrip()
        )
