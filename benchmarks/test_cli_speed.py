"""How fast the command line answers before it does any work: `--help` and usage errors.

Issue 34's target: a usage error and `--help` answer in under 0.5 s on a two-core machine. Each
command checks its options and names before it imports torch, Dask, pandas or scikit-learn
(`bench/commands/*` import those inside the command, once the options are read). Each round is a
fresh process, as a user's command is: interpreter start-up and imports included.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

CASES = {
    "bench --help": ["--help"],
    "bench run --help": ["run", "--help"],
    "bench run --model softmx": ["run", "--model", "softmx", "--algorithm", "asha"],
    "bench compare --mode tabularr": ["compare", "--mode", "tabularr"],
    "bench collect --design sobl": ["collect", "--model", "lenet", "--design", "sobl"],
    "bench cache fidelity --regressor gpp": ["cache", "fidelity", "--regressor", "gpp"],
    # checked in the command's body, after its light imports (the algorithm registry)
    "bench run --algorithm nosuch": [
        "run",
        "--model",
        "softmax",
        "--algorithm",
        "nosuch",
        "--backend",
        "replay",
    ],
    "bench compare --seeds 0": ["compare", "--seeds", "0"],
}


@pytest.mark.parametrize("case", list(CASES))
def test_the_command_line_answers_fast(benchmark, case) -> None:
    args = [sys.executable, "-m", "bench", *CASES[case]]

    def answer() -> int:
        return subprocess.run(args, capture_output=True, check=False).returncode

    code = benchmark.pedantic(answer, rounds=5, warmup_rounds=1)
    assert code == (0 if "--help" in case else 2)
