from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from html import unescape

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from bench.cli import cli
from bench.results import read_results
from reports.anytime import (
    anytime_bands,
    average_ranks,
    final_summary,
    incumbent_on_grid,
    speedup_bands,
    time_to_target,
    trajectories,
)
from reports.plan import CacheFacts
from tests.support.cachefixtures import write_cache


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("curves")
    write_cache(root, "softmax", n_configs=32, seeds=2, epochs=6)
    write_cache(root, "lenet", n_configs=16, seeds=1, epochs=6)
    return root


def invoke(*args):
    return CliRunner().invoke(cli, list(args))


def run_rows(model, algorithm, seed, t_end, val, test=None):
    n = len(t_end)
    return pd.DataFrame(
        {
            "model": model,
            "algorithm": algorithm,
            "seed": seed,
            "trial_id": range(n),
            "t_end": t_end,
            "val_error": val,
            "test_error": test if test is not None else [v + 0.01 for v in val],
        }
    )


# -- aggregation ---------------------------------------------------------------------------


def test_incumbent_on_grid_by_hand() -> None:
    rows = run_rows("m", "a", 0, [1.0, 2.0, 3.0], [0.5, 0.6, 0.3])
    got = incumbent_on_grid(rows, np.array([0.0, 1.0, 1.5, 2.5, 3.0, 10.0]))
    np.testing.assert_array_equal(got, [np.nan, 0.5, 0.5, 0.5, 0.3, 0.3])


def test_bands_and_ranks_by_hand() -> None:
    rows = pd.concat(
        [
            run_rows("m", "a", 0, [1.0, 2.0], [0.4, 0.2]),
            run_rows("m", "a", 1, [1.0, 2.0], [0.6, 0.5]),
            run_rows("m", "b", 0, [1.0], [0.3]),
            run_rows("m", "b", 1, [3.0], [0.1]),
        ]
    )
    traj = trajectories(rows, {"m": np.array([0.5, 1.0, 2.0, 3.0])})
    bands = anytime_bands(traj, 0, n_boot=200).set_index(["algorithm", "t"])
    # before any result a seed counts as error 1.0
    assert bands.loc[("a", 0.5), "mean"] == pytest.approx(1.0)
    assert bands.loc[("a", 2.0), "mean"] == pytest.approx((0.2 + 0.5) / 2)
    assert bands.loc[("b", 1.0), "mean"] == pytest.approx((0.3 + 1.0) / 2)
    assert bands.loc[("b", 3.0), "mean"] == pytest.approx((0.3 + 0.1) / 2)
    assert (bands["lo"] <= bands["mean"] + 1e-12).all() and (bands["mean"] <= bands["hi"] + 1e-12).all()
    ranks = average_ranks(traj).set_index(["algorithm", "t"])["rank"]
    # t=1: seed 0 b (0.3) beats a (0.4); seed 1 a (0.6) beats b (no result) -> 1.5 each
    assert ranks[("a", 1.0)] == ranks[("b", 1.0)] == 1.5
    # t=3: seed 0 a 0.2 < b 0.3; seed 1 b 0.1 < a 0.5 -> 1.5 each; t=2: a wins seed 0 and seed 1
    assert ranks[("a", 2.0)] == 1.0 and ranks[("b", 2.0)] == 2.0
    assert ranks[("a", 3.0)] == ranks[("b", 3.0)] == 1.5


def test_identical_seeds_give_a_band_of_zero_width() -> None:
    rows = pd.concat([run_rows("m", "a", s, [1.0, 2.0], [0.4, 0.2]) for s in range(5)])
    bands = anytime_bands(trajectories(rows, {"m": np.array([1.0, 2.0])}), 0, 100)
    np.testing.assert_allclose(bands["lo"], bands["mean"])
    np.testing.assert_allclose(bands["hi"], bands["mean"])


