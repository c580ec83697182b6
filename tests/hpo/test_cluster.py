"""hpo.execution.cluster: local and remote Dask clusters, and the errors a user can meet with them."""

from __future__ import annotations

import os
import socket
import time

import pytest

from hpo.errors import ConfigError
from hpo.execution import cluster
from hpo.execution.cluster import ClusterError, ClusterSpec, open_client

# starts Dask clusters or collections in processes: the slow part of the suite
pytestmark = pytest.mark.cluster


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"workers": 0}, "--workers must be an integer >= 1, got 0"),
        ({"threads": 0}, "--threads must be an integer >= 1, got 0"),
        ({"address": "localhost:8786"}, "--scheduler-address 'localhost:8786' is not an address"),
    ],
)
def test_bad_cluster_options_are_one_line(kwargs, message) -> None:
    with pytest.raises(ConfigError, match=message):
        ClusterSpec(**kwargs)


def test_local_workers_share_the_cores() -> None:
    cores = os.cpu_count() or 1
    assert ClusterSpec().n_local_workers == cores
    assert ClusterSpec(workers=1).torch_threads() == cores
    assert ClusterSpec(workers=2 * cores).torch_threads() == 1  # never below one
    assert ClusterSpec(workers=1, threads=3).torch_threads() == 3
    assert ClusterSpec(address="tcp://127.0.0.1:1").torch_threads() == 1


def test_local_cluster_runs_tasks_in_separate_processes_and_stops_them() -> None:
    with open_client(ClusterSpec(workers=2)) as client:
        assert cluster.n_workers(client) == 2
        pids = set(client.run(os.getpid).values())
        assert len(pids) == 2 and os.getpid() not in pids
    time.sleep(0.5)
    for pid in pids:  # the worker processes are gone with the context
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_unreachable_scheduler_is_one_line(monkeypatch) -> None:
    monkeypatch.setattr(cluster, "CONNECT_TIMEOUT_S", 2.0)
    address = f"tcp://127.0.0.1:{_free_port()}"  # nothing listens there
    with pytest.raises(ClusterError, match=f"cannot reach the Dask scheduler at {address}"):
        with open_client(ClusterSpec(address=address)):
            pass


def test_a_cluster_without_workers_is_one_line(dask_processes, monkeypatch) -> None:
    monkeypatch.setattr(cluster, "WORKERS_TIMEOUT_S", 2.0)
    address = dask_processes(workers=0)
    with pytest.raises(ClusterError, match="has no workers after 2 s; start some with `dask worker"):
        with open_client(ClusterSpec(address=address)):
            pass
