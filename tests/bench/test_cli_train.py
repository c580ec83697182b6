from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from bench.cli import cli
from hpo.training import CURVE_FIELDS


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_train_prints_a_table(runner, fake_dataset) -> None:
    result = runner.invoke(cli, ["train", "--model", "softmax", "--epochs", "2", "--set", "batch_size=64"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("softmax (learning_rate=0.1, batch_size=64), seed 0")
    assert lines[1].split()[:4] == ["epoch", "train_loss", "val_loss", "val_err"]
    assert [line.split()[0] for line in lines[2:4]] == ["1", "2"]
    assert "test accuracy" in lines[-1]


@pytest.mark.parametrize("native", [True, False])
def test_train_in_bf16(runner, fake_dataset, monkeypatch, native) -> None:
    monkeypatch.setattr("hpo.training.trainer.cpu_has_native_bf16", lambda: native)
    args = ["train", "--model", "lenet", "--epochs", "1", "--set", "batch_size=64", "--json"]
    fp32 = runner.invoke(cli, args)
    bf16 = runner.invoke(cli, [*args, "--precision", "bf16"])
    assert fp32.exit_code == 0 and bf16.exit_code == 0, bf16.output
    assert json.loads(fp32.stdout)["train_loss"] != json.loads(bf16.stdout)["train_loss"]
    # an emulating CPU is said once, on one line of stderr; stdout stays pure JSON
    expected = [] if native else ["Warning: --precision bf16 on a CPU without native bfloat16"]
    assert [line[:58] for line in bf16.stderr.splitlines()] == expected


def test_train_json_is_one_object_per_epoch(runner, fake_dataset) -> None:
    result = runner.invoke(
        cli,
        [
            "train",
            "--model",
            "svm",
            "--epochs",
            "3",
            "--json",
            "--seed",
            "4",
            "--set",
            "C=10",
            "--set",
            "gamma=0.01",
        ],
    )
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.output.splitlines()]
    assert [r["epoch"] for r in rows] == [1, 2, 3]
    assert all(tuple(r) == CURVE_FIELDS for r in rows)
    again = runner.invoke(
        cli,
        [
            "train",
            "--model",
            "svm",
            "--epochs",
            "3",
            "--json",
            "--seed",
            "4",
            "--set",
            "C=10",
            "--set",
            "gamma=0.01",
        ],
    )
    strip = [{k: v for k, v in r.items() if k != "epoch_seconds"} for r in rows]
    assert strip == [
        {k: v for k, v in json.loads(line).items() if k != "epoch_seconds"}
        for line in again.output.splitlines()
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--model", "softmax", "--set", "batch_size=0"],
            "batch_size=0 is invalid: expected an integer from 1 to 2**31-1",
        ),
        (
            ["--model", "softmax", "--set", "learning_rate=-0.5"],
            "learning_rate=-0.5 is invalid: expected a number > 0",
        ),
        (
            ["--model", "softmax", "--set", "momentum=0.9"],
            "--set momentum: unknown hyperparameter; accepted: learning_rate, batch_size",
        ),
        (["--model", "softmax", "--set", "batch_size"], "expected name=value"),
        (["--model", "softmax", "--set", "batch_size=abc"], "expected a number"),
        (["--model", "softmax", "--epochs", "0"], "--epochs must be an integer >= 1, got 0"),
        (["--model", "softmax", "--device", "cuda"], "CUDA is not available"),
    ],
)
def test_bad_input_is_one_line_and_nonzero(runner, fake_dataset, args, message) -> None:
    import torch

    if "cuda" in args and torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    result = runner.invoke(cli, ["train", *args])
    assert result.exit_code == 2
    assert result.output.strip() == f"Error: {message}" or message in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert "Traceback" not in result.output


def test_unknown_model_is_a_usage_error(runner) -> None:
    result = runner.invoke(cli, ["train", "--model", "resnet"])
    assert result.exit_code == 2
    assert "'resnet' is not one of 'softmax', 'lenet', 'sgd', 'svm'" in result.output


def test_missing_data_is_one_line(runner, fake_dataset, tmp_path, monkeypatch) -> None:
    from hpo.data import DATASETS

    spec = DATASETS["fashion-mnist"]
    monkeypatch.setitem(
        DATASETS, "fashion-mnist", type(spec)(**{**spec.__dict__, "mirrors": ("http://127.0.0.1:9/",)})
    )
    result = runner.invoke(cli, ["train", "--model", "softmax", "--data-dir", str(tmp_path / "empty")])
    assert result.exit_code == 1
    assert "train-images-idx3-ubyte not found locally and the download failed" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_wrong_checksum_is_one_line(runner, fake_dataset) -> None:
    path = fake_dataset / "train-labels-idx1-ubyte.gz"
    import gzip

    raw = bytearray(gzip.decompress(path.read_bytes()))
    raw[-1] = (raw[-1] + 1) % 10
    path.write_bytes(gzip.compress(bytes(raw)))
    result = runner.invoke(cli, ["train", "--model", "softmax", "--data-dir", str(fake_dataset)])
    assert result.exit_code == 1
    assert "train-labels-idx1-ubyte.gz: checksum mismatch" in result.output
    assert len(result.output.strip().splitlines()) == 1
