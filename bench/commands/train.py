"""`bench train`: train one model for N epochs and print its learning curve."""

from __future__ import annotations

import math

import click

from bench import options as opt
from hpo.catalog import model_entry
from hpo.validation import check_int

__all__ = ["train"]


@click.command()
@opt.model_option
@click.option("--epochs", type=int, default=10, show_default=True, help="Epochs to train.")
@click.option("--set", "assignments", multiple=True, metavar="NAME=VALUE", help="Override a hyperparameter.")
@click.option("--seed", type=int, default=0, show_default=True, help="Training seed (init and data order).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per epoch instead of a table.")
@opt.training_options
@opt.quiet_option
def train(
    model: str,
    epochs: int,
    assignments: tuple[str, ...],
    seed: int,
    as_json: bool,
    device: str,
    precision: str,
    data_dir: str | None,
    threads: int | None,
    quiet: bool,
) -> None:
    """Train MODEL for --epochs with its default config (plus --set overrides)."""
    check_int("--epochs", epochs)
    entry = model_entry(model)
    config = {**entry.defaults, **opt.parse_assignments(assignments, entry.space)}
    # the options are read: now torch
    from hpo.data import load_splits
    from hpo.training import Trainer, configure, resolve_device

    configure(threads)
    torch_device = resolve_device(device)
    trainer = Trainer(load_splits(data_dir), torch_device, precision=precision)
    run = trainer.start(model, config, seed)
    if not as_json:
        settings = ", ".join(f"{k}={v}" for k, v in run.config.items())
        click.echo(f"{model} ({settings}), seed {seed}, on {torch_device}, {precision}")
        click.echo(
            f"{'epoch':>5} {'train_loss':>10} {'val_loss':>10} {'val_err':>8} {'test_err':>8} {'seconds':>8}  status"
        )
    for epoch in range(1, epochs + 1):
        (record,) = trainer.advance(run, epoch)
        if as_json:
            opt.echo_json(record.to_dict())
        else:
            click.echo(
                f"{record.epoch:>5} {_fmt(record.train_loss, 10)} {_fmt(record.val_loss, 10)} "
                f"{record.val_error:>8.4f} {record.test_error:>8.4f} {record.epoch_seconds:>8.3f}  {record.status}"
            )
    if not as_json and not quiet:
        last = run.curve[-1]
        click.echo(f"validation accuracy {1 - last.val_error:.2%}, test accuracy {1 - last.test_error:.2%}")


def _fmt(value: float, width: int) -> str:
    return f"{'nan':>{width}}" if math.isnan(value) else f"{value:>{width}.4f}"
