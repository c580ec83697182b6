"""`bench collect`: real trainings -> per-epoch curves in the Parquet cache."""

from __future__ import annotations

from typing import Any

import click

from bench import options as opt

__all__ = ["collect"]


@click.command()
@opt.model_option
@opt.design_options
@opt.space_option
@opt.cache_dir_option
@opt.workers_option
@opt.scheduler_address_option
@opt.threads_option
@opt.device_option
@opt.data_dir_option
@click.option(
    "--extend", is_flag=True, help="Allow a different design or epoch count into an existing cache."
)
@click.option(
    "--force", is_flag=True, help="Train again what the shipped cache already holds for the same settings."
)
@opt.quiet_option
def collect(quiet: bool, **options: Any) -> None:
    """Train a design of configs and store every epoch of every curve (resumable)."""
    from bench.sessions import collect as session

    collection = session.plan(**options)
    model, into = collection.spec.model, collection.store.model_dir(collection.spec.model)
    bars: list[Any] = []

    def on_start(tally: session.Tally) -> None:
        missing = tally.planned - tally.already
        if not quiet:
            click.echo(
                f"{model}: {tally.planned} trainings planned, {tally.already} already cached, {missing} to run "
                f"on {session.where(collection)}, into {into}",
                err=True,
            )
        bars.append(opt.progress_bar(quiet, total=missing, unit="training", desc=f"collect {model}"))
        bars[0].set_postfix(configs=f"{tally.configs_done}/{tally.configs}")

    def on_done(done: Any, tally: session.Tally) -> None:
        bar = bars[0]
        if done.status == "failed":
            bar.write(f"failed: config {done.task.config_id} seed {done.task.train_seed}: {done.error}")
        rate = tally.epochs / max(bar.format_dict["elapsed"], 1e-9)
        bar.set_postfix(
            configs=f"{tally.configs_done}/{tally.configs}", epochs_per_s=f"{rate:.2f}", last=done.status
        )
        bar.update(1)

    try:
        tally = session.execute(collection, on_start, on_done)
    finally:
        for bar in bars:
            bar.close()
    if not quiet:
        click.echo(
            f"{model}: {tally.planned - len(tally.failed)} of {tally.planned} trainings in {into}", err=True
        )
    if tally.failed:
        raise click.ClickException(
            f"{len(tally.failed)} trainings failed twice and were not stored (rerun to try them again); "
            f"first: {tally.failed[0].error}"
        )
