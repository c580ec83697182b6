"""`bench run`: one HPO experiment (live or replayed), its rows, its progress figure, its best config."""

from __future__ import annotations

from typing import Any

import click

from bench import options as opt
from cache.names import MODES
from hpo.algorithms import get_algorithm
from hpo.validation import check_int

__all__ = ["run"]


@click.command()
@opt.model_option
@opt.experiment_options
@click.option(
    "--mode", default="tabular", show_default=True, type=click.Choice(MODES), help="Replay lookups."
)
@opt.scheduler_address_option
@opt.cache_dir_option
@opt.budget_options
@opt.halving_options
@opt.bracket_options
@opt.space_option
@opt.output_options
@opt.training_options
@opt.quiet_option
def run(quiet: bool, **options: Any) -> None:
    """Run one HPO experiment: live FashionMNIST training, or a replay of the curve cache."""
    check_int("--trials", options["trials"])
    get_algorithm(options["algorithm"])  # a mistyped name: one line, before the experiment's stack loads
    # the options are read: now pandas, pyarrow (and torch, Dask for a live run)
    from bench.sessions import run as run_session

    plan = run_session.plan(**options)
    spec = plan.spec
    bar = opt.progress_bar(
        quiet, total=spec.budget.trials, unit="trial", desc=f"{spec.algorithm} on {spec.model}"
    )

    def on_result(outcome: Any, trials: int) -> None:
        if trials > bar.n:  # drawn by update at most every tenth of a second, not once a result
            bar.set_postfix(
                best=f"{outcome.incumbent.val_error:.4f}", epochs=outcome.epochs_trained, refresh=False
            )
            bar.update(trials - bar.n)

    with bar:
        done = run_session.execute(plan, None if quiet else on_result)
    best, final, outcome = done.best, done.final, done.outcome
    config = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in best.config.items())
    for failure in done.failures:
        click.echo(
            f"failed: trial {failure['trial_id']} to {failure['epochs']} epochs: {failure['error']}", err=True
        )
    click.echo(
        f"{len(outcome.rows)} results from {done.trials} trials, {outcome.epochs_trained} epochs, "
        f"{done.elapsed:.1f} {'s' if plan.live else 'simulated s'}\n"
        f"best validation error {best.val_error:.4f} (trial {best.trial_id}, {best.epochs} epochs): {config}\n"
        f"results: {done.results}\nfigure:  {done.figure}"
    )
    if final is not None:
        where = (
            f"trained to {final['epochs']} epochs"
            if plan.live
            else f"at {final['epochs']} epochs in the cache ({spec.where.mode}, training seed {final['train_seed']})"
        )
        named = (("train", "train"), ("validation", "val"), ("test", "test"))
        read = ", ".join(f"{name} accuracy {1 - final[key]:.2%}" for name, key in named if key in final)
        worth = f"; worth (mean over its cached seeds) {1 - final['worth']:.2%}" if "worth" in final else ""
        click.echo(f"best config {where}: {read}{worth}")
