"""A scheduler address whose server is not Dask's: one line naming it, bounded in time, nothing written.

What these catch: a client that trusts a stranger's first bytes as a frame length (a numpy
allocation of exabytes and a traceback), or waits without end on a silent server. Every
server here listens on loopback, answers one connection at a time for at most its test's
life, and is stopped at the end.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np
import pytest
from click.testing import CliRunner

from bench.cli import cli
from hpo.execution import cluster
from hpo.execution.cluster import ClusterError, ClusterSpec, check_reachable, open_client


@contextmanager
def server(answer: Callable[[socket.socket], None]) -> Iterator[str]:
    """A TCP server on loopback that runs `answer` on each connection; its address."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            with conn:
                try:
                    answer(conn)
                except OSError:
                    pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"tcp://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(timeout=5)
        listener.close()


def random_bytes(conn: socket.socket) -> None:
    conn.sendall(np.random.default_rng(0).bytes(4096))  # the first 8 read as an absurd frame length


def silence(conn: socket.socket) -> None:
    time.sleep(3)


def hang_up(conn: socket.socket) -> None:
    pass  # closes at once


def half_a_handshake(conn: socket.socket) -> None:
    conn.sendall((200).to_bytes(8, "little") + b"\x80" * 50)  # promises 200 bytes, sends 50, closes


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (random_bytes, r"is not a Dask scheduler: its first message claims \d+ bytes"),
        (silence, "is not a Dask scheduler: it sent no handshake within 1 s"),
        (hang_up, "is not a Dask scheduler: it closed the connection without a handshake"),
        (half_a_handshake, "is not a Dask scheduler: it closed the connection after 50 of 200 bytes"),
    ],
)
def test_a_server_that_is_not_dask_is_one_line_within_the_timeout(answer, message) -> None:
    with server(answer) as address:
        started = time.monotonic()
        with pytest.raises(ClusterError, match=f"{address} {message}"):
            check_reachable(address, timeout=1.0)
        assert time.monotonic() - started < 5


def test_open_client_and_bench_run_refuse_it_before_writing_anything(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(cluster, "CONNECT_TIMEOUT_S", 1.0)
    with server(random_bytes) as address:
        with pytest.raises(ClusterError, match="is not a Dask scheduler"):
            with open_client(ClusterSpec(address=address)):
                pass
        out = tmp_path / "run"
        result = CliRunner().invoke(
            cli,
            ["run", "--model", "softmax", "--algorithm", "random", "--trials", "2", "--scheduler-address", address,
             "--out", str(out)],
        )  # fmt: skip
        assert result.exit_code == 1, result.output
        assert result.output.strip().splitlines() == [
            f"Error: {address} is not a Dask scheduler: " + result.output.split(": ", 2)[2].strip()
        ]
        assert not out.exists()


@pytest.mark.cluster
def test_a_real_scheduler_passes_the_check(dask_processes) -> None:
    check_reachable(dask_processes(workers=0), timeout=10.0)
