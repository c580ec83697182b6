from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from bench.cli import cli
from bench.results import read_results
from cache.lookup.blackbox import BlackBox
from tests.support.cachefixtures import write_cache


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("curves")
    write_cache(root, "softmax", n_configs=32, seeds=2, epochs=6)
    write_cache(root, "lenet", n_configs=16, seeds=1, epochs=6)
    return root


def invoke(*args):
    return CliRunner().invoke(cli, list(args))


def test_info_lists_every_model(cache_dir) -> None:
    result = invoke("cache", "info", "--cache-dir", str(cache_dir))
    assert result.exit_code == 0, result.output
    assert "lenet: 16 configs x 1 seeds x 6 epochs = 96 rows" in result.output
    assert "softmax: 32 configs x 2 seeds x 6 epochs = 384 rows" in result.output
    assert "best: learning_rate=" in result.output


def test_info_says_when_a_seed_is_partly_collected(tmp_path) -> None:
    write_cache(tmp_path, "softmax", n_configs=8, seeds=2, epochs=2, later_seeds_for=3)
    result = invoke("cache", "info", "softmax", "--cache-dir", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert (
        "softmax: 8 configs x 2 seeds x 2 epochs = 22 rows (0 diverged curves, 11 of 16 curves collected)"
        in (result.output)
    )


def test_info_json(cache_dir) -> None:
    result = invoke("cache", "info", "softmax", "--cache-dir", str(cache_dir), "--json")
    data = json.loads(result.output)
    assert data["configs"] == 32 and data["seeds"] == [0, 1] and len(data["best"]["curve"]) == 6
    assert data["best"]["val_error"] == pytest.approx(data["best"]["curve"][-1], abs=1e-5)
    from cache.lookup.blackbox import BlackBox

    assert data["best"]["val_error"] == pytest.approx(
        float(BlackBox.load("softmax", cache_dir=cache_dir).final_errors().min())
    )


def test_verify_ok_and_corrupted(cache_dir, tmp_path) -> None:
    result = invoke("cache", "verify", "--cache-dir", str(cache_dir))
    assert result.exit_code == 0 and result.output.count(": ok (") == 2
    broken = tmp_path / "broken"
    store = write_cache(broken, "softmax", n_configs=4, seeds=1, epochs=2)
    shard = store.shard_paths("softmax")[0]
    shard.write_bytes(b"PAR1" + b"\x00" * 50)
    result = invoke("cache", "verify", "--cache-dir", str(broken))
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: {shard}: content does not match the SHA-256 in shards.json")
    assert len(result.output.strip().splitlines()) == 1


def test_fidelity_json(cache_dir) -> None:
    result = invoke(
        "cache",
        "fidelity",
        "softmax",
        "--cache-dir",
        str(cache_dir),
        "--regressor",
        "knn",
        "--folds",
        "3",
        "--json",
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["regressor"] == "knn" and data["n_configs"] == 32
    figures = {"spearman", "kendall", "mae", "regret", "optimum_bias", "seed_agreement", "at_chance"}
    assert figures <= set(data)
    # the synthetic error saturates at chance level for the three smallest learning rates
    assert data["at_chance"] == 3 and data["spearman_learning"] < 1
    assert 0 < data["noise_ceiling"] <= 1 and 0 < data["noise_ceiling_learning"] <= 1


def test_fidelity_more_folds_than_configs(cache_dir) -> None:
    result = invoke("cache", "fidelity", "softmax", "--cache-dir", str(cache_dir), "--folds", "33")
    assert result.exit_code == 2
    assert result.output.strip() == (
        "Error: --folds 33 is out of range for the 32 configs of softmax; accepted: 2 to 32"
    )


def fidelity_args(cache_dir, *extra: str) -> list[str]:
    """The arguments of `bench cache fidelity softmax` on the test cache, then `extra`."""
    return ["cache", "fidelity", "softmax", "--cache-dir", str(cache_dir), *extra]


def test_fidelity_shows_progress_on_stderr_unless_quiet(cache_dir) -> None:
    args = fidelity_args(cache_dir, "--regressor", "all", "--folds", "2")
    shown = invoke(*args)
    assert shown.exit_code == 0, shown.output
    # five regressors x two folds, counted on stderr; the figures alone on stdout
    assert "10/10 [" in shown.stderr and "fit" in shown.stderr and "fidelity" not in shown.stdout
    lines = shown.stdout.strip().splitlines()
    assert len(lines) == 6 and lines[-1].startswith(
        "softmax: picked by the best Spearman with a best-of-10 bias"
    )
    assert lines[-1].endswith("; replays use gp")
    quiet = invoke(*args, "--quiet")
    assert quiet.exit_code == 0 and quiet.stderr == "" and quiet.stdout == shown.stdout


SOFTMAX_HIGH_LR = '[learning_rate]\ntype = "loguniform"\nlow = 0.01\nhigh = 1\n[batch_size]\ntype = "int"\nlow = 32\nhigh = 511\n'


def test_fidelity_inside_a_space_scores_the_configs_inside(cache_dir, tmp_path) -> None:
    space = tmp_path / "space.toml"
    space.write_text(SOFTMAX_HIGH_LR)
    inside = sum(c["learning_rate"] >= 0.01 for c in BlackBox.load("softmax", "tabular", cache_dir).configs)
    args = fidelity_args(cache_dir, "--regressor", "knn", "--space", str(space))
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"softmax (configs inside {space}) knn: Spearman ")
    assert f"({inside} configs, 5-fold" in result.output
    data = json.loads(invoke(*args, "--json").stdout)
    assert data["n_configs"] == inside < 32 and data["space"]["learning_rate"]["low"] == 0.01


@pytest.mark.parametrize(
    ("model", "message"),
    [
        (None, "Error: --space needs a MODEL: a search space belongs to one model"),
        ("lenet", None),
        ("sgd", "Error: search space parameters ['learning_rate', 'batch_size'] do not match model 'sgd''s"),
    ],
)
def test_fidelity_space_errors(cache_dir, tmp_path, model, message) -> None:
    space = tmp_path / "space.toml"
    space.write_text(SOFTMAX_HIGH_LR)
    result = invoke(
        "cache", "fidelity", *([model] if model else []), "--cache-dir", str(cache_dir), "--space", str(space)
    )
    if message is None:  # lenet has the same two hyperparameters: its 16 configs are scored inside
        assert result.exit_code == 0 and result.stdout.startswith("lenet (configs inside"), result.output
        return
    assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1
    assert result.output.startswith(message)


@pytest.mark.parametrize("command", ["info", "verify", "fidelity"])
def test_unknown_model_lists_the_accepted_names(cache_dir, command) -> None:
    result = invoke("cache", command, "lenett", "--cache-dir", str(cache_dir))
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "Error: unknown model 'lenett'; accepted: softmax, lenet, sgd, svm"
    ]


