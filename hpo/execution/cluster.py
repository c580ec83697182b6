"""Where real trainings run: a Dask cluster, local by default, remote when given an address.

Every real training (collection, live HPO) is a task on a `distributed.Client`. Without an
address a `LocalCluster` of worker processes with one Dask thread each is started on loopback
and stopped on exit; with one, the tasks go to a cluster that the user started
(`dask scheduler`, `dask worker`). The driver keeps all decisions and writes every file;
workers only train and return what they trained.
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from hpo.errors import ConfigError, HPOError
from hpo.validation import check_int

__all__ = [
    "CONNECT_TIMEOUT_S",
    "WORKERS_TIMEOUT_S",
    "ClusterError",
    "ClusterSpec",
    "check_reachable",
    "lost_scheduler",
    "n_workers",
    "next_done",
    "open_client",
    "run_all",
]

T = TypeVar("T")

# A worker that dies under a task gets the task retried once elsewhere, then it fails.
ALLOWED_FAILURES = 1
CONNECT_TIMEOUT_S = 10.0
WORKERS_TIMEOUT_S = 30.0


class ClusterError(HPOError):
    """The cluster cannot be reached or has no workers."""


@dataclass(frozen=True)
class ClusterSpec:
    """How many local workers to start, or which cluster to use, and torch threads per worker."""

    workers: int | None = None  # local worker processes; None: one per core
    address: str | None = None  # tcp://HOST:PORT of a running Dask scheduler
    threads: int | None = None  # torch threads per worker; None: cores // workers

    def __post_init__(self) -> None:
        check_int("--workers", self.workers, optional=True)
        check_int("--threads", self.threads, optional=True)
        if self.address is not None and "://" not in self.address:
            raise ConfigError(
                f"--scheduler-address {self.address!r} is not an address; accepted: tcp://HOST:PORT"
            )

    @property
    def n_local_workers(self) -> int:
        """Worker processes a local cluster starts."""
        return self.workers or os.cpu_count() or 1

    def torch_threads(self) -> int:
        """Torch intra-op threads in each worker, so that local workers share the cores."""
        if self.threads is not None:
            return self.threads
        if self.address is not None:
            return 1  # a remote worker's cores are unknown here; one thread never oversubscribes
        return max(1, (os.cpu_count() or 1) // self.n_local_workers)


@contextmanager
def _quiet_distributed() -> Iterator[None]:
    """Keep Dask's own INFO lines (and the tracebacks of its shutdown races) off the user's terminal.

    Dask's logging config gives some child loggers levels of their own (distributed.client: its
    "Failed to reconnect" line beside our one line): each is quietened, not only the parent. Tornado's
    application logger is too: a scheduler killed mid-read makes the client's IO loop log the
    connection's traceback there before the client gives up.
    """
    import distributed  # noqa: F401 - its logging config, which sets those levels, comes first

    names = ["distributed", "tornado.application"] + [
        name for name in logging.root.manager.loggerDict if name.startswith("distributed.")
    ]
    loggers = [logging.getLogger(name) for name in names]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


@contextmanager
def open_client(spec: ClusterSpec) -> Iterator[object]:
    """A `distributed.Client` on the spec's cluster, closed (and a local cluster stopped) on exit."""
    with _quiet_distributed():
        yield from _open_client(spec)  # type: ignore[misc]


def _open_client(spec: ClusterSpec) -> Iterator[object]:
    import dask
    from distributed import Client, LocalCluster

    settings = {
        "distributed.scheduler.allowed-failures": ALLOWED_FAILURES,
        # trainings may start processes of their own (torch.compile's workers)
        "distributed.worker.daemon": False,
        "distributed.admin.system-monitor.gil.enabled": False,
    }
    with dask.config.set(settings):
        if spec.address is None:
            cluster = LocalCluster(
                n_workers=spec.n_local_workers,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address=":0",  # its HTTP routes on a free port (no dashboard without bokeh)
                silence_logs=logging.ERROR,
            )
            try:
                with Client(cluster) as client:
                    # every local worker registered before the first job: on a loaded machine the
                    # scheduler can learn of them after the cluster object is built
                    try:
                        client.wait_for_workers(spec.n_local_workers, timeout=WORKERS_TIMEOUT_S)
                    except TimeoutError:
                        raise ClusterError(
                            f"{spec.n_local_workers} local Dask workers did not start within "
                            f"{WORKERS_TIMEOUT_S:.0f} s"
                        ) from None
                    yield client
            finally:
                cluster.close()
            return
        check_reachable(spec.address)  # a server that is not Dask's never reaches the client
        try:
            client = Client(spec.address, timeout=CONNECT_TIMEOUT_S)
        except (OSError, TimeoutError) as exc:
            raise ClusterError(
                f"cannot reach the Dask scheduler at {spec.address} ({type(exc).__name__}: {exc})"
            ) from None
        try:
            try:
                client.wait_for_workers(1, timeout=WORKERS_TIMEOUT_S)
            except TimeoutError:
                raise ClusterError(
                    f"the Dask scheduler at {spec.address} has no workers after {WORKERS_TIMEOUT_S:.0f} s; "
                    "start some with `dask worker " + spec.address + "`"
                ) from None
            yield client
        finally:
            client.close()


def lost_scheduler(client: Any) -> ClusterError:
    """The error of a run whose scheduler went away: its futures were cancelled, not failed."""
    address = getattr(client.scheduler, "address", None) or "the scheduler"
    return ClusterError(f"lost the Dask scheduler {address}: it stopped answering and the client gave up")