def test_a_band_does_not_depend_on_the_other_algorithms_compared() -> None:
    rng = np.random.default_rng(3)
    runs = {
        a: [run_rows("m", a, s, [1.0, 2.0], list(rng.uniform(0.1, 0.5, 2))) for s in range(6)] for a in "xyz"
    }
    grid = {"m": np.array([1.0, 2.0])}
    alone = pd.concat(runs["y"])
    together = pd.concat([*runs["x"], *runs["y"], *runs["z"]])
    columns = ["mean", "lo", "hi"]
    band_alone = anytime_bands(trajectories(alone, grid), 0, 200)[columns]
    band_together = anytime_bands(trajectories(together, grid), 0, 200)
    pd.testing.assert_frame_equal(
        band_together[band_together["algorithm"] == "y"][columns].reset_index(drop=True), band_alone
    )
    final_alone = final_summary(alone, 0).iloc[0]
    final_together = final_summary(together, 0).set_index("algorithm").loc["y"]
    for column in ("val_lo", "val_hi", "test_lo", "test_hi"):
        assert final_together[column] == final_alone[column]
    assert band_alone["lo"].iloc[-1] < band_alone["hi"].iloc[-1]  # a band of real width


def test_time_to_target_and_speedup() -> None:
    t = np.arange(1.0, 11.0)
    bands = pd.DataFrame(
        {
            "model": "m",
            "algorithm": ["random"] * 10 + ["asha"] * 10 + ["slow"] * 10,
            "t": np.tile(t, 3),
            "mean": np.concatenate(
                [np.r_[np.full(7, 0.3), np.full(3, 0.2)], np.r_[0.3, np.full(9, 0.2)], np.full(10, 0.25)]
            ),
        }
    )
    got = time_to_target(bands).set_index("algorithm")
    assert got.loc["random", "time_to_target"] == 8.0 and got.loc["random", "speedup"] == 1.0
    assert got.loc["asha", "time_to_target"] == 2.0 and got.loc["asha", "speedup"] == 4.0
    assert np.isinf(got.loc["slow", "time_to_target"]) and np.isnan(got.loc["slow", "speedup"])


def _traj(curves: dict[str, list[list[float]]]) -> pd.DataFrame:
    """A trajectory table from per-algorithm lists of per-seed incumbent curves on t = 1..T."""
    parts = []
    for algorithm, seeds in curves.items():
        for seed, curve in enumerate(seeds):
            t = np.arange(1.0, len(curve) + 1)
            parts.append(
                pd.DataFrame({"model": "m", "algorithm": algorithm, "seed": seed, "t": t, "incumbent": curve})
            )
    return pd.concat(parts, ignore_index=True)


def test_speedup_band_collapses_when_every_seed_agrees_and_widens_when_they_do_not() -> None:
    random_curve = [0.3] * 7 + [0.2] * 3  # reaches its final 0.2 at t=8
    same = _traj({"random": [random_curve] * 5, "asha": [[0.3] + [0.2] * 9] * 5, "slow": [[0.25] * 10] * 5})
    got = speedup_bands(same, n_boot=200).set_index("algorithm")
    assert (got.loc["asha", "speedup_lo"], got.loc["asha", "speedup_hi"]) == (4.0, 4.0)
    assert (got.loc["slow", "speedup_lo"], got.loc["slow", "speedup_hi"]) == (0.0, 0.0)  # never reaches it
    assert np.isnan(got.loc["random", "speedup_lo"]) and np.isnan(got.loc["random", "speedup_hi"])
    # asha's seeds reach 0.2 at t = 2 or at t = 8: the mean reaches it at 8 only if every seed does
    mixed = _traj({"random": [random_curve] * 5, "asha": [[0.3] + [0.2] * 9] * 4 + [random_curve]})
    band = speedup_bands(mixed, n_boot=2000, seed=1).set_index("algorithm").loc["asha"]
    point = time_to_target(anytime_bands(mixed, 0, 200)).set_index("algorithm").loc["asha", "speedup"]
    assert point == 1.0  # the mean over all five reaches 0.2 only at t = 8
    # resamples without the slow seed (0.8^5 = 33% of them) give 4x, the others 1x
    assert band["speedup_lo"] == 1.0 and band["speedup_hi"] == 4.0
    again = speedup_bands(mixed, n_boot=2000, seed=1).set_index("algorithm").loc["asha"]
    assert again.equals(band)


