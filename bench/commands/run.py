"""`bench run`: one HPO experiment (live or replayed), its rows, its progress figure, its best config."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from bench.options import (
    BACKENDS,
    algorithm_settings,
    cache_dir_option,
    data_dir_option,
    device_option,
    halving_options,
    model_option,
    precision_option,
    progress_bar,
    quiet_option,
    scheduler_address_option,
    space_option,
    threads_option,
)
from cache.names import MODES
from hpo.algorithms import ALGORITHMS, get_algorithm
from hpo.errors import ConfigError
from hpo.validation import check_int

__all__ = ["run"]


@click.command()
@model_option
@click.option(
    "--algorithm",
    required=True,
    help=f"HPO algorithm: {', '.join(ALGORITHMS)}, or a plug-in as module:Object[@scheduler].",
)
@click.option(
    "--backend", default="live", show_default=True, type=click.Choice(BACKENDS), help="Where trials run."
)
@click.option(
    "--mode", default="tabular", show_default=True, type=click.Choice(MODES), help="Replay lookups."
)
@click.option(
    "--workers",
    type=int,
    default=None,
    help="Parallel workers: local Dask workers that train (default: one per core), simulated in replays (default 1).",
)
@scheduler_address_option
@cache_dir_option
@click.option("--trials", type=int, default=20, show_default=True, help="New trials (configs) to start.")
@click.option(
    "--budget-epochs", type=int, default=None, help="Also stop starting work after this many epochs."
)
@click.option(
    "--budget-seconds", type=float, default=None, help="Also stop starting work after this many seconds."
)
@halving_options
@click.option(
    "--prefact", type=int, default=1, show_default=True, help="SH: a bracket starts prefact * eta^K configs."
)
@click.option("--n-configs", type=int, default=None, help="SH: configs per bracket (overrides --prefact).")
@space_option
@click.option("--seed", type=int, default=0, show_default=True, help="Experiment seed.")
@click.option("--initial-default", is_flag=True, help="Try the model's default config first.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=None, help="Output directory.")
@click.option("--overwrite", is_flag=True, help="Replace results already in --out.")
@click.option(
    "--resume",
    "resume_dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Continue the interrupted live run in this directory (same options); nothing finished runs again.",
)
@click.option("--no-final", is_flag=True, help="Skip training the best config to --r-max at the end.")
@device_option
@precision_option
@data_dir_option
@threads_option
@quiet_option
def run(
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
    quiet: bool,
) -> None:
    """Run one HPO experiment: live FashionMNIST training, or a replay of the curve cache."""
    check_int("--trials", trials)
    get_algorithm(algorithm)  # a mistyped name: one line, before the experiment's stack loads
    # the options are read: now the experiment's stack (pandas and pyarrow; torch and Dask for a live run)
    from bench.experiment import LiveOptions, ReplayOptions, RunSpec, run_replay
    from bench.results import RESULTS_FILE, RunWriter, path_name
    from hpo import provenance
    from hpo.cluster import ClusterError, check_reachable
    from hpo.space import SearchSpace
    from hpo.tuner import Budget

    settings = algorithm_settings(eta, r_min, r_max, prefact=prefact, n_configs=n_configs)
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
        settings=settings,
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
    command = provenance.command_line()
    if scheduler_address is not None:
        check_reachable(scheduler_address)  # before the directory is claimed
    writer = RunWriter(out, spec, command, journal=backend == "live")
    recorded, states = writer.resume() if resume_dir else writer.start(overwrite)

    bar = progress_bar(quiet, total=trials, unit="trial", desc=f"{algorithm} on {model}")
    seen: set[int] = set()

    live_outcome: list = []  # the tuner's outcome so far, for an interrupted run's result file

    def on_result(row, outcome) -> None:
        live_outcome[:] = [outcome]
        if backend == "live":
            writer.append(row)  # a killed run keeps every result so far
        if row["trial_id"] not in seen:
            seen.add(row["trial_id"])
            bar.update(1)
        bar.set_postfix(best=f"{outcome.incumbent.val_error:.4f}", epochs=outcome.epochs_trained)

    final_epochs = None if no_final else r_max
    on_state = writer.save_state if backend == "live" else None
    try:
        if backend == "live":
            from bench.live_run import run_live  # torch and Dask: not for a replay

            done = run_live(spec, on_result, final_epochs, on_state, recorded, states)
        else:
            done = run_replay(spec, on_result=on_result)
    except KeyboardInterrupt:
        bar.close()
        if backend == "live" and live_outcome:
            writer.finish(live_outcome[0], complete=False)  # what finished, readable at once
        raise
    except ClusterError as exc:  # the cluster went away mid-run: what finished is kept, and resumable
        bar.close()
        if backend != "live" or not live_outcome:
            raise
        writer.finish(live_outcome[0], complete=False)
        kept = len(live_outcome[0].rows)
        raise ClusterError(f"{exc}; {kept} results kept in {out}: continue with --resume {out}") from None
    finally:
        bar.close()
    outcome = done.outcome
    if outcome.incumbent is None:
        raise ConfigError("the experiment produced no results")
    table = writer.finish(outcome, complete=True, done=done)
    from reports.progress import progress_figure

    figure = progress_figure(table.to_pandas(), out / "progress.png", f"{algorithm} on {model}, seed {seed}")
    best = outcome.incumbent
    clock = "s" if backend == "live" else "simulated s"
    click.echo(
        f"{len(outcome.rows)} results from {len(seen)} trials, {outcome.epochs_trained} epochs, {done.backend.now:.1f} {clock}"
    )
    click.echo(
        f"best validation error {best.val_error:.4f} (trial {best.trial_id}, {best.epochs} epochs): {_fmt(best.config)}"
    )
    failures = getattr(done.backend, "failures", [])
    for failure in failures:
        click.echo(
            f"failed: trial {failure['trial_id']} to {failure['epochs']} epochs: {failure['error']}", err=True
        )
    click.echo(f"results: {out / RESULTS_FILE}\nfigure:  {figure}")
    if not no_final and backend == "replay":
        train_seed = done.backend.objective.train_seed(best.trial_id)
        end = done.benchmark.value(best.config, r_max, train_seed)
        worth = float(done.benchmark.config_errors([best.config], r_max)[0])
        click.echo(
            f"best config at {r_max} epochs in the cache ({mode}, training seed {train_seed}): "
            f"validation accuracy {1 - end.val_error:.2%}, test accuracy {1 - end.test_error:.2%}; "
            f"worth (mean over its cached seeds) {1 - worth:.2%}"
        )
    elif not no_final and done.final is not None:
        final = done.final
        click.echo(
            f"best config trained to {final['epochs']} epochs: train accuracy {1 - final['train']:.2%}, "
            f"validation accuracy {1 - final['val']:.2%}, test accuracy {1 - final['test']:.2%}"
        )


def _fmt(config: dict) -> str:
    return ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in config.items())
