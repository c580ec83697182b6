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