def test_final_summary_takes_each_runs_final_incumbent() -> None:
    rows = pd.concat(
        [
            run_rows("m", "a", 0, [1.0, 5.0], [0.3, 0.1], test=[0.35, 0.12]),
            run_rows("m", "a", 1, [1.0, 2.0], [0.2, 0.25], test=[0.22, 0.3]),
        ]
    )
    got = final_summary(rows, 0).iloc[0]
    assert got["val_error"] == pytest.approx((0.1 + 0.2) / 2)
    assert got["test_error"] == pytest.approx((0.12 + 0.22) / 2)
    assert got["seeds"] == 2


def test_a_sweep_keeps_its_settings_apart() -> None:
    rows = pd.concat(
        [
            run_rows("m", "a", 0, [1.0, 2.0], [0.3, 0.1]).assign(workers=1),
            run_rows("m", "a", 0, [0.5, 1.0], [0.3, 0.2]).assign(workers=4),
        ]
    )
    grids = {("m", 1): np.array([1.0, 2.0]), ("m", 4): np.array([0.5, 1.0])}
    traj = trajectories(rows, grids)
    assert traj.groupby("workers")["incumbent"].apply(list).to_dict() == {1: [0.3, 0.1], 4: [0.3, 0.2]}
    final = final_summary(rows, 0).set_index("workers")["val_error"]
    assert final.to_dict() == {1: 0.1, 4: 0.2}


# -- bench compare -------------------------------------------------------------------------


SETTING_DIR = "workers-4-budget-32"


def compare_args(cache_dir, out, *extra):
    return [
        "compare",
        "--models",
        "softmax,lenet",
        "--algorithms",
        "random,asha",
        "--seeds",
        "3",
        "--r-max",
        "6",
        "--cache-dir",
        str(cache_dir),
        "--out",
        str(out),
        "--processes",
        "1",
        *extra,
    ]


def summary_rows(output: str) -> list[dict[str, str]]:
    """The printed summary table as dicts, cut at the header's column starts."""
    # the progress bar (stderr, mixed in by the runner) may share the header's line
    lines = [line[line.index("model ") :] if "model " in line else line for line in output.splitlines()]
    header = next(i for i, line in enumerate(lines) if line.startswith("model "))
    names = re.split(r"\s{2,}", lines[header].strip())
    starts = [lines[header].index(n) for n in names] + [None]
    return [
        {n: line[starts[k] : starts[k + 1]].strip() for k, n in enumerate(names)}
        for line in lines[header + 1 :]
        if line.startswith(("softmax", "lenet", "sgd", "svm"))
    ]


def all_rows(out):
    frames = [read_results(p)[0] for p in sorted((out / "runs").glob("*/*/*/seed-*.parquet"))]
    return pd.concat(frames, ignore_index=True)


