"""Plug-in algorithms: loading, the conformance kit, and failures kept to the failing algorithm."""

from __future__ import annotations

import importlib
import json
import sys
from html import unescape

import numpy as np
import pytest
from click.testing import CliRunner

from bench.cli import cli
from hpo import plugins
from hpo.algorithms import ALGORITHMS, AlgorithmSettings, build, get_algorithm
from hpo.errors import ConfigError
from hpo.searchers import SEARCHERS
from hpo.testing import conformance
from hpo.testing.conformance import check_algorithm, check_searcher
from tests.support.cachefixtures import write_cache
from tests.support.extras import algorithm_params

optuna = pytest.importorskip("optuna")

# a user's module, written into the working directory of the test (as a user's would be)
PLUGIN_MODULE = """
import sys
import time
import numpy as np
from hpo.schedulers import FIFOScheduler
from hpo.searchers import Searcher


class Nudge(Searcher):
    def propose(self, trial_id):
        if not self.observations or self.rng.random() < 0.5:
            return self.random_config()
        best = min(self.observations, key=lambda seen: seen.error).config
        point = self.space.to_unit(best) + self.rng.normal(0, 0.1, self.space.dim)
        return self.space.from_unit(np.clip(point, 0, 1))


def make_nudge(space, rng, **options):
    return Nudge(space, rng, **options)


class Raises(Searcher):
    def propose(self, trial_id):
        if len(self.observations) >= 3:
            raise ValueError("my searcher broke after three results")
        return self.random_config()


class Exits(Searcher):
    def propose(self, trial_id):
        if len(self.observations) >= 2:
            sys.exit(3)
        return self.random_config()


class Invalid(Searcher):
    def propose(self, trial_id):
        return {"learning_rate": 5.0}


class Hangs(Searcher):
    def propose(self, trial_id):
        if self.observations:
            while True:
                time.sleep(0.01)
        return self.random_config()


class GlobalRandom(Searcher):
    def propose(self, trial_id):
        return self.space.from_unit(np.random.random(self.space.dim))


class MyFifo(FIFOScheduler):
    def __init__(self, searcher, eta, r_min, r_max):
        super().__init__(searcher, epochs=r_max)


NOT_A_PLUGIN = 42
"""


@pytest.fixture
def user_module(tmp_path, monkeypatch):
    (tmp_path / "userpkg").mkdir()
    (tmp_path / "userpkg" / "__init__.py").write_text("")
    (tmp_path / "userpkg" / "search.py").write_text(PLUGIN_MODULE)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    # each test imports its own copy of the module, not one an earlier test left in sys.modules
    for name in ("userpkg", "userpkg.search"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    yield "userpkg.search"
    for name in ("userpkg", "userpkg.search"):
        sys.modules.pop(name, None)


# -- the conformance kit -------------------------------------------------------------------

# Optuna's GP and SMAC: 1.5-2.5 minutes for the kit's ~450 suggestions, 15 s to minutes a replay;
# they run in `nox -s extras`
SLOW_SEARCHERS = {"optuna-gp", "smac-bo"}
SLOW_ALGORITHMS = {"optuna-gp", "smac-bo", "smac-hb", "st-asha-cqr"}


@pytest.mark.parametrize("name", algorithm_params(SEARCHERS, SLOW_SEARCHERS, extras=SLOW_SEARCHERS))
def test_every_built_in_searcher_passes_the_conformance_kit(name) -> None:
    check_searcher(SEARCHERS[name])


@pytest.mark.parametrize("name", algorithm_params(ALGORITHMS, SLOW_ALGORITHMS, extras=SLOW_ALGORITHMS))
def test_every_built_in_algorithm_replays_reproducibly_with_four_workers(name) -> None:
    check_algorithm(name)


def test_the_example_searcher_passes_the_kit_as_a_plug_in(monkeypatch) -> None:
    from examples.local_search import LocalSearch

    check_searcher(LocalSearch)
    check_algorithm("examples.local_search:LocalSearch@asha")


def test_the_kit_names_the_checks_a_faulty_searcher_fails(user_module) -> None:
    # what it catches: a searcher drawing from np.random (not reproducible from the replay's
    # seed), and one proposing configs outside the space
    with pytest.raises(AssertionError) as caught:
        check_searcher(plugins.load_object(f"{user_module}:GlobalRandom"))
    assert "no global random state" in str(caught.value)
    assert "reproducible: suggestion 0 differs" in str(caught.value)
    assert "valid configs" not in str(caught.value)
    with pytest.raises(
        AssertionError,
        match=r"valid configs: suggested an invalid config \{'learning_rate': 5.0\}: learning_rate=5.0 is outside the space",
    ):
        check_searcher(plugins.load_object(f"{user_module}:Invalid"))


# -- naming a plug-in -----------------------------------------------------------------------


def test_a_plug_in_searcher_runs_in_any_scheduler_and_a_factory_works_too(user_module) -> None:
    for spec, scheduler in (
        (f"{user_module}:Nudge", "fifo"),
        (f"{user_module}:Nudge@asha", "asha"),
        (f"{user_module}:make_nudge@hyperband", "hyperband"),
    ):
        algorithm = get_algorithm(spec)
        assert (algorithm.searcher, algorithm.scheduler) == ("plug-in", scheduler)
        rows = conformance.replay(
            build(
                spec, conformance.SPACE, np.random.default_rng(0), AlgorithmSettings(eta=3, r_min=1, r_max=9)
            )
        )
        assert len({r["trial_id"] for r in rows}) == 40


def test_a_plug_in_scheduler_gets_random_search_inside(user_module) -> None:
    algorithm = get_algorithm(f"{user_module}:MyFifo")
    assert (algorithm.searcher, algorithm.scheduler) == ("random", "plug-in")
    check_algorithm(f"{user_module}:MyFifo")


@pytest.mark.parametrize(
    "name, message",
    [
        ("nosuchpkg.x:Y", "plug-in 'nosuchpkg.x:Y': cannot import 'nosuchpkg.x'"),
        ("userpkg.search:Nope", "'userpkg.search' has no attribute 'Nope'"),
        ("userpkg.search:NOT_A_PLUGIN", "is a int; a plug-in is a Searcher or Scheduler subclass"),
        ("userpkg.search:Nudge@nowhere", "unknown scheduler 'nowhere'; accepted: fifo, sh, hyperband, asha"),
        ("userpkg.search:MyFifo@asha", "is a scheduler; @asha applies to searchers"),
        ("userpkg.search:", "write it as module:Object"),
        ("no-such-algorithm", "unknown algorithm 'no-such-algorithm'; accepted: random, bo,"),
    ],
)
def test_a_bad_plug_in_name_is_one_line(user_module, name, message) -> None:
    with pytest.raises(ConfigError) as caught:
        get_algorithm(name)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_an_installed_package_registers_algorithms_by_entry_point(user_module, tmp_path) -> None:
    info = tmp_path / "userpkg-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: userpkg\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        f"[{plugins.GROUP}]\nnudge = {user_module}:Nudge\nnudge-asha = {user_module}:Nudge@asha\n"
    )
    assert plugins.registered()["nudge"] == f"{user_module}:Nudge"
    assert get_algorithm("nudge").scheduler == "fifo"
    assert get_algorithm("nudge-asha").scheduler == "asha"
    assert get_algorithm("nudge@hyperband").scheduler == "hyperband"
    with pytest.raises(ConfigError, match="accepted: .*nudge, nudge-asha, module:Object"):
        get_algorithm("nudge2")


