"""hpo.files: atomic writes and the checks before loading code or pickles."""

from __future__ import annotations

import os

import pytest

from hpo.files import UnsafeFileError, atomic_write_bytes, check_private, private_dir


def test_a_file_others_may_write_is_not_loaded(tmp_path) -> None:
    directory = private_dir(tmp_path / "kernels")
    target = directory / "lib.so"
    atomic_write_bytes(target, b"\x7fELF", mode=0o600)
    check_private(target)  # the user's own, in the user's own directory
    target.chmod(0o666)
    with pytest.raises(UnsafeFileError, match="lib.so: writable by group or others"):
        check_private(target)
    target.chmod(0o600)
    directory.chmod(0o777)  # anyone could have swapped the file in
    with pytest.raises(UnsafeFileError, match="kernels: writable by group or others"):
        check_private(target)
    private_dir(directory)  # our own directory is made private again
    check_private(target)


@pytest.mark.skipif(os.getuid() != 0, reason="needs root to give a file away")
def test_a_file_of_another_user_is_not_loaded(tmp_path) -> None:
    target = private_dir(tmp_path / "s") / "model.pkl"
    atomic_write_bytes(target, b"x", mode=0o600)
    os.chown(target, 12345, 12345)
    with pytest.raises(UnsafeFileError, match="owned by uid 12345"):
        check_private(target)


def test_a_planted_kernel_is_refused_and_lenet_falls_back(tmp_path, monkeypatch) -> None:
    """A library planted under the expected name, writable by others, is never loaded."""
    from hpo.models.lenet import native

    calls = []
    monkeypatch.setattr(native, "build", lambda *a, **k: calls.append(a) or planted)
    planted = private_dir(tmp_path / "k") / "lenet_block1-0000.so"
    planted.write_bytes(b"not a library")
    planted.chmod(0o666)
    loaded = []
    monkeypatch.setattr(native.ctypes, "CDLL", lambda path: loaded.append(path))
    with pytest.raises(native.NativeBuildError, match="writable by group or others"):
        native.load(tmp_path / "lenet_block1.cpp")
    assert calls and not loaded


def test_a_surrogate_pickle_others_may_write_is_refitted(tmp_path, caplog) -> None:
    import pickle

    from cache.lookup import fitted

    path = private_dir(tmp_path / "surrogates") / "x.pkl"
    atomic_write_bytes(path, pickle.dumps({"not": "a surrogate"}), mode=0o600)
    assert fitted._load(path) is None  # wrong type: refit
    path.chmod(0o646)
    with caplog.at_level("WARNING"):
        assert fitted._load(path) is None
    assert "writable by group or others" in caplog.text


def test_a_full_disk_names_the_file_and_keeps_the_old_one(tmp_path, monkeypatch) -> None:
    # a full disk shows itself when the data reach it (write or fsync) and names no file; the
    # user must learn which file, and the file already there must survive whole
    path = tmp_path / "results.parquet"
    path.write_bytes(b"old")

    def full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(OSError) as caught:
        atomic_write_bytes(path, b"new")
    assert caught.value.filename == str(path) and caught.value.strerror == "No space left on device"
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["results.parquet"]  # no temporary file left
