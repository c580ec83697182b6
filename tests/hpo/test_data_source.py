from __future__ import annotations

import functools
import gzip
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from hpo.data import load_splits, locate
from hpo.data.source import read_verified
from hpo.errors import DataError
from tests.support.fakedata import make_spec, write_files


@pytest.fixture
def spec(tmp_path, fake_contents):
    return make_spec(fake_contents, tmp_path)


def test_explicit_dir_wins(tmp_path, spec, fake_contents, monkeypatch) -> None:
    for d in ("explicit", "env", "system", "user"):
        write_files(tmp_path / d, fake_contents)
    monkeypatch.setenv(spec.env_var, str(tmp_path / "env"))
    assert locate(spec, tmp_path / "explicit") == tmp_path / "explicit"


def test_search_order_env_then_system_then_user(tmp_path, spec, fake_contents, monkeypatch) -> None:
    write_files(tmp_path / "user", fake_contents)
    assert locate(spec) == tmp_path / "user"
    write_files(tmp_path / "system", fake_contents, gz=False)
    assert locate(spec) == tmp_path / "system"
    write_files(tmp_path / "env", fake_contents)
    monkeypatch.setenv(spec.env_var, str(tmp_path / "env"))
    assert locate(spec) == tmp_path / "env"


def test_incomplete_dir_is_skipped(tmp_path, spec, fake_contents) -> None:
    write_files(tmp_path / "user", fake_contents)
    partial = {k: v for k, v in fake_contents.items() if "labels" in k}
    write_files(tmp_path / "system", partial)
    assert locate(spec) == tmp_path / "user"


def test_wrong_checksum_is_refused_naming_the_file(tmp_path, spec, fake_contents) -> None:
    tampered = dict(fake_contents)
    name = "t10k-labels-idx1-ubyte"
    tampered[name] = tampered[name][:-1] + bytes([(tampered[name][-1] + 1) % 10])
    write_files(tmp_path / "d", tampered)
    with pytest.raises(DataError, match=rf"{name}\.gz: checksum mismatch") as info:
        load_splits(tmp_path / "d", spec=spec)
    assert "\n" not in str(info.value)


def test_truncated_file_is_refused(tmp_path, spec, fake_contents) -> None:
    write_files(tmp_path / "d", fake_contents, gz=False)
    path = tmp_path / "d" / "train-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(DataError, match="train-images-idx3-ubyte: checksum mismatch"):
        read_verified(spec, tmp_path / "d", "train_images")


class _Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # keep test output clean
        pass


@pytest.fixture
def mirror(tmp_path, fake_contents) -> Iterator[tuple[str, Path]]:
    """A local HTTP server serving the gzipped files, like the official mirror."""
    served = tmp_path / "mirror"
    write_files(served, fake_contents)
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_Handler, directory=str(served))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/", served
    server.shutdown()
    server.server_close()


def test_download_from_mirror_into_user_dir(tmp_path, fake_contents, mirror) -> None:
    url, _ = mirror
    spec = make_spec(fake_contents, tmp_path, mirrors=("http://127.0.0.1:9/dead/", url))
    directory = locate(spec)
    assert directory == tmp_path / "user"
    assert sorted(p.name for p in directory.iterdir()) == sorted(f"{n}.gz" for n in fake_contents)
    splits = load_splits(spec=spec)
    assert splits.n_train == 800


def test_download_refuses_corrupted_mirror(tmp_path, fake_contents, mirror) -> None:
    url, served = mirror
    bad = served / "train-labels-idx1-ubyte.gz"
    bad.write_bytes(gzip.compress(b"\x00\x00\x08\x01" + b"\x00" * 10))
    spec = make_spec(fake_contents, tmp_path, mirrors=(url,))
    with pytest.raises(
        DataError, match=r"train-labels-idx1-ubyte not found locally and the download failed.*checksum"
    ):
        locate(spec)
    # nothing half-written is left where locate would find it
    assert not (tmp_path / "user" / "train-labels-idx1-ubyte.gz").exists()
    assert not list((tmp_path / "user").glob("*.part"))


def test_download_into_explicit_dir(tmp_path, fake_contents, mirror) -> None:
    url, _ = mirror
    spec = make_spec(fake_contents, tmp_path, mirrors=(url,))
    assert locate(spec, tmp_path / "mine") == tmp_path / "mine"
    assert (tmp_path / "mine" / "t10k-images-idx3-ubyte.gz").exists()


def test_no_data_anywhere_is_one_line(tmp_path, fake_contents) -> None:
    spec = make_spec(fake_contents, tmp_path, mirrors=("http://127.0.0.1:9/",))
    with pytest.raises(DataError) as info:
        load_splits(spec=spec)
    message = str(info.value)
    assert "point --data-dir or $FAKE_FASHION_MNIST_DIR at a directory holding the files" in message
    assert "\n" not in message


def test_split_is_80_20_fixed_by_seed_and_disjoint(fake_dataset) -> None:
    a = load_splits(fake_dataset)
    b = load_splits(fake_dataset)
    c = load_splits(fake_dataset, split_seed=1)
    assert (a.n_train, a.val_y.shape[0], a.test_y.shape[0]) == (800, 200, 200)
    assert a.train_x.shape == (800, 1, 28, 28) and a.train_x.dtype == torch.float32
    assert 0.0 <= float(a.train_x.min()) and float(a.train_x.max()) <= 1.0
    assert torch.equal(a.train_x, b.train_x) and torch.equal(a.val_y, b.val_y)
    assert not torch.equal(a.val_x, c.val_x)
    train_rows = {tuple(r) for r in a.train_x.flatten(1).numpy().round(4).tolist()}
    val_rows = {tuple(r) for r in a.val_x.flatten(1).numpy().round(4).tolist()}
    assert not train_rows & val_rows


@pytest.mark.real_data
def test_real_fashion_mnist_verifies_and_splits() -> None:
    splits = load_splits()
    assert (splits.n_train, splits.val_y.shape[0], splits.test_y.shape[0]) == (48000, 12000, 10000)
    assert splits.n_classes == 10
    assert torch.bincount(splits.test_y).tolist() == [1000] * 10


def test_the_official_dataset_is_fetched_over_https_first() -> None:
    from hpo.data.source import FASHION_MNIST

    assert FASHION_MNIST.mirrors[0].startswith("https://")
    # a plain-HTTP mirror only after every HTTPS one
    schemes = [m.split("://")[0] for m in FASHION_MNIST.mirrors]
    assert schemes == sorted(schemes, key=lambda s: s != "https")
