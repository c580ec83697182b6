"""Small generated IDX datasets shaped like FashionMNIST, for offline tests."""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import numpy as np

from hpo.data import DatasetSpec, encode_idx

ROLES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}


def make_arrays(n_train: int = 1000, n_test: int = 200, seed: int = 0) -> dict[str, np.ndarray]:
    """Images whose class is a bright 7x7 block at one of ten places, plus noise: learnable."""
    rng = np.random.default_rng(seed)
    arrays = {}
    for part, n in (("train", n_train), ("test", n_test)):
        labels = rng.integers(0, 10, size=n).astype(np.uint8)
        labels[:10] = np.arange(10)  # every class present
        images = rng.integers(0, 60, size=(n, 28, 28)).astype(np.uint8)
        for i, label in enumerate(labels):
            row, col = divmod(int(label), 5)
            images[i, 2 + 12 * row : 9 + 12 * row, 1 + 5 * col : 6 + 5 * col] = 200
        arrays[f"{part}_images"], arrays[f"{part}_labels"] = images, labels
    return arrays


def idx_bytes(arrays: dict[str, np.ndarray]) -> dict[str, bytes]:
    """The decompressed IDX content of each file, keyed by file name."""
    return {ROLES[role]: encode_idx(array) for role, array in arrays.items()}


def write_files(directory: Path, contents: dict[str, bytes], gz: bool = True) -> None:
    """Write IDX files (gzipped by default) into `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, data in contents.items():
        if gz:
            (directory / f"{name}.gz").write_bytes(gzip.compress(data, mtime=0))
        else:
            (directory / name).write_bytes(data)


def make_spec(contents: dict[str, bytes], root: Path, mirrors: tuple[str, ...] = ()) -> DatasetSpec:
    """A dataset spec with the checksums of `contents` and directories under `root`."""
    files = {role: (name, hashlib.sha256(contents[name]).hexdigest()) for role, name in ROLES.items()}
    return DatasetSpec(
        name="fashion-mnist",
        files=files,
        mirrors=mirrors,
        env_var="FAKE_FASHION_MNIST_DIR",
        system_dir=root / "system",
        user_dir=root / "user",
    )
