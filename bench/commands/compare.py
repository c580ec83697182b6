"""`bench compare` (replay algorithms x seeds on the cache, then report) and `bench report`."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import click
import pandas as pd

from bench.compare import (
    DEFAULT_ALGORITHMS,
    PLAN_FILE,
    RUNS_DIR,
    CompareSpec,
    check_plan_file,
    model_budgets,
    plan,
    plan_record,
    prefit_surrogates,
    read_plan,
    run_tasks,
)
from bench.options import cache_dir_option, halving_options, parse_names, progress_bar, quiet_option
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
@click.option("--workers", type=int, default=4, show_default=True, help="Simulated parallel workers.")
@click.option("--mode", default="tabular", show_default=True, type=click.Choice(MODES), help="Cache lookups.")
@click.option(
    "--budget-trainings",
    type=float,
    default=32.0,
    show_default=True,
    help="Budget per replay: the simulated time the workers need to train this many median configs to --r-max.",
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
@quiet_option
def compare(
    models: str | None,
    algorithms: str,
    seeds: int,
    workers: int,
    mode: str,
    budget_trainings: float,
    eta: float,
    r_min: int,
    r_max: int,
    cache_dir: str | None,
    processes: int | None,
    out_dir: str | None,
    quiet: bool,
) -> None:
    """Replay algorithms x seeds on the curve cache and write the anytime-performance HTML report."""
    settings = AlgorithmSettings(eta=int(eta) if float(eta).is_integer() else eta, r_min=r_min, r_max=r_max)
    spec = CompareSpec(
        models=parse_names(models, MODELS, "model") if models else _cached_models(cache_dir),
        algorithms=parse_names(algorithms, ALGORITHMS, "algorithm"),
        seeds=seeds,
        workers=workers,
        mode=mode,
        budget_trainings=budget_trainings,
        settings=settings,
        cache_dir=cache_dir,
    )
    check_int("--processes", processes, optional=True)
    budgets = model_budgets(spec)
    record = plan_record(spec, budgets)
    # by default one directory per (settings, cache budgets): the same command resumes, another
    # one (or a changed cache) starts afresh beside it
    hashed = [record["spec"], budgets] + ([record["regressors"]] if "regressors" in record else [])
    key = hashlib.sha256(json.dumps(hashed, sort_keys=True).encode()).hexdigest()[:8]
    out = Path(out_dir) if out_dir else Path("results") / f"compare-{mode}-{seeds}seeds-{key}"
    tasks = plan(spec, budgets, out)
    check_plan_file(out, record)
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
    path, summary = _report(out)
    _echo_summary(summary)
    click.echo(f"report: {path}")


def _cached_models(cache_dir: str | None) -> tuple[str, ...]:
    models = tuple(m for m in MODELS if m in available_models(cache_dir))
    if not models:
        raise no_curves(None, cache_dir)
    return models


@click.command()
@click.argument("directory", type=click.Path(file_okay=False))
def report(directory: str) -> None:
    """Rebuild the HTML report of a comparison (or of a bench agree) from its stored results."""
    from bench import agreement

    if (Path(directory) / agreement.PLAN_FILE).is_file():
        from bench.commands.agree import echo_summary, write_report

        path, record = write_report(Path(directory))
        echo_summary(record)
    else:
        path, summary = _report(Path(directory))
        _echo_summary(summary)
    click.echo(f"report: {path}")


def _echo_summary(summary: pd.DataFrame) -> None:
    click.echo(
        f"{'model':8} {'algorithm':10} {'val error [95% band]':>24} {'test error':>10} "
        f"{'speed-up [95% band]':>21} {'busy':>5}"
    )
    for r in summary.itertuples(index=False):
        band = f"{r.val_error:.4f} [{r.val_lo:.4f}, {r.val_hi:.4f}]"
        speed = f"{r.speedup:.2f}x" if r.speedup == r.speedup else "-"
        if r.speedup_lo == r.speedup_lo:
            speed += f" [{r.speedup_lo:.2f}, {r.speedup_hi:.2f}]"
        click.echo(
            f"{r.model:8} {r.algorithm:10} {band:>24} {r.test_error:>10.4f} {speed:>21} {r.utilisation:>5.0%}"
        )


def _report(out: Path) -> tuple[Path, pd.DataFrame]:
    from reports.html import build_report

    plan_path = out / PLAN_FILE
    if not plan_path.is_file():
        raise HPOError(f"{out}: no {PLAN_FILE}; is it the --out of a bench compare or bench agree?")
    record = read_plan(
        plan_path,
        {"spec": dict, "command": str, "created": str, "budget_seconds": dict},
        {"algorithms": list, "models": list, "seeds": int, "workers": int, "mode": str, "settings": dict},
    )
    frames, usage = [], []
    for path in sorted((out / RUNS_DIR).glob("*/*/seed-*.parquet")):
        rows, meta = read_results(path)
        frames.append(rows)
        spec = meta["spec"]
        usage.append(
            {
                "model": spec["model"],
                "algorithm": spec["algorithm"],
                "utilisation": meta["busy_seconds"] / (spec["workers"] * meta["makespan_seconds"])
                if meta["makespan_seconds"] > 0
                else float("nan"),
            }
        )
    if not frames:
        raise HPOError(f"{out}: no replay results under {out / RUNS_DIR}")
    rows = pd.concat(frames, ignore_index=True)
    utilisation = pd.DataFrame(usage).groupby(["model", "algorithm"], as_index=False)["utilisation"].mean()
    spec = record["spec"]
    notes = {
        "command": record["command"],
        "created": record["created"],
        "replays": f"{len(frames)} ({', '.join(spec['algorithms'])} x {spec['seeds']} seeds x "
        f"{', '.join(spec['models'])}), {spec['workers']} simulated workers, {spec['mode']} lookups",
        "settings": json.dumps(spec["settings"], sort_keys=True),
    }
    budgets = {m: b for m, b in record["budget_seconds"].items() if m in set(rows["model"])}
    text, summary = build_report(
        rows, budgets, utilisation, "HPO comparison on the learning-curve cache", notes
    )
    path = out / REPORT_FILE
    atomic_write_bytes(path, text.encode("utf-8"))
    return path, summary
