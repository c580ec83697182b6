"""The `bench` group: commands load on first use, their listing matches them."""

from __future__ import annotations

import subprocess
import sys

import pytest
from click.testing import CliRunner

from bench.cli import COMMANDS, cli


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_each_listed_summary_is_the_commands_own(name) -> None:
    command = cli.get_command(None, name)
    assert command is not None and command.name == name
    first_paragraph = " ".join(command.help.split("\n\n")[0].split())
    assert COMMANDS[name][2] == first_paragraph


def test_help_lists_every_command_without_loading_torch() -> None:
    script = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from bench.cli import cli\n"
        "result = CliRunner().invoke(cli, ['--help'])\n"
        "print(result.exit_code, 'torch' in sys.modules, 'sklearn' in sys.modules)\n"
        "print(result.output)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    status, listing = out.split("\n", 1)
    assert status == "0 False False"
    listed = [line.split()[0] for line in listing.split("Commands:")[1].strip().splitlines()]
    assert listed == ["agree", "cache", "collect", "compare", "report", "run", "train"]


def test_an_unknown_command_is_one_error() -> None:
    result = CliRunner().invoke(cli, ["trian"])
    assert result.exit_code == 2 and "Error: No such command 'trian'." in result.output


@pytest.mark.parametrize(
    ("error", "code"), [("ConfigError", 2), ("DataError", 1), ("OSError", 1), ("KeyboardInterrupt", 130)]
)
def test_an_error_after_a_progress_bar_started_is_on_its_own_line(error, code) -> None:
    """Whatever command raised it, and whether or not it closed its bar."""
    import click
    from click.testing import CliRunner
    from tqdm import tqdm

    from bench.cli import cli
    from hpo import errors

    @click.command()
    def failing() -> None:
        bar = tqdm(total=10, file=sys.stderr, desc="working")
        bar.update(3)
        if error == "OSError":
            raise OSError(28, "No space left on device", "/tmp/out/results.parquet")
        if error == "KeyboardInterrupt":
            raise KeyboardInterrupt
        raise getattr(errors, error)("something went wrong")

    cli.add_command(failing, "failing-for-test")
    try:
        result = CliRunner().invoke(cli, ["failing-for-test"])
    finally:
        cli.commands.pop("failing-for-test")
    assert result.exit_code == code
    lines = result.stderr.split("\n")  # a carriage return does not start a line on a terminal
    last = [line for line in lines if line.strip()][-1]
    expected = {
        "OSError": "Error: /tmp/out/results.parquet: No space left on device",
        "KeyboardInterrupt": "interrupted",
    }.get(error, "Error: something went wrong")
    assert last == expected, result.stderr
    assert "Traceback" not in result.output
