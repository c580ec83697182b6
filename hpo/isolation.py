"""Calls run in child processes, each child's death, overrun or memory exhaustion that call's failure.

A replay of code from outside the package (`hpo.plugins`) can end its process (`os._exit`, a
segfault, the out-of-memory killer) or hang in C code where no signal reaches it. `Isolated`
runs calls in spawned children it watches from outside: a child that dies takes only the call
it was running with it (`Died`, naming the exit code or signal); a guarded call that overruns
its time limit gets its child killed (`Died`, naming the call); a replacement child takes the
next call. Children ignore Ctrl-C, which is the parent's to handle: it stops them all. Each
child's address space is capped (`resource.setrlimit`), so an allocation without bound is a
MemoryError inside that call rather than the machine's memory.
"""

from __future__ import annotations

import multiprocessing
import os
import resource
import signal
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any

from hpo import plugins
from hpo.validation import env_amount

__all__ = ["MEMORY_ENV", "Died", "Isolated"]

MEMORY_ENV = "HPOBENCH_PLUGIN_MEMORY_GB"
#: a worker that imported the replay stack maps about 2.3 GB of address space for 0.5 GB resident
MIN_MEMORY_GB = 8.0
POLL_S = 0.2  # how often the children's clocks are read; an overrun is seen within this of its limit
GRACE_S = 2.0  # how long a child asked to stop may take before it is killed


@dataclass(frozen=True)
class Died:
    """A call whose process died or was killed before it returned, and why."""

    message: str


def memory_limit(processes: int) -> int | None:
    """Bytes of address space each of `processes` children may map ($HPOBENCH_PLUGIN_MEMORY_GB; 0 for
    no limit): by default half the machine's memory shared among them, at least MIN_MEMORY_GB each
    (and at most the machine's memory)."""
    gigabytes = env_amount(MEMORY_ENV, "GB")
    if gigabytes is not None:
        return int(gigabytes * 2**30) or None
    physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return int(min(physical, max(MIN_MEMORY_GB * 2**30, physical / (2 * max(1, processes)))))


def describe_exit(code: int | None) -> str:
    """What a child's exit code says: `exit code 3`, or `signal SIGSEGV` for a negative one."""
    if code is None:
        return "no exit code"
    if code < 0:
        try:
            return f"signal {signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"
    return f"exit code {code}"


def _serve(conn: Connection, clock: Any, memory: int | None) -> None:
    # a child's loop: take a call, run it, send back ("ok", value) or ("raised", exception)
    signal.signal(
        signal.SIGINT, signal.SIG_IGN
    )  # Ctrl-C is the parent's; a KeyboardInterrupt here is a plug-in's
    if memory is not None:
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    plugins.watch(clock)
    while True:
        try:
            message = conn.recv()
        except EOFError:  # the parent is gone
            return
        if message is None:
            return
        function, args = message
        try:
            reply: tuple[str, Any] = ("ok", function(*args))
        except BaseException as exc:  # every exception travels back, the parent re-raises it
            reply = ("raised", exc)
        try:
            conn.send(reply)
        except Exception as exc:  # an exception (or value) that does not pickle: its words do
            conn.send(("raised", RuntimeError(f"{type(exc).__name__}: {exc} (sending {reply[0]} back)")))


class _Child:
    """One child process, its end of the pipe, its clock and the call it runs."""

    def __init__(self, context: Any, memory: int | None) -> None:
        self.clock = context.RawArray("d", plugins.CLOCK_SLOTS)
        self.conn, theirs = context.Pipe()
        self.process = context.Process(target=_serve, args=(theirs, self.clock, memory), daemon=True)
        self.process.start()
        theirs.close()
        self.call: Any = None  # the key of the call it runs, None when idle

    def overrun(self, limit: float | None) -> str | None:
        """The guarded call that has run past `limit` seconds, if any."""
        started, which = self.clock[0], self.clock[1]
        if limit is None or started <= 0 or time.monotonic() - started <= limit:
            return None
        return plugins.CALLS[int(which)]

    def kill(self) -> None:
        """End the child now and reap it."""
        if self.process.is_alive():
            self.process.kill()
        self.process.join()
        self.conn.close()


class Isolated:
    """A pool of `processes` spawned children running calls one at a time each (see the module)."""

    def __init__(self, processes: int, limit: float | None = None) -> None:
        self.processes = max(1, processes)
        self.limit = limit
        self.memory = memory_limit(self.processes)
        self._context = multiprocessing.get_context("spawn")
        self._children: list[_Child] = []

    def __enter__(self) -> Isolated:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close(now=exc[0] is not None)

    def close(self, now: bool = False) -> None:
        """Stop every child: asked to (within GRACE_S) after a normal end, killed after an error."""
        for child in self._children:
            if not now and child.process.is_alive():
                try:
                    child.conn.send(None)
                except OSError:
                    pass
        deadline = time.monotonic() + (0 if now else GRACE_S)
        for child in self._children:
            child.process.join(max(0.0, deadline - time.monotonic()))
            child.kill()
        self._children.clear()

    def run(
        self, calls: Iterable[tuple[Any, Callable[..., Any], tuple[Any, ...]]]
    ) -> Iterator[tuple[Any, Any]]:
        """For each `(key, function, args)`, yield `(key, its value)` as calls finish, or `(key, Died)`
        for a call whose child died or overran; an exception a call raised is raised here."""
        queue = deque(calls)
        running: dict[Any, _Child] = {}
        while queue or running:
            while queue and len(running) < self.processes:
                key, function, args = queue.popleft()
                child = self._idle_child(running)
                child.call = key
                child.conn.send((function, args))
                running[key] = child
            by_handle = {}
            for key, child in running.items():
                by_handle[child.conn] = key
                by_handle[child.process.sentinel] = key
            for handle in wait(list(by_handle), timeout=POLL_S):
                key = by_handle[handle]
                child = running.get(key)
                if child is None:
                    continue  # its pipe and its sentinel both woke: already handled
                outcome = self._outcome(child)
                if outcome is None:
                    continue
                del running[key]
                child.call = None
                kind, value = outcome
                if kind == "raised":
                    raise value
                yield key, value
            for key, child in list(running.items()):
                what = child.overrun(self.limit)
                if what is not None:
                    self._retire(child)
                    del running[key]
                    yield key, Died(f"{what} did not return within {self.limit:g} s; its process was killed")

    def _outcome(self, child: _Child) -> tuple[str, Any] | None:
        # ("ok", value) / ("raised", exc) from a reply, ("ok", Died) from a death, None if neither yet
        if child.conn.poll():
            try:
                return child.conn.recv()
            except (EOFError, OSError):
                pass  # it died while replying
        if child.process.is_alive():
            return None
        child.process.join()
        self._retire(child)
        return "ok", Died(f"its process ended with {describe_exit(child.process.exitcode)}")

    def _idle_child(self, running: dict[Any, _Child]) -> _Child:
        busy = {id(child) for child in running.values()}
        for child in self._children:
            if id(child) not in busy:
                return child
        child = _Child(self._context, self.memory)
        self._children.append(child)
        return child

    def _retire(self, child: _Child) -> None:
        child.kill()
        self._children.remove(child)
