"""`bench agree`: run experiments live and replayed side by side, and report how closely they match."""

from __future__ import annotations

from typing import Any

import click

from bench import options as opt
from cache.names import ANY_CONFIG_MODES
from hpo.algorithms import ALGORITHMS, DEFAULT_ALGORITHMS

__all__ = ["agree"]


@click.command()
@opt.model_option
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
@opt.halving_options
@opt.cache_dir_option
@opt.data_dir_option
@opt.device_option
@opt.threads_option
@opt.workers_option
@opt.scheduler_address_option
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=None, help="Output directory.")
@opt.quiet_option
def agree(quiet: bool, **options: Any) -> None:
    """Run algorithms x seeds live and replayed with the same seeds, and report how closely they agree."""
    from bench.printing import echo_agreement
    from bench.sessions import agree as session

    study = session.plan(**options)
    live, replays = len(study.todo("live")), len(study.todo("replay"))
    if not quiet:
        done = len(study.tasks) - live - replays
        click.echo(
            f"{len(study.tasks)} runs planned ({len(study.tasks) // 2} live, as many replayed), "
            f"{done} already in {study.out}, {live + replays} to run",
            err=True,
        )
    # live epochs are what takes the time; replays tick the bar by one when they finish
    bar = opt.progress_bar(
        quiet, total=live * study.spec.budget_epochs, unit="epoch", desc=f"agree {study.spec.model}"
    )
    spread = None if quiet else lambda n, at_once: click.echo(f"{n} live runs, {at_once} at a time", err=True)
    with bar:
        path, summary = session.execute(study, on_epochs=bar.update, on_side_by_side=spread)
        bar.total = max(bar.total, bar.n)  # the last job of a run may train past the budget
        bar.refresh()
    echo_agreement(summary)
    click.echo(f"report: {path}")