def test_compare_writes_every_replay_and_a_self_contained_report(cache_dir, tmp_path) -> None:
    out = tmp_path / "cmp"
    result = invoke(*compare_args(cache_dir, out))
    assert result.exit_code == 0, result.output
    files = sorted((out / "runs").glob("*/*/*/seed-*.parquet"))
    assert len(files) == 2 * 2 * 3
    summary = [
        line.split()[:2] for line in result.output.splitlines() if line.startswith(("softmax", "lenet"))
    ]
    assert summary == [["lenet", "asha"], ["lenet", "random"], ["softmax", "asha"], ["softmax", "random"]]
    rows, meta = read_results(out / "runs" / "softmax" / "asha" / SETTING_DIR / "seed-0002.parquet")
    assert meta["spec"]["seed"] == 2 and meta["spec"]["backend"] == "replay" and meta["spec"]["workers"] == 4
    assert set(rows["algorithm"]) == {"asha"} and len(rows) > 0
    html = (out / "report.html").read_text()
    # regret and rank over time (one figure for the setting), the learning-curve sample; two
    # algorithms give no critical-difference diagram and one worker count no sweep figure
    assert html.count("data:image/png;base64,") == 2
    assert "http://" not in html and "https://" not in html and "<script" not in html
    text = unescape(re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", html))
    for section in (
        "Across models",
        "Per model",
        "Regret and rank over time",
        "learning curves",
        "Provenance",
    ):
        assert section in text
    assert "softmax" in text and "lenet" in text and "speed-up" in text
    assert not re.search(r"\b(nan|NaN|inf)\b", text)
    assert "Friedman's test needs at least three algorithms" in text


def test_compare_resumes_and_does_not_depend_on_processes(cache_dir, tmp_path) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    assert invoke(*compare_args(cache_dir, one)).exit_code == 0
    victim = one / "runs" / "lenet" / "random" / SETTING_DIR / "seed-0001.parquet"
    kept = one / "runs" / "softmax" / "asha" / SETTING_DIR / "seed-0000.parquet"
    before = kept.stat().st_mtime_ns
    victim.unlink()  # as if the run had been killed before this replay finished
    again = CliRunner().invoke(cli, compare_args(cache_dir, one))
    assert again.exit_code == 0, again.output
    assert "12 replays planned, 11 already in" in again.output and "1 to run" in again.output
    assert victim.exists() and kept.stat().st_mtime_ns == before
    args = compare_args(cache_dir, two)
    args[args.index("--processes") + 1] = "2"
    assert invoke(*args).exit_code == 0
    a, b = all_rows(one), all_rows(two)
    pd.testing.assert_frame_equal(a, b)


def test_a_truncated_run_file_is_run_again_on_resume(cache_dir, tmp_path) -> None:
    out = tmp_path / "one"
    assert invoke(*compare_args(cache_dir, out)).exit_code == 0
    victim = out / "runs" / "lenet" / "random" / SETTING_DIR / "seed-0001.parquet"
    whole = victim.read_bytes()
    victim.write_bytes(whole[: len(whole) // 2])  # as if the disk filled up while it was written
    again = CliRunner().invoke(cli, compare_args(cache_dir, out))
    assert again.exit_code == 0, again.output
    assert "11 already in" in again.output and "1 to run" in again.output
    assert victim.read_bytes() == whole  # a replay is a pure function of its spec: the same bytes


def test_surrogate_replays_fit_each_model_once_before_the_processes_start(
    cache_dir, tmp_path, monkeypatch
) -> None:
    from cache.lookup import fitted

    monkeypatch.setattr(fitted, "SLOW_FIT_SECONDS", 0.0)  # in this process: keep every fit
    args = compare_args(cache_dir, tmp_path / "two", "--mode", "surrogate")
    args[args.index("--processes") + 1] = "2"
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    assert result.output.count("preparing the surrogate of") == 2
    kept = sorted(p.name.split("-")[0] for p in fitted.surrogate_dir().glob("*.pkl"))
    assert kept == ["lenet", "softmax"]
    # the replay processes loaded those fits: the same rows as replays in this process
    one = invoke(*compare_args(cache_dir, tmp_path / "one", "--mode", "surrogate"))
    assert one.exit_code == 0 and "preparing the surrogate of" in one.output
    pd.testing.assert_frame_equal(all_rows(tmp_path / "one"), all_rows(tmp_path / "two"))


def test_another_comparison_into_the_same_out_is_refused(cache_dir, tmp_path) -> None:
    out = tmp_path / "cmp"
    assert invoke(*compare_args(cache_dir, out)).exit_code == 0
    args = compare_args(cache_dir, out)
    args[args.index("--seeds") + 1] = "4"
    result = invoke(*args)
    assert result.exit_code == 2
    assert "holds results made with other settings" in result.output
    assert len(list((out / "runs").glob("*/*/*/seed-*.parquet"))) == 12


def test_surrogate_replays_of_another_regressor_are_not_mixed_in(cache_dir, tmp_path, monkeypatch) -> None:
    from cache import names

    out = tmp_path / "cmp"
    args = compare_args(cache_dir, out, "--mode", "surrogate")
    assert invoke(*args).exit_code == 0
    plan = json.loads((out / "compare.json").read_text())
    assert plan["regressors"] == {m: names.preferred_regressor(m) for m in ("softmax", "lenet")}
    # a later version prefers another regressor for softmax: its replays would answer otherwise
    monkeypatch.setitem(names.PREFERRED, "softmax", "knn")
    result = invoke(*args)
    assert result.exit_code == 2 and "holds results made with other settings" in result.output
    # and the default directory of the new comparison is another one
    monkeypatch.chdir(tmp_path)
    default = [a for a in args if a not in ("--out", str(out))]
    assert invoke(*default).exit_code == 0
    (made,) = (tmp_path / "results").iterdir()
    assert json.loads((made / "compare.json").read_text())["regressors"]["softmax"] == "knn"


def test_report_rebuilds_from_stored_results(cache_dir, tmp_path) -> None:
    out = tmp_path / "cmp"
    assert invoke(*compare_args(cache_dir, out)).exit_code == 0
    first = (out / "report.html").read_bytes()
    (out / "report.html").unlink()
    result = invoke("report", str(out))
    assert result.exit_code == 0, result.output
    # the report is a function of the stored results: the same bytes, figures included
    assert (out / "report.html").read_bytes() == first
    logged = invoke("report", str(out), "--log-time")
    assert logged.exit_code == 0 and (out / "report.html").read_bytes() != first


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("--seeds", "0"), "Error: --seeds must be an integer >= 1, got 0"),
        (("--algorithms", "random,pbt"), "Error: unknown algorithm 'pbt'; accepted: random"),
        (("--models", "resnet"), "Error: unknown model 'resnet' in --models; accepted: softmax"),
        (("--r-max", "9"), "Error: --r-max 9 exceeds the 6 epochs cached for softmax"),
        (("--workers", "0"), "Error: --workers must be an integer >= 1, got 0"),
        (("--workers", "1,x"), "Error: --workers '1,x': 'x' is not an integer"),
        (("--budget-trainings", "32,-1"), "Error: --budget-trainings must be > 0, got -1.0"),
        (("--budget-trainings", "0"), "Error: --budget-trainings must be > 0, got 0.0"),
        # absurd sizes are refused before planning (10 million seeds once grew past 1.3 GB silently)
        (("--seeds", "10000000"), "Error: 40,000,000 replays asked for (2 models x 2 algorithms"),
        (("--workers", "1000000"), "Error: --workers 1000000: at most 100,000 simulated workers"),
    ],
)
def test_bad_options_are_one_line(cache_dir, tmp_path, change, message) -> None:
    args = compare_args(cache_dir, tmp_path / "cmp")
    if change[0] in args:
        args[args.index(change[0]) + 1] = change[1]
    else:
        args.extend(change)
    result = invoke(*args)
    assert result.exit_code == 2
    assert result.output.startswith(message) and len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "cmp" / "runs").exists()


