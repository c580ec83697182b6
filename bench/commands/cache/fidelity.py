"""`bench cache fidelity`: held-out figures of the surrogate a replay's nearest and surrogate modes use."""

from __future__ import annotations

from typing import Any

import click

from bench import options as opt
from cache.names import REGRESSORS

__all__ = ["fidelity"]


@click.command()
@click.argument("model", required=False)
@click.option(
    "--regressor",
    type=click.Choice([*REGRESSORS, "all"]),
    default=None,
    help="Surrogate regressor (default: the model's preferred one; 'all' compares them).",
)
@click.option(
    "--folds",
    type=click.IntRange(min=2),
    default=5,
    show_default=True,
    help="Cross-validation folds over configs.",
)
@click.option("--seed", type=int, default=0, show_default=True)
@opt.space_option
@opt.cache_dir_option
@opt.json_option
@opt.quiet_option
def fidelity(as_json: bool, quiet: bool, **options: Any) -> None:
    """Held-out Spearman, Kendall, MAE and regret of the surrogate's final validation error.

    With --space, only the collected configs inside that space are held out and scored (the
    region a replay with the same --space searches); the fits still learn from every config.
    """
    from bench.printing import fidelity_line, pick_line
    from bench.sessions import fidelity as session

    measurement = session.plan(**options)
    with opt.progress_bar(quiet, total=measurement.fits, unit="fit", desc="fidelity") as bar:
        for measured in session.measure(measurement, bar.update, bar.set_postfix_str):
            bar.clear()  # the figures go to stdout between redraws of the bar on stderr
            for result in measured.results:
                if as_json:
                    extra = {} if measurement.space is None else {"space": measurement.space.to_dict()}
                    if measurement.regressor == "all":
                        extra["picked"] = result is measured.picked
                    opt.echo_json({"model": measured.model, **result.to_dict(), **measured.limits, **extra})
                else:
                    click.echo(fidelity_line(measured.label, result, measurement.folds, measured.limits))
            if measurement.regressor == "all" and not as_json:
                click.echo(pick_line(measured.model, measured.picked))
            bar.refresh()
