from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from bench.cli import cli
from bench.results import read_results
from hpo.algorithms import ALGORITHMS
from tests.support.extras import algorithm_params


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def run(runner, tmp_path, *args):
    return runner.invoke(cli, ["run", "--out", str(tmp_path / "out"), "--quiet", *args])


# live training with the outside libraries' Syne Tune model-based ASHA fits a model per result: slow
@pytest.mark.parametrize("algorithm", algorithm_params(sorted(ALGORITHMS), slow={"st-asha-cqr"}))
def test_every_algorithm_runs_live(runner, fake_dataset, tmp_path, algorithm, shared_cluster) -> None:
    result = run(
        runner,
        tmp_path,
        "--scheduler-address",
        shared_cluster,
        "--data-dir",  # the workers are not this process: the generated dataset's place travels
        str(fake_dataset),
        "--model",
        "softmax",
        "--algorithm",
        algorithm,
        "--trials",
        "4",
        "--r-max",
        "3",
        "--eta",
        "2",
    )
    assert result.exit_code == 0, result.output
    rows, meta = read_results(tmp_path / "out")
    assert rows["trial_id"].nunique() == 4
    assert set(rows["algorithm"]) == {algorithm}
    assert meta["spec"]["algorithm"] == algorithm
    assert isinstance(meta["command"], str) and meta["command"]
    assert meta["environment"]["torch"]
    assert (tmp_path / "out" / "progress.png").stat().st_size > 1000
    assert "best config trained to 3 epochs: train accuracy" in result.output
    if algorithm in ("sh", "asha", "hyperband", "bohb", "asha-bo"):
        promoted = rows[rows["resume_from"] > 0]
        assert (promoted["epochs"] > promoted["resume_from"]).all()


@pytest.mark.parametrize("model", ["lenet", "sgd", "svm"])
def test_every_model_runs_live(runner, fake_dataset, tmp_path, model, shared_cluster) -> None:
    result = run(
        runner,
        tmp_path,
        "--scheduler-address",
        shared_cluster,
        "--data-dir",  # the workers are not this process: the generated dataset's place travels
        str(fake_dataset),
        "--model",
        model,
        "--algorithm",
        "asha",
        "--trials",
        "3",
        "--r-max",
        "2",
        "--eta",
        "2",
    )
    assert result.exit_code == 0, result.output
    rows, _ = read_results(tmp_path / "out")
    configs = [json.loads(c) for c in rows["config"]]
    assert all(set(c) == set(rows.filter(like="hp_").columns.str[3:]) for c in configs)


def test_same_seed_same_decisions(runner, fake_dataset, tmp_path, shared_cluster) -> None:
    args = [
        "--scheduler-address",
        shared_cluster,
        "--data-dir",  # the workers are not this process: the generated dataset's place travels
        str(fake_dataset),
        "--model",
        "softmax",
        "--algorithm",
        "bo",
        "--trials",
        "4",
        "--r-max",
        "1",
        "--seed",
        "3",
        "--no-final",
        "--workers",
        "1",  # one worker: the order of results, and so BO's decisions, is the seed's alone
    ]
    assert run(runner, tmp_path, *args).exit_code == 0
    first, _ = read_results(tmp_path / "out")
    assert run(runner, tmp_path, *args, "--overwrite").exit_code == 0
    second, _ = read_results(tmp_path / "out")
    cols = ["trial_id", "config", "epochs", "val_error", "test_error"]
    assert first[cols].equals(second[cols])


@pytest.mark.parametrize(
    ("args", "message", "code"),
    [
        (["--eta", "1"], "eta must be >= 2, got 1", 2),
        (["--r-min", "10", "--r-max", "5"], "r_min must be <= r_max, got r_min=10, r_max=5", 2),
        (["--trials", "0"], "--trials must be an integer >= 1, got 0", 2),
        # sizes that would grow rows past the machine's memory are refused before anything runs
        (["--trials", "10000000000"], "--trials 10000000000: at most 1,000,000 trials in one run", 2),
        (
            ["--backend", "replay", "--workers", "10000000"],
            "--workers 10000000: at most 100,000 simulated workers",
            2,
        ),
        (["--algorithm", "smac"], "unknown algorithm 'smac'; accepted: random, bo,", 2),
        (
            ["--backend", "replay", "--precision", "bf16"],
            "--precision applies to live training; replays read the curves in the cache",
            2,
        ),
    ],
)
def test_bad_options(runner, fake_dataset, tmp_path, args, message, code) -> None:
    base = ["--model", "softmax", "--algorithm", "asha"]
    result = run(runner, tmp_path, *base, *args)
    assert result.exit_code == code
    assert message in result.output
    assert "Traceback" not in result.output
    if "is not one of" not in message:  # ours, not click's (which adds its usage lines)
        assert len(result.output.strip().splitlines()) == 1


