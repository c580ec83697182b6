"""The `bench` command-line interface (click). Only this layer prints."""

from __future__ import annotations

import json
import logging
import sys
import warnings
from typing import Any

import click

from hpo.errors import HPOError


def _one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """A warning as one 'Warning: ...' line on stderr, not Python's file:line and source echo."""
    click.echo(f"Warning: {message}", err=True)


class _Group(click.Group):
    """A group that turns user errors into one line and exit code 1, never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            with warnings.catch_warnings():
                warnings.showwarning = _one_line_warning
                return super().invoke(ctx)
        except HPOError as exc:
            raise click.ClickException(str(exc)) from None
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            ctx.exit(130)


@click.group(cls=_Group)
@click.version_option(package_name="hpobench")
@click.option("-v", "--verbose", is_flag=True, help="Log progress messages to stderr.")
def cli(verbose: bool) -> None:
    """Reproducible HPO benchmarks on FashionMNIST."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )


def main() -> None:
    """Console-script entry point."""
    cli.main(prog_name="bench")


def echo_json(obj: Any) -> None:
    """Print one JSON object on one line."""
    click.echo(json.dumps(obj, allow_nan=True))


def _register() -> None:
    from bench.commands import cache, collect, compare, run, train

    cli.add_command(train.train)
    cli.add_command(run.run)
    cli.add_command(collect.collect)
    cli.add_command(cache.cache)
    cli.add_command(compare.compare)
    cli.add_command(compare.report)


_register()

if __name__ == "__main__":
    sys.exit(main())