@pytest.mark.parametrize("command", ["info", "verify", "fidelity"])
def test_known_model_without_curves_says_how_to_collect(cache_dir, command) -> None:
    result = invoke("cache", command, "svm", "--cache-dir", str(cache_dir))
    assert result.exit_code == 1
    assert "no curves for model 'svm'" in result.output and "bench collect --model svm" in result.output


def test_empty_cache_dir_is_one_line(tmp_path) -> None:
    result = invoke("cache", "info", "--cache-dir", str(tmp_path))
    assert result.exit_code == 1
    assert result.output.strip() == f"Error: no curves in {tmp_path}"


@pytest.mark.parametrize("mode", ["tabular", "nearest", "surrogate"])
def test_replay_run(cache_dir, tmp_path, mode) -> None:
    out = tmp_path / "out"
    result = invoke(
        "run",
        "--model",
        "softmax",
        "--algorithm",
        "asha",
        "--backend",
        "replay",
        "--mode",
        mode,
        "--workers",
        "4",
        "--trials",
        "20",
        "--r-max",
        "6",
        "--eta",
        "2",
        "--cache-dir",
        str(cache_dir),
        "--out",
        str(out),
        "--quiet",
    )
    assert result.exit_code == 0, result.output
    rows, meta = read_results(out)
    assert rows["trial_id"].nunique() == 20 and set(rows["worker"]) == {0, 1, 2, 3}
    assert meta["spec"]["mode"] == mode
    assert "best config at 6 epochs in the cache" in result.output


@pytest.mark.parametrize("mode", ["tabular", "surrogate"])
def test_replay_r_max_beyond_the_cache(cache_dir, tmp_path, monkeypatch, mode) -> None:
    # refused before any surrogate is fitted (that can take a minute on a real cache)
    def no_fit(*args, **kwargs):
        raise AssertionError("surrogate fitted before the options were checked")

    monkeypatch.setattr("cache.lookup.surrogate.Surrogate.fit", no_fit)
    result = invoke(
        "run",
        "--model",
        "softmax",
        "--algorithm",
        "asha",
        "--backend",
        "replay",
        "--mode",
        mode,
        "--r-max",
        "20",
        "--cache-dir",
        str(cache_dir),
        "--out",
        str(tmp_path / "o"),
        "--quiet",
    )
    assert result.exit_code == 2
    assert result.output.strip() == "Error: --r-max 20 exceeds the 6 epochs cached for softmax"


