"""Algorithms from outside the package: `module:Object` specs, entry points, and a guard around them.

A plug-in is a `Searcher` subclass (or a factory taking a searcher's constructor arguments and
returning one), run inside any of the built-in schedulers, or a `Scheduler` subclass, run with
random search inside it. It is named on the command line as `module:Object`, optionally
followed by `@scheduler` for a searcher (`mypkg.search:MySearcher@asha`), or by the name an
installed package registers in the entry-point group `hpobench.algorithms`.

Plug-in code runs behind a guard: an exception, an invalid config or job, or a call that does
not return within the time limit becomes a `PluginFailure` naming the algorithm, the call and
the message, so a comparison can record it as that algorithm's failure and go on. Inside a
child of `hpo.isolation` the limit is kept from outside: each guarded call writes its start
and name to a clock the parent reads, and the parent kills a child whose call overruns (C code
included); elsewhere a SIGALRM in the main thread keeps it.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from hpo.errors import ConfigError, HPOError
from hpo.schedulers.base import Job
from hpo.searchers.base import Observation
from hpo.validation import env_amount

__all__ = [
    "CALLS",
    "CLOCK_SLOTS",
    "GROUP",
    "LIMIT_ENV",
    "Guard",
    "GuardedScheduler",
    "GuardedSearcher",
    "PluginFailure",
    "call_limit",
    "is_spec",
    "load_object",
    "registered",
    "watch",
]

GROUP = "hpobench.algorithms"
LIMIT_ENV = "HPOBENCH_PLUGIN_TIMEOUT"
DEFAULT_LIMIT_S = 60.0


#: the guarded calls, by the index a watched clock records
CALLS = (
    "a call",
    "its constructor",
    "suggest()",
    "observe()",
    "exhausted",
    "n_trials",
    "stop_new_trials()",
    "next_job()",
    "on_result()",
)
_CALL_INDEX = {name: i for i, name in enumerate(CALLS)}
CLOCK_SLOTS = 2  # [monotonic start of the running guarded call (0: none), its index in CALLS]
_clock: Any = None


def watch(clock: Any) -> None:
    """Record guarded calls on `clock` (CLOCK_SLOTS doubles shared with a parent that keeps the
    limit) instead of limiting them with SIGALRM; a KeyboardInterrupt in a call is then the
    plug-in's own (a watched process ignores Ctrl-C)."""
    global _clock
    _clock = clock


class PluginFailure(HPOError):
    """A plug-in algorithm raised, returned something invalid, or did not return in time."""


def is_spec(name: str) -> bool:
    """Whether `name` is a `module:Object` spec rather than an algorithm's name."""
    return ":" in name


def load_object(spec: str) -> Any:
    """The object a `module:Object` spec names; a ConfigError saying what is wrong otherwise.

    The working directory is importable, as with `python -m`, so a module beside the user's
    command needs no installing.
    """
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise ConfigError(f"plug-in {spec!r}: write it as module:Object, e.g. mypkg.search:MySearcher")
    cwd = os.getcwd()
    if cwd not in sys.path and "" not in sys.path:
        sys.path.insert(0, cwd)
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(f"plug-in {spec!r}: cannot import {module_name!r} ({exc})") from None
    except Exception as exc:  # the user's module raised while importing: say so in one line
        raise ConfigError(f"plug-in {spec!r}: importing {module_name!r} raised {_describe(exc)}") from None
    for part in attribute.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise ConfigError(f"plug-in {spec!r}: {module_name!r} has no attribute {attribute!r}") from None
    return obj


def registered() -> dict[str, str]:
    """Algorithms that installed packages register: name -> `module:Object[@scheduler]`."""
    return {ep.name: ep.value for ep in importlib.metadata.entry_points(group=GROUP)}


def call_limit() -> float | None:
    """Seconds one plug-in call may take ($HPOBENCH_PLUGIN_TIMEOUT; 0 for no limit)."""
    seconds = env_amount(LIMIT_ENV, "seconds")
    return DEFAULT_LIMIT_S if seconds is None else seconds or None


class _Overtime(BaseException):
    # a BaseException, so that a plug-in's own `except Exception` cannot swallow it
    pass


