"""`bench agree`: live runs beside their replays, and the statistics of how closely they match."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from bench.agreement import AgreeSpec, load_table, plan_record
from bench.cli import cli
from bench.results import read_results
from bench.study import check_plan_file
from cache import names
from cache.lookup.blackbox import BlackBox
from hpo.algorithms import AlgorithmSettings
from hpo.errors import ConfigError
from reports.agreement import (
    epoch_bands,
    final_incumbents,
    lookup_agreement,
    order_agreement,
    outcome_agreement,
    with_epoch_clock,
)
from tests.support.cachefixtures import write_cache

# starts Dask clusters or collections in processes: the slow part of the suite
pytestmark = pytest.mark.cluster


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def rows(backend, algorithm, seed, epochs, resume_from, val, cache=None):
    n = len(val)
    return pd.DataFrame(
        {
            "backend": backend,
            "algorithm": algorithm,
            "seed": seed,
            "trial_id": range(n),
            "epochs": epochs,
            "resume_from": resume_from,
            "t_end": np.arange(1.0, n + 1),
            "val_error": val,
            "test_error": [v + 0.01 for v in val],
            "cache_val_error": cache if cache is not None else [np.nan] * n,
        }
    )


# -- statistics ----------------------------------------------------------------------------


def test_epoch_clock_counts_each_job_once() -> None:
    # two trials at rung 1, the second promoted from 1 to 3 epochs: 1, 2, then 4 epochs trained
    frame = rows("live", "asha", 0, [1, 1, 3], [0, 0, 1], [0.5, 0.4, 0.3])
    assert with_epoch_clock(frame)["epochs_used"].tolist() == [1, 2, 4]


def test_epoch_bands_by_hand() -> None:
    frame = pd.concat(
        [
            rows("live", "asha", 0, [1, 1, 3], [0, 0, 1], [0.5, 0.4, 0.3]),
            rows("live", "asha", 1, [2, 2], [0, 0], [0.6, 0.2]),
        ]
    )
    bands = epoch_bands(frame, budget_epochs=4, points=5)  # grid 0, 1, 2, 3, 4
    live = bands[bands["backend"] == "live"]
    # seed 0: -, 0.5, 0.4, 0.4, 0.3; seed 1: -, -, 0.6, 0.6, 0.2 (no result yet counts as 1.0)
    np.testing.assert_allclose(live["mean"], [1.0, 0.75, 0.5, 0.5, 0.25])
    assert live["epochs"].tolist() == [0.0, 1.0, 2.0, 3.0, 4.0]


def test_outcomes_pair_each_live_run_with_its_replay() -> None:
    frame = pd.concat(
        [
            rows("live", "random", 0, [2, 2], [0, 0], [0.3, 0.2]),
            rows("live", "random", 1, [2], [0], [0.3]),
            rows("replay", "random", 0, [2, 2], [0, 0], [0.25, 0.4]),
            rows("replay", "random", 1, [2], [0], [0.28]),
        ]
    )
    finals = final_incumbents(frame)
    assert finals["val_error"].tolist() == [0.2, 0.3, 0.25, 0.28]
    (out,) = outcome_agreement(frame).to_dict(orient="records")
    assert out["pairs"] == 2
    assert out["live"] == pytest.approx(0.25) and out["replay"] == pytest.approx(0.265)
    assert out["gap"] == pytest.approx((0.05 - 0.02) / 2)
    assert out["gap_lo"] <= out["gap"] <= out["gap_hi"]
    assert out["gap_lo"] == pytest.approx(-0.02) and out["gap_hi"] == pytest.approx(0.05)


def test_order_agreement_sees_a_swap() -> None:
    outcomes = pd.DataFrame(
        {"algorithm": ["asha", "bo", "random"], "live": [0.1, 0.2, 0.3], "replay": [0.1, 0.35, 0.3]}
    )
    order = order_agreement(outcomes)
    assert order["live"] == ["asha", "bo", "random"]
    assert order["replay"] == ["asha", "random", "bo"]
    assert not order["same_order"]
    assert order["kendall"] == pytest.approx(1 / 3)


def test_lookup_agreement_by_hand() -> None:
    frame = pd.concat(
        [
            rows(
                "live", "sh", 0, [1, 1, 1, 3], [0, 0, 0, 1], [0.5, 0.4, 0.3, 0.2], cache=[0.6, 0.3, 0.35, 0.2]
            ),
            # replays have no cache column to compare
            rows("replay", "sh", 0, [1], [0], [0.9]),
        ]
    )
    every, last = lookup_agreement(frame, seed_to_seed_mae=[0.04, 0.03, 0.02]).to_dict(orient="records")
    assert every["n"] == 4 and last["n"] == 1
    assert every["mae"] == pytest.approx((0.1 + 0.1 + 0.05 + 0.0) / 4)
    assert every["bias"] == pytest.approx((0.1 - 0.1 + 0.05 + 0.0) / 4)
    assert every["spearman"] == pytest.approx(0.8)  # ranks 4 2 3 1 against 4 3 2 1
    assert np.isnan(last["spearman"])  # one result cannot be ranked
    # the yardstick over the same epochs: three results at epoch 1, one at epoch 3
    assert every["seed_to_seed_mae"] == pytest.approx((3 * 0.04 + 0.02) / 4)
    assert last["seed_to_seed_mae"] == pytest.approx(0.02)
    assert np.isnan(lookup_agreement(frame)["seed_to_seed_mae"]).all()


# -- the command ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("curves")
    write_cache(root, "softmax", n_configs=24, seeds=2, epochs=4)
    return root


def agree_args(cache_dir, out, *extra):
    return [
        "agree",
        "--model",
        "softmax",
        "--algorithms",
        "random,asha",
        "--seeds",
        "2",
        "--budget-epochs",
        "6",
        "--r-max",
        "3",
        "--mode",
        "nearest",
        "--cache-dir",
        cache_dir,
        "--out",
        out,
        "--quiet",
        *extra,
    ]


def test_agree_runs_live_and_replayed_and_reports(cache_dir, fake_dataset, tmp_path) -> None:
    out = tmp_path / "agree"
    result = invoke(*agree_args(cache_dir, out))
    assert result.exit_code == 0, result.output
    files = sorted(p.relative_to(out).as_posix() for p in (out / "runs").glob("*/*/seed-*.parquet"))
    assert files == [
        f"runs/{b}/{a}/seed-000{s}.parquet"
        for b in ("live", "replay")
        for a in ("asha", "random")
        for s in (0, 1)
    ]
    summary = json.loads((out / "agreement.json").read_text())
    assert [o["algorithm"] for o in summary["outcomes"]] == ["asha", "random"]
    assert all(o["pairs"] == 2 for o in summary["outcomes"])
    assert "best first, live:" in result.output and "cache vs live, every result" in result.output
    text = (out / "agreement.html").read_text()
    assert text.count("data:image/png;base64,") == 2

    bench = BlackBox.load("softmax", "nearest", cache_dir)
    plan = json.loads((out / "agree.json").read_text())
    two = np.abs(bench.val_error[:, 0] - bench.val_error[:, 1]).mean(axis=0)
    np.testing.assert_allclose(plan["cache"]["seed_to_seed_mae"], two, atol=1e-6)
    assert all(r["seed_to_seed_mae"] > 0 for r in summary["lookups"])
    for seed in (0, 1):
        live, meta = read_results(out / "runs/live/random" / f"seed-000{seed}.parquet")
        replay, _ = read_results(out / "runs/replay/random" / f"seed-000{seed}.parquet")
        # one searcher stream: random search proposes the same configs live and replayed
        assert live["config"].tolist() == replay["config"].tolist()
        assert meta["spec"]["backend"] == "live" and meta["spec"]["budget"]["epochs"] == 6
        assert live["epochs"].sum() >= 6
        # each live result stands beside the cache's answer: the mean over its seeds
        for row in live.itertuples():
            config = json.loads(row.config)
            expected = np.mean([bench.value(config, row.epochs, s).val_error for s in bench.seeds_of(config)])
            assert row.cache_val_error == pytest.approx(expected)


def test_live_runs_side_by_side_give_the_rows_of_runs_one_at_a_time(
    cache_dir, fake_dataset, tmp_path
) -> None:
    """`--workers 2` runs two live runs at once, each on one worker: the same rows as one by one."""
    columns = ["trial_id", "config", "epochs", "resume_from", "val_error", "test_error", "status"]
    for workers in ("1", "2"):
        args = agree_args(cache_dir, tmp_path / workers, "--workers", workers, "--threads", "1")
        assert invoke(*args).exit_code == 0
    for path in sorted((tmp_path / "1" / "runs").glob("*/*/seed-*.parquet")):
        twin = tmp_path / "2" / path.relative_to(tmp_path / "1")
        pd.testing.assert_frame_equal(read_results(path)[0][columns], read_results(twin)[0][columns])


def test_agree_resumes_and_refuses_other_settings(cache_dir, fake_dataset, tmp_path) -> None:
    out = tmp_path / "agree"
    assert invoke(*agree_args(cache_dir, out)).exit_code == 0
    lost = out / "runs/replay/asha/seed-0001.parquet"
    kept = out / "runs/live/random/seed-0000.parquet"
    before, stamp = read_results(lost)[0], kept.stat().st_mtime_ns
    lost.unlink()
    again = CliRunner().invoke(cli, [str(a) for a in agree_args(cache_dir, out)[:-1]])  # with progress
    assert again.exit_code == 0, again.output
    assert "8 runs planned (4 live, as many replayed), 7 already in" in again.output
    pd.testing.assert_frame_equal(read_results(lost)[0], before)  # the replay is redone bit for bit
    assert kept.stat().st_mtime_ns == stamp  # the live run is not retrained

    args = agree_args(cache_dir, out)
    args[args.index("--seeds") + 1] = "3"
    refused = invoke(*args)
    assert refused.exit_code == 2
    assert "holds results made with other settings" in refused.output
    assert len(list((out / "runs").glob("*/*/seed-*.parquet"))) == 8

    (out / "agreement.html").unlink()
    rebuilt = invoke("report", out)
    assert rebuilt.exit_code == 0, rebuilt.output
    assert (out / "agreement.html").is_file() and "best first, live:" in rebuilt.output


@pytest.mark.parametrize(
    ("change", "message", "code"),
    [
        (("--mode", "tabular"), "Invalid value for '--mode'", 2),
        (("--budget-epochs", "0"), "Error: --budget-epochs must be an integer >= 1, got 0", 2),
        (("--seeds", "0"), "Error: --seeds must be an integer >= 1, got 0", 2),
        (("--r-max", "9"), "Error: --r-max 9 exceeds the 4 epochs cached for softmax", 2),
        (("--algorithms", "random,nope"), "Error: unknown algorithm 'nope'; accepted:", 2),
    ],
)
def test_agree_bad_options(cache_dir, tmp_path, change, message, code) -> None:
    args = agree_args(cache_dir, tmp_path / "agree")
    option, value = change
    args[args.index(option) + 1] = value
    result = invoke(*args)
    assert result.exit_code == code
    assert message in result.output
    if not message.startswith("Invalid value"):  # ours, not click's (which adds its usage lines)
        assert len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "agree" / "runs").exists()


def test_a_surrogate_plan_names_its_regressor_and_refuses_another(cache_dir, tmp_path, monkeypatch) -> None:
    # live rows hold the surrogate's answers beside them: answers of another regressor must not mix
    settings = AlgorithmSettings(r_max=3)
    spec = AgreeSpec("softmax", ("random",), 1, 4, settings=settings, cache_dir=str(cache_dir))
    table = load_table(spec)
    record = plan_record(spec, table)
    assert record["cache"]["regressor"] == "gp"
    assert "regressor" not in plan_record(replace(spec, mode="nearest"), table)["cache"]
    out = tmp_path / "agree"
    check_plan_file(out, record, keys=("spec", "cache"), name="agree.json")
    check_plan_file(out, plan_record(spec, table), keys=("spec", "cache"), name="agree.json")  # the same
    monkeypatch.setitem(names.PREFERRED, "softmax", "knn")
    with pytest.raises(ConfigError, match="holds results made with other settings"):
        check_plan_file(out, plan_record(spec, table), keys=("spec", "cache"), name="agree.json")