# -- failures stay with the failing algorithm ------------------------------------------------


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("curves")
    write_cache(root, "softmax", n_configs=32, seeds=2, epochs=6)
    return root


def compare(cache_dir, out, algorithms, seeds=2):
    args = [
        "compare",
        "--models",
        "softmax",
        "--algorithms",
        algorithms,
        "--seeds",
        str(seeds),
        "--r-max",
        "6",
    ]
    args += ["--cache-dir", str(cache_dir), "--out", str(out), "--processes", "1", "--quiet"]
    return CliRunner().invoke(cli, args)


def test_a_failing_plug_in_is_reported_and_the_comparison_goes_on(
    user_module, cache_dir, tmp_path, monkeypatch
) -> None:
    monkeypatch.setenv(plugins.LIMIT_ENV, "0.5")
    out = tmp_path / "cmp"
    names = [f"{user_module}:{c}" for c in ("Raises", "Invalid", "Hangs", "Exits")]
    result = compare(cache_dir, out, ",".join(["random", f"{user_module}:Nudge", *names]))
    assert result.exit_code == 1, result.output
    assert "report: " in result.output
    for name, message in zip(
        names,
        (
            "suggest() raised ValueError: my searcher broke after three results",
            "returned an invalid config",
            "did not return within 0.5 s",
            "suggest() called sys.exit(3)",
        ),
        strict=True,
    ):
        printed = [
            line for line in result.output.splitlines() if line.startswith(f"{name} failed in 2 replays")
        ]
        assert len(printed) == 1 and message in printed[0], result.output
    # the others have every replay, and the report shows the plug-in beside the built-in
    assert len(list((out / "runs" / "softmax").glob("*/*/seed-*.parquet"))) == 4
    failed = sorted((out / "runs" / "softmax").glob("*/*/seed-*.failed.json"))
    assert len(failed) == 8
    assert json.loads(failed[0].read_text())["algorithm"] in names
    html = unescape((out / "report.html").read_text())
    assert "Failed replays" in html and "did not return within 0.5 s" in html
    assert f"{user_module}:Nudge" in html


def test_a_failed_replay_runs_again_on_resume_and_its_failure_file_goes(
    user_module, cache_dir, tmp_path
) -> None:
    out = tmp_path / "cmp"
    spec = f"{user_module}:Raises"
    assert compare(cache_dir, out, spec, seeds=1).exit_code == 1
    assert len(list(out.glob("runs/*/*/*/seed-*.failed.json"))) == 1
    # the user fixes the plug-in (here: the module now raises only after a hundred results)
    module = out.parent / "userpkg" / "search.py"
    module.write_text(module.read_text().replace(">= 3", ">= 100"))
    import sys

    importlib.reload(sys.modules[user_module])
    result = compare(cache_dir, out, spec, seeds=1)
    assert result.exit_code == 0, result.output
    assert not list(out.glob("runs/*/*/*/seed-*.failed.json"))
    assert len(list(out.glob("runs/*/*/*/seed-*.parquet"))) == 1


def test_a_plug_in_s_exception_reaches_run_as_one_line(user_module, cache_dir) -> None:
    args = ["run", "--model", "softmax", "--algorithm", f"{user_module}:Raises", "--backend", "replay"]
    args += ["--cache-dir", str(cache_dir), "--r-max", "6", "--trials", "8", "--quiet"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1
    assert "suggest() raised ValueError: my searcher broke after three results" in result.output
    assert "Traceback" not in result.output
