"""`bench agree`: run experiments live and replayed side by side, and report how closely they match."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor, as_completed

import click

from bench.options import (
    algorithm_settings,
    cache_dir_option,
    data_dir_option,
    device_option,
    halving_options,
    model_option,
    parse_algorithms,
    progress_bar,
    quiet_option,
    scheduler_address_option,
    threads_option,
    workers_option,
)
from cache.names import ANY_CONFIG_MODES
from hpo.algorithms import ALGORITHMS, DEFAULT_ALGORITHMS
from hpo.cluster import ClusterSpec

__all__ = ["agree", "echo_summary"]


@click.command()
@model_option
@click.option(
    "--algorithms",
    default=",".join(DEFAULT_ALGORITHMS),
    show_default=True,
    help=f"Comma-separated algorithms ({', '.join(ALGORITHMS)}), or plug-ins as module:Object[@scheduler].",
)
@click.option(
    "--seeds", type=int, default=3, show_default=True, help="Live runs (and replays) per algorithm."
)
@click.option(
    "--budget-epochs",
    type=int,
    default=200,
    show_default=True,
    help="Budget of every run, live or replayed: epochs trained (one worker).",
)
@click.option(
    "--mode",
    default="surrogate",
    show_default=True,
    type=click.Choice(ANY_CONFIG_MODES),
    help="How replays answer the configs a live run draws.",
)
@halving_options
@cache_dir_option
@data_dir_option
@device_option
@threads_option
@workers_option
@scheduler_address_option
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=None, help="Output directory.")
@quiet_option
def agree(
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
    quiet: bool,
) -> None:
    """Run algorithms x seeds live and replayed with the same seeds, and report how closely they agree."""
    # the options are read: now the stack of live and replayed runs (pandas, torch, Dask)
    from bench.agreement import PLAN_FILE, AgreeSpec, load_table, make_report, plan, plan_record, run_task
    from bench.study import check_plan_file, study_dir, unfinished
    from hpo.cluster import n_workers, open_client
    from hpo.data import get_dataset
    from hpo.training.remote import WorkerSettings, warm_up

    settings = algorithm_settings(eta, r_min, r_max)
    # live runs go side by side, one worker each: the threads of a worker follow from their number
    cluster = ClusterSpec(workers, scheduler_address, threads)
    spec = AgreeSpec(
        model=model,
        algorithms=parse_algorithms(algorithms),
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
    tasks = plan(spec, table, out)
    check_plan_file(out, record, keys=("spec", "cache"), name=PLAN_FILE)
    # fitted after the checks: a surrogate can take a minute (its fit is kept on disk when slow)
    benchmark = table.in_mode(spec.mode)
    todo = unfinished(tasks)
    live_todo = sum(t.spec.backend == "live" for t in todo)
    if not quiet:
        click.echo(
            f"{len(tasks)} runs planned ({len(tasks) // 2} live, as many replayed), "
            f"{len(tasks) - len(todo)} already in {out}, {len(todo)} to run",
            err=True,
        )
    # live epochs are what takes the time; replays tick the bar by one when they finish
    bar = progress_bar(quiet, total=live_todo * budget_epochs, unit="epoch", desc=f"agree {model}")
    lock = threading.Lock()

    def ticked(row, _) -> None:
        with lock:
            bar.update(row["epochs"] - row["resume_from"])

    live = [t for t in todo if t.spec.backend == "live"]
    if live:
        with open_client(cluster) as client:
            settings = WorkerSettings(device, spec.threads, data_dir, get_dataset())
            client.run(warm_up, settings)
            side_by_side = min(n_workers(client), workers or len(live), len(live))
            if not quiet:
                click.echo(f"{len(live)} live runs, {side_by_side} at a time", err=True)
            with ThreadPoolExecutor(side_by_side) as pool:
                futures = [
                    pool.submit(run_task, t, benchmark, record["command"], ticked, client) for t in live
                ]
                try:
                    for future in as_completed(futures):
                        future.result()
                except BaseException:
                    for future in futures:
                        future.cancel()
                    raise
    for task in todo:
        if task.spec.backend == "replay":
            run_task(task, benchmark, record["command"])
            bar.update(0)
    # the last job of a run may train past the budget: the total follows what was trained
    bar.total = max(bar.total, bar.n)
    bar.refresh()
    bar.close()
    path, summary = make_report(out)
    echo_summary(summary)
    click.echo(f"report: {path}")


def echo_summary(summary: dict) -> None:
    """Print the outcome table, the orders and the lookup figures (words where there is no number)."""
    import pandas as pd

    from reports.formatting import readable_lookups, readable_outcomes

    click.echo(
        f"{'algorithm':10} {'pairs':>5} {'live [95% band]':>24} {'replay [95% band]':>24} "
        f"{'gap replay - live [95% band]':>30}"
    )
    table = readable_outcomes(pd.DataFrame(summary["outcomes"]))
    for r in table.itertuples(index=False):
        click.echo(f"{r[0]:10} {r[1]:>5} {r[2]:>24} {r[3]:>24} {r[4]:>30}")
    order = summary["order"]
    tau = "" if order["kendall"] is None else f" (Kendall's tau {order['kendall']:.2f})"
    click.echo(f"best first, live: {' < '.join(order['live'])}; replayed: {' < '.join(order['replay'])}{tau}")
    for r in readable_lookups(pd.DataFrame(summary["lookups"])).to_dict(orient="records"):
        click.echo(
            f"cache vs live, {r['results']} ({r['n']}): Spearman {r['Spearman']}, Kendall {r['Kendall']}, "
            f"MAE {r['MAE']} (two trainings of one config: {r['two trainings of one config (MAE)']}), "
            f"bias {r['bias']}"
        )