def test_report_of_a_directory_without_a_comparison(tmp_path) -> None:
    result = invoke("report", str(tmp_path))
    assert result.exit_code == 1
    assert (
        result.output.strip()
        == f"Error: {tmp_path}: no compare.json; is it the --out of a bench compare or bench agree?"
    )


def test_default_out_is_one_directory_per_comparison(cache_dir, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    base = compare_args(cache_dir, "unused")
    i = base.index("--out")
    del base[i : i + 2]
    for _ in range(2):
        assert invoke(*base).exit_code == 0
    base[base.index("--seeds") + 1] = "2"
    assert invoke(*base).exit_code == 0
    dirs = sorted(p.name for p in (tmp_path / "results").iterdir())
    assert len(dirs) == 2
    assert dirs[0].startswith("compare-tabular-2seeds-") and dirs[1].startswith("compare-tabular-3seeds-")


def test_default_models_are_those_in_the_cache(tmp_path) -> None:
    write_cache(tmp_path / "curves", "sgd", n_configs=8, seeds=1, epochs=3)
    out = tmp_path / "cmp"
    args = ["compare", "--algorithms", "random", "--seeds", "2", "--r-max", "3", "--processes", "1"]
    result = invoke(*args, "--cache-dir", str(tmp_path / "curves"), "--out", str(out))
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (out / "runs").iterdir()) == ["sgd"]
    empty = invoke(*args, "--cache-dir", str(tmp_path / "none"), "--out", str(tmp_path / "o2"))
    assert empty.exit_code == 1
    assert empty.output.strip() == f"Error: no curves in {tmp_path / 'none'}"


