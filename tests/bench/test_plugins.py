"""Plug-in algorithms: loading, the conformance kit, and failures kept to the failing algorithm."""

from __future__ import annotations

import importlib
import json
import os
import signal
import subprocess
import sys
import time
from html import unescape
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from bench.cli import cli
from hpo import isolation, plugins
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
        assert len({r.trial_id for r in rows}) == 40


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


# -- plug-ins that kill their process, hang in C code or allocate without bound ---------------

DYING_MODULE = """
import ctypes
import os
import re
import signal
from hpo.searchers import Searcher


class _AfterTwo(Searcher):
    def propose(self, trial_id):
        if len(self.observations) >= 2:
            self.die()
        return self.random_config()


class Exits(_AfterTwo):
    def die(self):
        os._exit(7)


class Segfaults(_AfterTwo):
    def die(self):
        ctypes.string_at(0)


class Killed(_AfterTwo):  # as the out-of-memory killer does it
    def die(self):
        os.kill(os.getpid(), signal.SIGKILL)


class Interrupts(_AfterTwo):
    def die(self):
        raise KeyboardInterrupt


class HangsInC(_AfterTwo):  # a regular expression's backtracking holds the interpreter: no signal handler runs
    def die(self):
        re.match(r"(a+)+$", "a" * 64 + "b")


class Allocates(_AfterTwo):
    def die(self):
        self.hoard = bytearray(20 * 2**30)
"""


def test_a_plug_in_that_kills_its_process_fails_alone_and_the_comparison_goes_on(
    user_module, cache_dir, tmp_path, monkeypatch
) -> None:
    # each dies in its own way after two results; the built-in beside them keeps both replays,
    # each death is recorded in that replay's failure file with the exit code or signal, and the
    # command ends with the report (what a BrokenProcessPool, a SIGALRM limit or the OOM killer lost)
    (tmp_path / "userpkg" / "dying.py").write_text(DYING_MODULE)
    monkeypatch.setenv(plugins.LIMIT_ENV, "2")
    monkeypatch.setenv(isolation.MEMORY_ENV, "4")  # GB per replay process: the 20 GB allocation is refused
    out = tmp_path / "cmp"
    expected = {
        "Exits": "its process ended with exit code 7",
        "Segfaults": "its process ended with signal SIGSEGV",
        "Killed": "its process ended with signal SIGKILL",
        "Interrupts": "suggest() raised KeyboardInterrupt",
        "HangsInC": "suggest() did not return within 2 s; its process was killed",
        "Allocates": "suggest() ran out of memory (MemoryError)",
    }
    names = [f"userpkg.dying:{c}" for c in expected]
    result = compare(cache_dir, out, ",".join(["random", *names]), seeds=2)
    assert result.exit_code == 1, result.output
    assert "report: " in result.output and "Traceback" not in result.output
    assert len(list((out / "runs" / "softmax" / "random").glob("*/seed-*.parquet"))) == 2
    records = [json.loads(p.read_text()) for p in sorted(out.glob("runs/*/*/*/seed-*.failed.json"))]
    assert len(records) == 2 * len(expected)
    for name, message in zip(names, expected.values(), strict=True):
        mine = [r for r in records if r["algorithm"] == name]
        assert [r["seed"] for r in mine] == [0, 1], records
        assert all(message in r["message"] for r in mine), mine
        printed = [
            line for line in result.output.splitlines() if line.startswith(f"{name} failed in 2 replays")
        ]
        assert len(printed) == 1, result.output
    assert not _replay_children(), "a replay process outlived the comparison"


def test_a_call_that_overruns_in_a_watched_process_is_killed_from_outside() -> None:
    # the limit is kept by the parent, whatever the child's code is doing; a nested guarded call
    # gives the outer call's deadline back on its way out
    with isolation.Isolated(1, limit=0.5) as pool:
        outcomes = dict(pool.run([("slow", _guarded_nap, (0.1, 5.0)), ("quick", _guarded_nap, (0.1, 0.0))]))
    assert outcomes["slow"] == isolation.Died(
        "on_result() did not return within 0.5 s; its process was killed"
    )
    assert outcomes["quick"] == "napped"


def _guarded_nap(inner: float, outer: float) -> str:
    guard = plugins.Guard("napper", 0.5)

    def nap() -> str:
        guard.call("suggest()", time.sleep, inner)  # the inner call returns in time
        time.sleep(outer)
        return "napped"

    return guard.call("on_result()", nap)


def test_a_call_s_own_exception_reaches_the_parent() -> None:
    with isolation.Isolated(1) as pool, pytest.raises(ConfigError, match="bad option"):
        list(pool.run([("x", _raise_config_error, ())]))


def _raise_config_error() -> None:
    raise ConfigError("bad option")


HANGING_MODULE = """
import os
import time
from hpo.searchers import Searcher


class Hangs(Searcher):
    def propose(self, trial_id):
        if self.observations:
            with open(f"pid-{os.getpid()}", "w"):
                pass
            while True:
                time.sleep(0.05)
        return self.random_config()
"""


def test_ctrl_c_stops_a_comparison_s_watched_processes_within_seconds(
    user_module, cache_dir, tmp_path
) -> None:
    # a hanging plug-in with no time limit: Ctrl-C (SIGINT to the process group, as a terminal
    # sends it) must end the command with "interrupted", keep the finished replays and leave no
    # replay process behind
    (tmp_path / "userpkg" / "hanging.py").write_text(HANGING_MODULE)
    out = tmp_path / "cmp"
    args = [sys.executable, "-m", "bench", "compare", "--models", "softmax", "--seeds", "2", "--r-max", "6"]
    args += ["--algorithms", "random,userpkg.hanging:Hangs", "--cache-dir", str(cache_dir)]
    args += ["--out", str(out), "--processes", "2", "--quiet"]
    env = {**os.environ, plugins.LIMIT_ENV: "0", "PYTHONPATH": os.pathsep.join([str(tmp_path), *sys.path])}
    proc = subprocess.Popen(args, cwd=tmp_path, env=env, stderr=subprocess.PIPE, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        finished = out / "runs" / "softmax" / "random"
        while time.monotonic() < deadline and not (
            list(tmp_path.glob("pid-*")) and len(list(finished.glob("*/seed-*.parquet"))) == 2
        ):
            time.sleep(0.1)
        hung = [int(p.name.removeprefix("pid-")) for p in tmp_path.glob("pid-*")]
        assert hung, "the plug-in never started"
        os.killpg(proc.pid, signal.SIGINT)
        stopped = time.monotonic()
        _, err = proc.communicate(timeout=30)
        assert time.monotonic() - stopped < 10
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 130 and err.decode().strip().splitlines()[-1] == "interrupted", err
    assert len(list(finished.glob("*/seed-*.parquet"))) == 2  # what finished is kept
    assert not list(out.glob("runs/*/*/*/seed-*.failed.json"))  # Ctrl-C is not the plug-in's failure
    time.sleep(0.5)
    for pid in hung:
        assert not _running(pid), f"replay process {pid} was left running"


def _replay_children() -> list[int]:
    """This process's children that are watched replay processes (multiprocessing's spawned ones)."""
    import psutil

    found = []
    for child in psutil.Process().children():
        try:
            if (
                "multiprocessing.spawn" in " ".join(child.cmdline())
                and child.status() != psutil.STATUS_ZOMBIE
            ):
                found.append(child.pid)
        except psutil.NoSuchProcess:
            continue
    return found


def _running(pid: int) -> bool:
    try:
        status = (Path("/proc") / str(pid) / "status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in status