def test_space_file_with_an_error(runner, fake_dataset, tmp_path) -> None:
    space = tmp_path / "space.toml"
    space.write_text(
        '[learning_rate]\ntype = "loguniform"\nlow = 0\nhigh = 1\n[batch_size]\ntype = "int"\nlow = 32\nhigh = 64\n'
    )
    result = run(runner, tmp_path, "--model", "softmax", "--algorithm", "random", "--space", str(space))
    assert result.exit_code == 2
    assert (
        result.output.strip()
        == f"Error: search space file {space}: parameter 'learning_rate': loguniform needs low > 0, got low=0"
    )


def test_space_file_for_another_model(runner, fake_dataset, tmp_path) -> None:
    space = tmp_path / "space.json"
    space.write_text(json.dumps({"C": {"type": "loguniform", "low": 0.1, "high": 10}}))
    result = run(runner, tmp_path, "--model", "softmax", "--algorithm", "random", "--space", str(space))
    assert result.exit_code == 2
    assert "do not match model 'softmax'" in result.output


def test_custom_space_is_searched(runner, fake_dataset, tmp_path, shared_cluster) -> None:
    space = tmp_path / "space.toml"
    space.write_text(
        '[learning_rate]\ntype = "loguniform"\nlow = 0.01\nhigh = 0.1\n[batch_size]\ntype = "int"\nlow = 64\nhigh = 128\n'
    )
    result = run(
        runner,
        tmp_path,
        "--scheduler-address",
        shared_cluster,
        "--data-dir",
        str(fake_dataset),
        "--model",
        "softmax",
        "--algorithm",
        "random",
        "--space",
        str(space),
        "--trials",
        "3",
        "--r-max",
        "1",
    )
    assert result.exit_code == 0, result.output
    rows, meta = read_results(tmp_path / "out")
    assert rows["hp_batch_size"].between(64, 128).all()
    assert meta["spec"]["space"]["learning_rate"]["high"] == 0.1


def test_existing_results_are_not_overwritten(runner, fake_dataset, tmp_path, shared_cluster) -> None:
    args = ["--model", "softmax", "--algorithm", "random", "--trials", "2", "--r-max", "1", "--no-final"]
    args += ["--scheduler-address", shared_cluster, "--data-dir", str(fake_dataset)]
    assert run(runner, tmp_path, *args).exit_code == 0
    before = (tmp_path / "out" / "results.parquet").read_bytes()
    result = run(runner, tmp_path, *args)
    assert result.exit_code == 2 and "already holds results; pass --overwrite" in result.output
    assert (tmp_path / "out" / "results.parquet").read_bytes() == before


@pytest.mark.parametrize(
    ("bounds", "message"),
    [
        (
            "[learning_rate]\ntype = 'loguniform'\nlow = 1e-4\nhigh = 1e300\n",
            "learning_rate=1e+300 is invalid",
        ),
        (
            "[batch_size]\ntype = 'int'\nlow = 32\nhigh = 18446744073709551616\n",
            "batch_size=18446744073709551616",
        ),
    ],
)
def test_a_space_no_training_could_use_is_refused_when_read(runner, fake_dataset, tmp_path, bounds, message):
    """Before: a learning rate of 1e300 raised inside torch's SGD, an int above 2**63 after training."""
    defaults = {
        "learning_rate": "[learning_rate]\ntype = 'loguniform'\nlow = 1e-4\nhigh = 1\n",
        "batch_size": "[batch_size]\ntype = 'int'\nlow = 32\nhigh = 64\n",
    }
    name = bounds.split("]")[0][1:]
    space = tmp_path / "space.toml"
    space.write_text(bounds + "".join(v for k, v in defaults.items() if k != name))
    result = run(runner, tmp_path, "--model", "softmax", "--algorithm", "random", "--space", str(space))
    assert result.exit_code == 2
    assert message in result.output and len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()