def test_compare_without_random_search_has_no_speedup(cache_dir, tmp_path) -> None:
    args = compare_args(cache_dir, tmp_path / "cmp")
    args[args.index("--algorithms") + 1] = "asha,sh"
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    table = [r for r in summary_rows(result.output) if r["model"] == "softmax"]
    assert [r["algorithm"] for r in table] == ["asha", "sh"]
    assert all(
        r["speed-up [95% band]"] == "-" and r["vs random (median diff, r, Holm p)"] == "-" for r in table
    )
    assert "nan" not in result.output


def test_an_out_the_system_refuses_is_one_line(cache_dir, tmp_path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    result = invoke(*compare_args(cache_dir, blocker / "cmp"))
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.output.strip().splitlines() == [f"Error: {blocker / 'cmp'}: Not a directory"]


def test_a_sweep_gives_every_worker_count_and_budget_a_row_and_more_workers_finish_sooner(
    cache_dir, tmp_path
) -> None:
    """Before: --workers 64 gave each worker half a training and printed nan rows."""
    out = tmp_path / "cmp"
    args = compare_args(cache_dir, out, "--workers", "1,64", "--budget-trainings", "2,8")
    args[args.index("--seeds") + 1] = "2"
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    assert "nan" not in result.output.lower() and "inf" not in result.output
    settings = sorted(
        (r["model"], r["algorithm"], r["workers"], r["budget"]) for r in summary_rows(result.output)
    )
    expected = [
        (m, a, w, b)
        for m in ("lenet", "softmax")
        for a in ("asha", "random")
        for w in ("1", "64")
        for b in ("2", "8")
    ]
    assert settings == expected
    assert len(list((out / "runs").glob("*/*/*/seed-*.parquet"))) == 2 * 2 * 2 * 2 * 2
    # one budget, the same epochs for any worker count: 64 workers spend it sooner than one
    for model in ("softmax", "lenet"):
        spans = {}
        for workers in (1, 64):
            path = out / "runs" / model / "random" / f"workers-{workers}-budget-8" / "seed-0000.parquet"
            rows, meta = read_results(path)
            assert meta["spec"]["budget"]["epochs"] == 8 * 6 and rows["epochs"].sum() == 8 * 6
            spans[workers] = meta["makespan_seconds"]
        assert spans[64] < spans[1] / 4


@pytest.mark.parametrize(
    ("content", "field"),
    [("[]", "not a plan file"), ('{"spec": null}', 'field "spec"'), ("{", "not a plan file")],
)
def test_a_damaged_plan_file_is_one_line(cache_dir, tmp_path, content, field) -> None:
    out = tmp_path / "cmp"
    assert invoke(*compare_args(cache_dir, out)).exit_code == 0
    (out / "compare.json").write_text(content)
    for result in (invoke("report", str(out)), invoke(*compare_args(cache_dir, out))):
        assert result.exit_code != 0 and "Traceback" not in result.output
        assert "compare.json" in result.output and len(result.output.strip().splitlines()) == 1
    assert field in invoke("report", str(out)).output


def test_a_lucky_reading_earns_no_better_score() -> None:
    # "lucky" crowns a config worth 0.28 by one training that read 0.10; "honest" finds a config
    # worth 0.20. Scored by readings, lucky would beat random search (0.25) on every seed and
    # reach its target first; scored by worth, as every score must be, it is worse and never does.
    from reports.comparison import compute

    runs = []
    for seed in range(6):
        for algorithm, readings, worths in (
            ("random", [0.30, 0.25], [0.30, 0.25]),
            ("lucky", [0.30, 0.10], [0.30, 0.28]),
            ("honest", [0.30, 0.20], [0.30, 0.20]),
        ):
            runs.append(
                run_rows("m", algorithm, seed, [1.0, 2.0 + 0.01 * seed], readings).assign(config_error=worths)
            )
    rows = pd.concat(runs).assign(workers=4, budget_trainings=32.0)
    usage = pd.DataFrame(
        {"model": "m", "workers": 4, "budget_trainings": 32.0, "algorithm": ["random", "lucky", "honest"]}
    ).assign(utilisation=1.0, full_trainings=2.0, exhausted=0.0)
    summary = compute(rows, usage, {"m": CacheFacts(10, best=0.2, worst=0.4)})["summary"].set_index(
        "algorithm"
    )
    assert summary.loc["lucky", "val_error"] == pytest.approx(0.10)  # the reading, shown beside the worth
    assert summary.loc["lucky", "worth"] == pytest.approx(0.28) and summary.loc[
        "honest", "worth"
    ] == pytest.approx(0.2)
    assert summary.loc["lucky", "median_difference"] == pytest.approx(0.03)  # worse than random search
    assert summary.loc["honest", "median_difference"] == pytest.approx(-0.05)
    assert not np.isfinite(summary.loc["lucky", "speedup"])  # never reaches random search's final worth
    assert summary.loc["lucky", "mean_regret"] == pytest.approx(0.4)


def test_a_replay_process_imports_neither_torch_nor_scikit_learn() -> None:
    # every process of a comparison imports the replay path; torch and scikit-learn there cost
    # seconds per process (and per replacement of one whose plug-in died), for nothing a tabular
    # replay uses
    code = "import sys, bench.compare; print(sorted({'torch', 'sklearn', 'dask'} & set(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == "[]", out.stdout


DIES_ONCE = """
import os
from pathlib import Path
from hpo.searchers import Searcher


class DiesOnce(Searcher):
    # ends its process the first time any process replays it past two results (a marker file says so)
    def propose(self, trial_id):
        marker = Path(os.environ["HPOBENCH_TEST_MARKER"])
        if len(self.observations) >= 2 and not marker.exists():
            marker.touch()
            os._exit(9)
        return self.random_config()
"""


@pytest.mark.cluster
def test_a_comparison_on_a_dask_cluster_gives_the_local_rows_retries_a_dead_worker_and_resumes(
    cache_dir, tmp_path, dask_processes, monkeypatch
) -> None:
    # the replays go to `dask worker` processes on loopback; one of them dies mid-replay (a
    # plug-in's os._exit) and Dask runs that replay again on another; the driver writes every
    # file, and the rows are those of a local run in one process, resumed or not
    (tmp_path / "userpkg").mkdir()
    (tmp_path / "userpkg" / "__init__.py").write_text("")
    (tmp_path / "userpkg" / "dies.py").write_text(DIES_ONCE)
    marker = tmp_path / "died"
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(tmp_path), *sys.path]))  # the workers import it too
    monkeypatch.setenv("HPOBENCH_TEST_MARKER", str(marker))
    address = dask_processes(workers=2)
    on_cluster, local = tmp_path / "cluster", tmp_path / "local"
    algorithms = ["--algorithms", "random,asha,userpkg.dies:DiesOnce"]
    args = compare_args(cache_dir, on_cluster, *algorithms)
    del args[args.index("--processes") : args.index("--processes") + 2]
    result = invoke(*args, "--scheduler-address", address)
    assert result.exit_code == 0, result.output
    assert marker.exists()  # a worker died, and its replay was run again
    assert invoke(*compare_args(cache_dir, local, *algorithms)).exit_code == 0
    pd.testing.assert_frame_equal(all_rows(on_cluster), all_rows(local))
    for victim in sorted((on_cluster / "runs").glob("*/*/*/seed-0001.parquet"))[:2]:
        victim.unlink()  # as if the driver had been killed before these were written
    again = invoke(*args, "--scheduler-address", address)
    assert again.exit_code == 0 and "16 already in" in again.output and "2 to run" in again.output
    pd.testing.assert_frame_equal(all_rows(on_cluster), all_rows(local))


def test_a_comparison_refuses_processes_beside_a_cluster(cache_dir, tmp_path) -> None:
    result = invoke(*compare_args(cache_dir, tmp_path / "x"), "--scheduler-address", "tcp://127.0.0.1:1")
    assert result.exit_code == 2
    assert "--processes applies to local replays; on a cluster its workers run them" in result.output