def test_replays_are_reproducible(cache_dir, tmp_path) -> None:
    def replay(seed, out):
        args = ["run", "--model", "softmax", "--algorithm", "bohb", "--backend", "replay", "--workers", "3",
                "--trials", "15", "--r-max", "6", "--seed", str(seed), "--cache-dir", str(cache_dir),
                "--out", str(tmp_path / out), "--quiet", "--no-final"]  # fmt: skip
        assert invoke(*args).exit_code == 0
        rows, _ = read_results(tmp_path / out)
        return rows.drop(columns=["experiment_id"])

    a, b, c = replay(1, "a"), replay(1, "b"), replay(2, "c")
    assert a.equals(b)
    assert not a[["config", "val_error"]].equals(c[["config", "val_error"]])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--workers", "0"], "--workers must be an integer >= 1, got 0"),
        (["--scheduler-address", "nowhere"], "--scheduler-address 'nowhere' is not an address"),
        (
            ["--scheduler-address", "tcp://127.0.0.1:1"],
            "cannot reach the Dask scheduler at tcp://127.0.0.1:1",
        ),
        (
            ["--backend", "replay", "--scheduler-address", "tcp://127.0.0.1:1"],
            "--scheduler-address applies to live",
        ),
    ],
)
def test_bad_live_worker_options_are_one_line(tmp_path, args, message) -> None:
    result = invoke("run", "--model", "softmax", "--algorithm", "asha", "--out", str(tmp_path / "o"), *args)
    assert result.exit_code != 0 and message in result.output and "Traceback" not in result.output
    assert not (tmp_path / "o").exists()  # refused before anything was written


def test_initial_default_in_replays(cache_dir, tmp_path) -> None:
    base = ["run", "--model", "softmax", "--algorithm", "bo", "--backend", "replay", "--trials", "3", "--r-max", "6",
            "--initial-default", "--cache-dir", str(cache_dir), "--quiet", "--no-final"]  # fmt: skip
    result = invoke(*base, "--out", str(tmp_path / "a"))
    assert result.exit_code == 2 and "--initial-default needs --mode nearest or surrogate" in result.output
    assert invoke(*base, "--mode", "nearest", "--out", str(tmp_path / "b")).exit_code == 0
    rows, _ = read_results(tmp_path / "b")
    first = json.loads(rows.sort_values("trial_id")["config"].iloc[0])
    assert first == {"batch_size": 256, "learning_rate": 0.1}


@pytest.mark.parametrize(
    ("value", "message"),
    [(-3.28, "val_error outside [0, 1] (or NaN) in a finished epoch"), (float("nan"), "val_error outside")],
)
def test_a_cache_with_bad_values_and_good_digests_is_refused_where_it_is_used(
    tmp_path, value, message
) -> None:
    # the crafted cache: values no training gives, and the digests updated to match, so only a
    # value check can catch it; every command that reads the cache must, not only verify
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from cache.store.shards import sha256_hex

    store = write_cache(tmp_path, "softmax", n_configs=8, seeds=1, epochs=3)
    shard = store.shard_paths("softmax")[0]
    table = pq.read_table(shard)
    crafted = pc.if_else(pc.equal(table["epoch"], 3), pa.scalar(value, pa.float64()), table["val_error"])
    pq.write_table(table.set_column(table.schema.get_field_index("val_error"), "val_error", crafted), shard)
    store.write_listing("softmax", {shard.name: sha256_hex(shard.read_bytes())})
    for args in (
        ["cache", "verify", "--cache-dir", str(tmp_path)],
        ["compare", "--models", "softmax", "--seeds", "1", "--cache-dir", str(tmp_path), "--out", str(tmp_path / "c"), "--quiet"],
        ["run", "--model", "softmax", "--algorithm", "random", "--backend", "replay", "--trials", "3", "--r-max", "3", "--cache-dir", str(tmp_path), "--out", str(tmp_path / "r")],
    ):  # fmt: skip
        result = invoke(*args)
        assert result.exit_code == 1, (args, result.output)
        assert result.output.strip().splitlines()[-1].startswith(f"Error: {shard}: {message}"), result.output
    assert not (tmp_path / "c" / "report.html").exists()
