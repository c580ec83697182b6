"""Shared fixtures: a small generated FashionMNIST-like dataset swapped into the registry."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from hpo.data import DATASETS, load_splits
from tests.support.fakedata import idx_bytes, make_arrays, make_spec, write_files

REAL_DIR = Path(os.environ.get("FASHION_MNIST_DIR", "/usr/share/datasets/fashion-mnist"))


def pytest_configure(config: pytest.Config) -> None:
    """Give SIGINT its default handler when the test run was started with it ignored.

    A shell starts background jobs (`cmd &`, nohup, some CI runners) with SIGINT ignored, an
    ignored signal stays ignored across exec, and Python then installs no KeyboardInterrupt
    handler: the `bench` processes the Ctrl-C tests start would not hear Ctrl-C at all. A
    handled signal is reset to the default on exec, so they start as from a terminal.
    """
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip real-data tests where the Debian package is absent, except in CI where they must run."""
    have_real = (REAL_DIR / "train-images-idx3-ubyte.gz").exists() or (
        REAL_DIR / "train-images-idx3-ubyte"
    ).exists()
    if have_real or os.environ.get("CI"):
        return
    skip = pytest.mark.skip(
        reason=f"real FashionMNIST not found in {REAL_DIR} (apt-get install dataset-fashion-mnist)"
    )
    for item in items:
        if "real_data" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Keep tests away from the user's cache dir and from global thread settings."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("xdg")))
    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def fake_contents() -> dict[str, bytes]:
    """Decompressed IDX bytes of the generated dataset, by file name."""
    return idx_bytes(make_arrays())


@pytest.fixture
def fake_dataset(tmp_path: Path, fake_contents: dict[str, bytes], monkeypatch: pytest.MonkeyPatch) -> Path:
    """A generated dataset registered as 'fashion-mnist'; returns the directory holding it."""
    directory = tmp_path / "fake-fmnist"
    write_files(directory, fake_contents)
    spec = make_spec(fake_contents, tmp_path)
    monkeypatch.setitem(DATASETS, "fashion-mnist", spec)
    monkeypatch.setenv(spec.env_var, str(directory))
    return directory


@pytest.fixture
def fake_splits(fake_dataset: Path):
    """The generated dataset as Splits (800 train, 200 validation, 200 test)."""
    return load_splits(fake_dataset)


@pytest.fixture
def rng() -> np.random.Generator:
    """A seeded generator."""
    return np.random.default_rng(12345)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_dask(procs: list[subprocess.Popen], workers: int) -> str:
    """Start `dask scheduler` and `workers` x `dask worker` on loopback (appended to `procs`); the address."""
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    scheduler = [sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1"]
    procs.append(subprocess.Popen([*scheduler, "--port", str(port), "--no-dashboard"], **quiet))
    deadline = time.monotonic() + 60
    while True:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                break
        if time.monotonic() > deadline:
            raise AssertionError("dask scheduler did not start")
        time.sleep(0.2)
    worker = [sys.executable, "-m", "distributed.cli.dask_worker", address, "--host", "127.0.0.1"]
    for _ in range(workers):
        procs.append(subprocess.Popen([*worker, "--nthreads", "1", "--no-dashboard"], **quiet))
    return address


def _stop(procs: list[subprocess.Popen]) -> None:
    for proc in reversed(procs):
        proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def dask_processes():
    """Start `dask scheduler` (and `workers` x `dask worker`) as processes on loopback, as a user
    would; returns the scheduler's address. Every process is stopped after the test."""
    procs: list[subprocess.Popen] = []

    def start(workers: int = 1) -> str:
        return _start_dask(procs, workers)

    start.processes = procs  # type: ignore[attr-defined] - [scheduler, its workers..., next scheduler, ...]
    yield start
    _stop(procs)


@pytest.fixture(scope="session")
def shared_cluster():
    """One `dask scheduler` with two `dask worker` processes on loopback for the whole session: the
    address. For tests that only need live trainings to run somewhere (a local cluster per test
    costs seconds to start); the local-cluster path has tests of its own."""
    procs: list[subprocess.Popen] = []
    try:
        yield _start_dask(procs, workers=2)
    finally:
        _stop(procs)
