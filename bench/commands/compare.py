"""`bench compare` (replay algorithms x seeds on the cache, then report) and `bench report`."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import click
import pandas as pd

from bench.compare import (
    CURVES_FILE,
    DEFAULT_ALGORITHMS,
    PLAN_FILE,
    RUNS_DIR,
    CompareSpec,
    cache_facts,
    check_plan_file,
    plan,
    plan_record,
    prefit_surrogates,
    read_plan,
    run_tasks,
    write_curves,
)
from bench.options import (
    cache_dir_option,
    halving_options,
    parse_names,
    parse_numbers,
    progress_bar,
    quiet_option,
)
from bench.results import is_finished, read_results
from cache.benchmark import MODES
from cache.tables import available_models, no_curves
from hpo.algorithms import ALGORITHMS, AlgorithmSettings
from hpo.errors import HPOError
from hpo.files import atomic_write_bytes
from hpo.models import MODELS
from hpo.validation import check_int

REPORT_FILE = "report.html"


@click.command()
@click.option(
    "--models", default=None, help="Comma-separated models to compare (default: every model in the cache)."
)
@click.option(
    "--algorithms",
    default=",".join(DEFAULT_ALGORITHMS),
    show_default=True,
    help=f"Comma-separated algorithms ({', '.join(ALGORITHMS)}).",
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
    out_dir: str | None,
    log_time: bool,
    quiet: bool,
) -> None:
    """Replay algorithms x seeds on the curve cache and write the anytime-performance HTML report."""
    settings = AlgorithmSettings(eta=int(eta) if float(eta).is_integer() else eta, r_min=r_min, r_max=r_max)
    spec = CompareSpec(
        models=parse_names(models, MODELS, "model") if models else _cached_models(cache_dir),
        algorithms=parse_names(algorithms, ALGORITHMS, "algorithm"),
        seeds=seeds,
        workers=parse_numbers(workers, "--workers", int),
        mode=mode,
        budget_trainings=parse_numbers(budget_trainings, "--budget-trainings", float),
        settings=settings,
        cache_dir=cache_dir,
    )
    check_int("--processes", processes, optional=True)
    facts, curves = cache_facts(spec)
    record = plan_record(spec, facts)
    # by default one directory per (settings, cache): the same command resumes, another one (or
    # a changed cache) starts afresh beside it
    hashed = [record["spec"], facts] + ([record["regressors"]] if "regressors" in record else [])
    key = hashlib.sha256(json.dumps(hashed, sort_keys=True).encode()).hexdigest()[:8]
    out = Path(out_dir) if out_dir else Path("results") / f"compare-{mode}-{seeds}seeds-{key}"
    tasks = plan(spec, out)
    check_plan_file(out, record)
    write_curves(out, curves)
    todo = sum(not is_finished(t.path) for t in tasks)
    if not quiet:
        click.echo(
            f"{len(tasks)} replays planned, {len(tasks) - todo} already in {out}, {todo} to run", err=True
        )
    prefit_surrogates(
        tasks, on_model=None if quiet else lambda m: click.echo(f"preparing the surrogate of {m}", err=True)
    )
    bar = progress_bar(quiet, total=todo, unit="replay", desc="compare")
    run_tasks(tasks, processes or os.cpu_count() or 1, record["command"], on_done=lambda task: bar.update(1))
    bar.close()
    path, summary = _report(out, log_time)
    _echo_summary(summary)
    click.echo(f"report: {path}")


def _cached_models(cache_dir: str | None) -> tuple[str, ...]:
    models = tuple(m for m in MODELS if m in available_models(cache_dir))
    if not models:
        raise no_curves(None, cache_dir)
    return models


@click.command()
@click.argument("directory", type=click.Path(file_okay=False))
@click.option("--log-time", is_flag=True, help="Draw simulated time on a log axis (comparisons).")
def report(directory: str, log_time: bool) -> None:
    """Rebuild the HTML report of a comparison (or of a bench agree) from its stored results."""
    from bench import agreement

    if (Path(directory) / agreement.PLAN_FILE).is_file():
        from bench.commands.agree import echo_summary, write_report

        path, record = write_report(Path(directory))
        echo_summary(record)
    else:
        path, summary = _report(Path(directory), log_time)
        _echo_summary(summary)
    click.echo(f"report: {path}")


def _echo_summary(summary: pd.DataFrame) -> None:
    from reports.formatting import readable_summary

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


def _report(out: Path, log_time: bool = False) -> tuple[Path, pd.DataFrame]:
    from reports.html import build_report

    plan_path = out / PLAN_FILE
    if not plan_path.is_file():
        raise HPOError(f"{out}: no {PLAN_FILE}; is it the --out of a bench compare or bench agree?")
    record = read_plan(
        plan_path,
        {"spec": dict, "command": str, "created": str, "cache": dict},
        {
            "algorithms": list,
            "models": list,
            "seeds": int,
            "workers": list,
            "budget_trainings": list,
            "mode": str,
            "settings": dict,
        },
    )
    spec = record["spec"]
    r_max = spec["settings"].get("r_max")
    frames, usage, environments = [], [], []
    for path in sorted((out / RUNS_DIR).glob("*/*/*/seed-*.parquet")):
        rows, meta = read_results(path)
        run = meta["spec"]
        setting = {"workers": run["workers"], "budget_trainings": run["budget"]["epochs"] / r_max}
        frames.append(rows.assign(**setting))
        environments.append(meta.get("environment", {}))
        usage.append(
            {
                "model": run["model"],
                "algorithm": run["algorithm"],
                **setting,
                "utilisation": meta["busy_seconds"] / (run["workers"] * meta["makespan_seconds"])
                if meta["makespan_seconds"] > 0
                else float("nan"),
                "full_trainings": int((rows["epochs"] == r_max).sum()),
                "exhausted": meta.get("exhausted_at") is not None,
            }
        )
    if not frames:
        raise HPOError(f"{out}: no replay results under {out / RUNS_DIR}")
    rows = pd.concat(frames, ignore_index=True)
    keys = ["model", "algorithm", "workers", "budget_trainings"]
    usage_table = (
        pd.DataFrame(usage)
        .groupby(keys, as_index=False)[["utilisation", "full_trainings", "exhausted"]]
        .mean()
    )
    curves = read_results(out / CURVES_FILE)[0] if (out / CURVES_FILE).is_file() else None
    text, summary = build_report(rows, usage_table, record, environments, curves, log_time)
    path = out / REPORT_FILE
    atomic_write_bytes(path, text.encode("utf-8"))
    return path, summary
