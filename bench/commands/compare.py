"""`bench compare` (replay algorithms x seeds on the cache, then report) and `bench report`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from bench import options as opt

__all__ = ["compare", "report"]


@click.command()
@opt.comparison_options
@opt.halving_options
@opt.cache_dir_option
@opt.replay_place_options
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=None, help="Output directory.")
@click.option("--log-time", is_flag=True, help="Draw simulated time on a log axis in the report.")
@opt.quiet_option
def compare(quiet: bool, **options: Any) -> None:
    """Replay algorithms x seeds on the curve cache and write the anytime-performance HTML report."""
    from bench.printing import echo_comparison
    from bench.sessions import compare as session

    comparison = session.plan(**options)
    todo = comparison.todo
    if not quiet:
        planned = len(comparison.tasks)
        click.echo(
            f"{planned} replays planned, {planned - todo} already in {comparison.out}, {todo} to run",
            err=True,
        )
    with opt.progress_bar(quiet, total=todo, unit="replay", desc="compare") as bar:
        preparing = None if quiet else lambda m: click.echo(f"preparing the surrogate of {m}", err=True)
        path, summary = session.execute(comparison, on_done=lambda task: bar.update(1), on_model=preparing)
    echo_comparison(summary)
    click.echo(f"report: {path}")
    if summary.attrs.get("failures"):
        raise SystemExit(1)  # the report is written; the failed replays are the user's to look at


@click.command()
@click.argument("directory", type=click.Path(file_okay=False))
@click.option("--log-time", is_flag=True, help="Draw simulated time on a log axis (comparisons).")
def report(directory: str, log_time: bool) -> None:
    """Rebuild the HTML report of a comparison (or of a bench agree) from its stored results."""
    from bench import agreement
    from bench.compare import make_report
    from bench.printing import echo_agreement, echo_comparison

    if (Path(directory) / agreement.PLAN_FILE).is_file():
        path, record = agreement.make_report(Path(directory))
        echo_agreement(record)
    else:
        path, summary = make_report(Path(directory), log_time)
        echo_comparison(summary)
    click.echo(f"report: {path}")
