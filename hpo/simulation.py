"""A backend on simulated time: N workers and an event queue ordered by finish time.

The objective says what a job would report and how long it would take; the backend only
keeps the clock. Replays of the learning-curve cache and synthetic tests both use it.
"""

from __future__ import annotations

import contextlib
import gc
import heapq
import threading
from collections.abc import Callable, Iterator
from typing import NamedTuple

from hpo.schedulers import Job
from hpo.tuner import Result
from hpo.validation import check_int

__all__ = ["Evaluation", "SimulatedBackend", "collector_paused"]


class Evaluation(NamedTuple):
    """What a job reports, and the simulated seconds it takes (a tuple: one is made per replayed job)."""

    val_error: float
    test_error: float
    seconds: float
    status: str = "ok"


Objective = Callable[[Job], Evaluation]


class SimulatedBackend:
    """Runs jobs instantly but reports them in simulated finish-time order."""

    def __init__(self, objective: Objective, n_workers: int = 1) -> None:
        check_int("workers", n_workers)
        self.objective = objective
        self.n_workers = n_workers
        self._free = list(range(n_workers))  # a heap: the lowest free worker index goes first
        self._events: list[tuple[float, int, Result]] = []
        self._sequence = 0
        self._now = 0.0
        self.busy_seconds = 0.0

    @property
    def free_workers(self) -> int:
        return len(self._free)

    @property
    def now(self) -> float:
        return self._now

    def submit(self, job: Job) -> None:
        if not self._free:
            raise RuntimeError("submit() with no free worker")
        worker = heapq.heappop(self._free)
        ev = self.objective(job)
        seconds = ev.seconds
        if seconds < 0.0:
            seconds = 0.0
        now = self._now
        finish = now + seconds
        self.busy_seconds += seconds
        # the result is known now; the sequence number orders simultaneous finishes by submission
        result = Result(job, ev.val_error, ev.test_error, ev.status, worker, now, finish)
        heapq.heappush(self._events, (finish, self._sequence, result))
        self._sequence += 1

    def wait(self) -> list[Result]:
        events = self._events
        if not events:
            return []
        finish = events[0][0]
        results = []
        while events and events[0][0] == finish:
            result = heapq.heappop(events)[2]
            heapq.heappush(self._free, result.worker)
            results.append(result)
        self._now = finish
        return results


_pauses = 0  # runs inside collector_paused() now, in any thread
_was_enabled = False
_pause_lock = threading.Lock()


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector for a simulated run (restored when the last
    paused run ends, in any thread).

    A replay keeps a million small tracked objects (rows, jobs, observations) and makes no
    reference cycles; the collector would traverse them all again at every full collection, a
    cost per job that grows with the run. Reference counting still frees everything that is
    not a cycle. When a run ends, the youngest generation (every object made while the
    collector was paused) is collected once, so that a cycle made meanwhile, in this thread or
    another (a Dask worker's), is freed even while another thread's run still holds the pause.
    """
    global _pauses, _was_enabled
    with _pause_lock:
        if _pauses == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _pauses += 1
    try:
        yield
    finally:
        with _pause_lock:
            _pauses -= 1
            collect = _was_enabled
            if _pauses == 0 and _was_enabled:
                gc.enable()
        if collect:
            gc.collect(0)