#: how often a wait for results looks whether the client still has its scheduler
LIVENESS_S = 0.5


def next_done(completed: Any, client: Any, pending: Sequence[Any]) -> list[Any]:
    """The next batch of `completed` (a `distributed.as_completed` of `pending`), waiting as long as
    the client keeps its scheduler; a ClusterError once it has lost it.

    A client whose scheduler died tries to reconnect for a while, then closes, and an
    `as_completed` of its futures would wait forever: here the wait looks every LIVENESS_S.
    """
    from distributed import wait

    while True:
        batch = completed.next_batch(block=False)
        if batch:
            return batch
        if client.status not in ("running", "connecting", "newly-created"):
            raise lost_scheduler(client)
        try:
            wait(list(pending), timeout=LIVENESS_S, return_when="FIRST_COMPLETED")
        except Exception:  # a timeout, or a closing client's own error: the status above says which
            continue
        time.sleep(0.001)  # finished, its result on the way into `completed`


def run_all(
    client: Any, fn: Callable[..., Any], items: Sequence[T], args: Callable[[T], tuple], name: str
) -> Iterator[tuple[T, Any]]:
    """`fn(*args(item))` for every item on the cluster; yields (item, its finished future) as each ends.

    Earlier items first (priority), each under a key unique to this call (others may share the
    cluster) and retried once on another worker when its worker dies; a second death is that
    item's failure (`distributed.scheduler.KilledWorker` from `future.result()`). A cancelled
    future means the scheduler went away: a ClusterError. What has not finished when the caller
    stops (an error, Ctrl-C) is cancelled.
    """
    from distributed import as_completed

    token = uuid.uuid4().hex[:12]
    futures = {
        client.submit(fn, *args(item), key=f"{name}-{i}-{token}", retries=1, priority=-i, pure=False): item
        for i, item in enumerate(items)
    }
    completed = as_completed(futures)
    try:
        while futures:
            for future in next_done(completed, client, list(futures)):
                if future.status == "cancelled":
                    raise lost_scheduler(client)
                yield futures.pop(future), future
    finally:
        client.cancel(list(futures))


#: the most a scheduler's first message may hold: Dask's handshake is a few hundred bytes
HANDSHAKE_LIMIT = 1 << 20


def check_reachable(address: str, timeout: float = CONNECT_TIMEOUT_S) -> None:
    """Raise ClusterError unless a Dask scheduler answers at `address` (tcp://HOST:PORT), before
    any file is written for the work that would go there.

    A Dask server sends its handshake first: a frame length (8 bytes), then a small msgpack
    message. It is read here within `timeout` and at most HANDSHAKE_LIMIT bytes, so a server
    that is not Dask's (random bytes, silence, a closed connection) gets one line naming the
    address instead of a client that trusts its first bytes as a frame length.
    """
    import socket
    import struct
    import time
    from urllib.parse import urlsplit

    parts = urlsplit(address)
    deadline = time.monotonic() + timeout
    try:
        sock = socket.create_connection((parts.hostname, parts.port), timeout=timeout)
    except (OSError, ValueError) as exc:
        raise ClusterError(f"cannot reach the Dask scheduler at {address} ({exc})") from None
    not_dask = f"{address} is not a Dask scheduler"
    with sock:
        try:
            (length,) = struct.unpack("<Q", _receive(sock, 8, deadline))
            if not 0 < length <= HANDSHAKE_LIMIT:
                raise ClusterError(
                    f"{not_dask}: its first message claims {length} bytes (a handshake holds a few hundred)"
                )
            message = _handshake(_receive(sock, length, deadline))
        except TimeoutError:
            raise ClusterError(f"{not_dask}: it sent no handshake within {timeout:g} s") from None
        except ConnectionError as exc:
            raise ClusterError(f"{not_dask}: {exc}") from None
        except OSError as exc:
            raise ClusterError(f"{not_dask}: {exc.strerror or exc}") from None
    if not isinstance(message, dict) or "compression" not in message:
        raise ClusterError(f"{not_dask}: its first message is not a Dask handshake")


def _receive(sock: object, n: int, deadline: float) -> bytes:
    """Exactly `n` bytes from `sock` before `deadline` (TimeoutError), or ConnectionError if it closes."""
    import time

    chunks, got = [], 0
    while got < n:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError
        sock.settimeout(left)  # type: ignore[attr-defined]
        chunk = sock.recv(min(n - got, 1 << 16))  # type: ignore[attr-defined]
        if not chunk:
            raise ConnectionError(
                f"it closed the connection after {got} of {n} bytes"
                if got
                else "it closed the connection without a handshake"
            )
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def _handshake(body: bytes) -> object:
    """The message a Dask server's first frames hold, or None when they are not Dask's."""
    from distributed.protocol import loads
    from distributed.protocol.utils import unpack_frames

    try:
        frames, more = unpack_frames(body, partial=True)
        if more:  # a handshake has no out-of-band buffers
            return None
        return loads(frames, deserialize=False)
    except Exception:  # whatever garbage does to the decoder, it is not a handshake
        return None


def n_workers(client: object) -> int:
    """Workers the client's scheduler knows now."""
    # asks the scheduler now: `scheduler_info()` is a copy refreshed every few seconds
    return len(client.nthreads())  # type: ignore[attr-defined]