@contextmanager
def _time_limit(seconds: float | None) -> Iterator[None]:
    # SIGALRM interrupts Python code (not a blocking C call) and only in the main thread, where
    # replays run (the CLI and its worker processes); elsewhere the call runs without a limit
    if seconds is None or threading.current_thread() is not threading.main_thread():
        yield
        return

    def overtime(signum: int, frame: Any) -> None:
        raise _Overtime

    previous = signal.signal(signal.SIGALRM, overtime)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _watched(clock: Any, what: str, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    # a nested guarded call (a guarded searcher inside a guarded scheduler) restores the outer
    # call's start on its way out, so the outer call stays watched
    outer = clock[0], clock[1]
    clock[1] = _CALL_INDEX.get(what, 0)
    clock[0] = time.monotonic()
    try:
        return function(*args, **kwargs)
    finally:
        clock[0], clock[1] = outer


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


class Guard:
    """Runs a plug-in's calls under a time limit, turning what goes wrong into a PluginFailure."""

    def __init__(self, name: str, limit: float | None) -> None:
        self.name = name
        self.limit = limit

    def call(self, what: str, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """`function(*args, **kwargs)`, or a PluginFailure saying which call failed and how."""
        try:
            if _clock is not None:
                return _watched(_clock, what, function, *args, **kwargs)
            with _time_limit(self.limit):
                return function(*args, **kwargs)
        except _Overtime:
            raise PluginFailure(f"{self.name}: {what} did not return within {self.limit:g} s") from None
        except PluginFailure:
            raise
        except ConfigError as exc:  # the searcher base class's own words about what the plug-in did
            raise PluginFailure(f"{self.name}: {exc}") from None
        except SystemExit as exc:  # sys.exit in a plug-in ends that plug-in's replay, not the command
            raise PluginFailure(f"{self.name}: {what} called sys.exit({exc.code!r})") from None
        except KeyboardInterrupt:
            if _clock is None:  # in a process that takes Ctrl-C, it is the user's
                raise
            raise PluginFailure(f"{self.name}: {what} raised KeyboardInterrupt") from None
        except MemoryError as exc:
            raise PluginFailure(
                f"{self.name}: {what} ran out of memory ({_describe(exc)}); "
                "the limit per replay process is $HPOBENCH_PLUGIN_MEMORY_GB"
            ) from None
        except Exception as exc:
            raise PluginFailure(f"{self.name}: {what} raised {_describe(exc)}") from None

    def fail(self, message: str) -> PluginFailure:
        """A PluginFailure for something the plug-in returned."""
        return PluginFailure(f"{self.name}: {message}")


class GuardedSearcher:
    """A plug-in searcher as the schedulers see it: each call guarded, each config checked."""

    def __init__(self, searcher: Any, guard: Guard, space: Any) -> None:
        self.searcher = searcher
        self.guard = guard
        self.space = space
        self.rng = searcher.rng

    @property
    def exhausted(self) -> bool:
        return bool(self.guard.call("exhausted", lambda: self.searcher.exhausted))

    @property
    def observations(self) -> list[Observation]:
        return self.searcher.observations

    def suggest(self, trial_id: int, pool: Any = None) -> dict[str, Any]:
        config = self.guard.call("suggest()", self.searcher.suggest, trial_id, pool)
        if not isinstance(config, Mapping):
            raise self.guard.fail(f"suggest() returned a {type(config).__name__}, not a config (a dict)")
        try:
            self.space.validate(config)
        except ConfigError as exc:
            raise self.guard.fail(f"suggest() returned an invalid config {dict(config)}: {exc}") from None
        return dict(config)

    def observe(self, observation: Observation) -> None:
        self.guard.call("observe()", self.searcher.observe, observation)


class GuardedScheduler:
    """A plug-in scheduler as the tuner sees it: each call guarded, each job checked."""

    def __init__(self, scheduler: Any, guard: Guard, r_max: int) -> None:
        self.scheduler = scheduler
        self.guard = guard
        self.r_max = r_max

    @property
    def n_trials(self) -> int:
        return int(self.guard.call("n_trials", lambda: self.scheduler.n_trials))

    @property
    def exhausted(self) -> bool:
        return bool(self.guard.call("exhausted", lambda: self.scheduler.exhausted))

    def stop_new_trials(self) -> None:
        self.guard.call("stop_new_trials()", self.scheduler.stop_new_trials)

    def next_job(self) -> Any:
        job = self.guard.call("next_job()", self.scheduler.next_job)
        if job is not None and not isinstance(job, Job):
            raise self.guard.fail(f"next_job() returned a {type(job).__name__}, not a Job or None")
        if job is not None and job.epochs > self.r_max:
            raise self.guard.fail(f"next_job() asked for {job.epochs} epochs; r_max is {self.r_max}")
        return job

    def on_result(self, job: Any, error: float) -> None:
        self.guard.call("on_result()", self.scheduler.on_result, job, error)
