"""`bench collect`: real trainings -> per-epoch curves in the Parquet cache."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

import click

from bench.options import (
    cache_dir_option,
    data_dir_option,
    device_option,
    load_space,
    model_option,
    progress_bar,
    quiet_option,
    scheduler_address_option,
    space_option,
    threads_option,
    workers_option,
)
from cache.names import DESIGNS
from hpo.catalog import model_entry

if TYPE_CHECKING:
    from cache.collect import Plan, TaskDone

__all__ = ["collect"]


@click.command()
@model_option
@click.option(
    "--configs", "n_configs", type=int, default=64, show_default=True, help="Configs in the design."
)
@click.option("--epochs", type=int, default=20, show_default=True, help="Epochs per training.")
@click.option(
    "--train-seeds", type=int, default=1, show_default=True, help="Trainings per config (seeds 0..K-1)."
)
@click.option(
    "--design", type=click.Choice(DESIGNS), default="sobol", show_default=True, help="How configs are drawn."
)
@click.option("--design-seed", type=int, default=0, show_default=True, help="Seed of the design.")
@space_option
@cache_dir_option
@workers_option
@scheduler_address_option
@threads_option
@device_option
@data_dir_option
@click.option(
    "--extend", is_flag=True, help="Allow a different design or epoch count into an existing cache."
)
@click.option(
    "--force", is_flag=True, help="Train again what the shipped cache already holds for the same settings."
)
@quiet_option
def collect(
    model: str,
    n_configs: int,
    epochs: int,
    train_seeds: int,
    design: str,
    design_seed: int,
    space_file: str | None,
    cache_dir: str | None,
    workers: int | None,
    scheduler_address: str | None,
    threads: int | None,
    device: str,
    data_dir: str | None,
    extend: bool,
    force: bool,
    quiet: bool,
) -> None:
    """Train a design of configs and store every epoch of every curve (resumable)."""
    # the options are read: now the collection's stack (pandas, pyarrow, torch, Dask)
    from cache.collect import CollectSpec
    from cache.collect import collect as run_collect
    from cache.locations import SHIPPED_ROOT, writable_store
    from cache.store import CurveStore

    spec = CollectSpec(
        model=model,
        n_configs=n_configs,
        epochs=epochs,
        train_seeds=train_seeds,
        design=design,
        design_seed=design_seed,
        space=load_space(space_file, model_entry(model).space) if space_file else None,
        device=device,
        workers=workers,
        threads=threads,
        scheduler_address=scheduler_address,
        data_dir=data_dir,
        extend=extend,
    )
    store = writable_store(cache_dir)
    state: dict = {"epochs": 0, "bar": None, "open": Counter(), "configs": 0, "failed": []}

    def on_start(work: Plan) -> None:
        if not quiet:
            have = len(work.tasks) - len(work.missing)
            where = spec.scheduler_address or f"{spec.cluster.n_local_workers} local workers"
            click.echo(
                f"{model}: {len(work.tasks)} trainings planned, {have} already cached, {len(work.missing)} to run "
                f"on {where}, into {store.model_dir(model)}",
                err=True,
            )
        # a config is done once every one of its training seeds is stored
        state["open"] = Counter(t.config_id for t in work.missing)
        state["configs"] = len({t.config_id for t in work.tasks})
        state["bar"] = progress_bar(quiet, total=len(work.missing), unit="training", desc=f"collect {model}")
        state["bar"].set_postfix(configs=f"{configs_done()}/{state['configs']}")

    def configs_done() -> int:
        return state["configs"] - sum(1 for n in state["open"].values() if n > 0)

    def on_done(done: TaskDone) -> None:
        bar = state["bar"]
        if done.status == "failed":
            state["failed"].append(done)
            bar.write(f"failed: config {done.task.config_id} seed {done.task.train_seed}: {done.error}")
        state["epochs"] += done.epochs
        rate = state["epochs"] / max(bar.format_dict["elapsed"], 1e-9)
        state["open"][done.task.config_id] -= 1
        bar.set_postfix(
            configs=f"{configs_done()}/{state['configs']}", epochs_per_s=f"{rate:.2f}", last=done.status
        )
        bar.update(1)

    # into the user's cache, the shipped cache's trainings of the same collection count as done
    reuse = () if force or cache_dir is not None else (CurveStore(SHIPPED_ROOT),)
    try:
        work = run_collect(spec, store, on_start=on_start, on_done=on_done, reuse=reuse)
    finally:
        if state["bar"] is not None:
            state["bar"].close()
    failed = state["failed"]
    if not quiet:
        stored = len(work.tasks) - len(failed)
        click.echo(f"{model}: {stored} of {len(work.tasks)} trainings in {store.model_dir(model)}", err=True)
    if failed:
        raise click.ClickException(
            f"{len(failed)} trainings failed twice and were not stored (rerun to try them again); "
            f"first: {failed[0].error}"
        )
