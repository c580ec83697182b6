"""The `bench` command-line interface (click). Only this layer prints."""

from __future__ import annotations

import gc
import importlib
import logging
import sys
import warnings
from typing import Any

import click

from hpo.errors import ConfigError, HPOError

__all__ = ["COMMANDS", "cli", "main"]


def _one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """A warning as one 'Warning: ...' line on stderr, not Python's file:line and source echo."""
    click.echo(f"Warning: {message}", err=True)


# Each command is imported on first use: the commands load torch, sklearn, pandas and pyarrow
# (7 s on a 2-core machine), which `bench --help` or a mistyped command should not wait for.
# Name -> (module, attribute, the first paragraph of its help, tested equal to the command's).
COMMANDS: dict[str, tuple[str, str, str]] = {
    "train": (
        "bench.commands.train",
        "train",
        "Train MODEL for --epochs with its default config (plus --set overrides).",
    ),
    "run": (
        "bench.commands.run",
        "run",
        "Run one HPO experiment: live FashionMNIST training, or a replay of the curve cache.",
    ),
    "collect": (
        "bench.commands.collect",
        "collect",
        "Train a design of configs and store every epoch of every curve (resumable).",
    ),
    "cache": ("bench.commands.cache", "cache", "Inspect, verify and measure the learning-curve cache."),
    "compare": (
        "bench.commands.compare",
        "compare",
        "Replay algorithms x seeds on the curve cache and write the anytime-performance HTML report.",
    ),
    "agree": (
        "bench.commands.agree",
        "agree",
        "Run algorithms x seeds live and replayed with the same seeds, and report how closely they agree.",
    ),
    "report": (
        "bench.commands.compare",
        "report",
        "Rebuild the HTML report of a comparison (or of a bench agree) from its stored results.",
    ),
}


USAGE_EXIT = 2  # as click's own usage errors


def _end_progress_lines() -> None:
    """Close the progress bars still open, so that what follows starts on a line of its own."""
    from tqdm import tqdm

    for bar in list(getattr(tqdm, "_instances", ())):
        bar.close()


class _OneLineError(click.ClickException):
    """`Error: message` on one line of stderr, with the given exit code."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class _Group(click.Group):
    """A group that turns user errors into one line, never a traceback: exit code 2 for bad
    options and files (ConfigError), 1 for data, caches, clusters and the operating system.

    Its commands are imported when one is run or asked for help, not to list them.
    """

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(COMMANDS) | set(self.commands))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in COMMANDS and cmd_name not in self.commands:
            module, attribute, _ = COMMANDS[cmd_name]
            self.add_command(getattr(importlib.import_module(module), attribute), cmd_name)
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        names = self.list_commands(ctx)
        if not names:
            return
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows = []
        for name in names:
            if name in self.commands:
                summary = self.commands[name].get_short_help_str(limit)
            else:
                summary = click.utils.make_default_short_help(COMMANDS[name][2], limit)
            rows.append((name, summary))
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            with warnings.catch_warnings():
                warnings.showwarning = _one_line_warning
                return super().invoke(ctx)
        except ConfigError as exc:  # the user's options or files: a usage error
            _end_progress_lines()
            raise _OneLineError(str(exc), USAGE_EXIT) from None
        except HPOError as exc:  # data, cache or cluster that cannot serve
            _end_progress_lines()
            raise _OneLineError(str(exc), 1) from None
        except OSError as exc:  # the operating system said no: one line naming the path
            _end_progress_lines()
            where = f"{exc.filename}: " if exc.filename else ""
            raise _OneLineError(f"{where}{exc.strerror or exc}", 1) from None
        except KeyboardInterrupt:
            _end_progress_lines()
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


#: the collector's pace in a bench process: a replay keeps every row it logs, and at the default
#: (a pass every 700 new objects, a full one each time the kept objects grow by a quarter) the
#: collector took a fifth of a 150,000-job `bench run --backend replay`; nothing bench runs
#: relies on cycles being freed sooner
GC_THRESHOLDS = (100_000, 50, 100)


def main() -> None:
    """Console-script entry point."""
    gc.set_threshold(*GC_THRESHOLDS)
    cli.main(prog_name="bench")


if __name__ == "__main__":
    sys.exit(main())
