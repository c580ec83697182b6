"""FashionMNIST as in-memory tensors: train/validation split by a fixed seed, plus test."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from hpo.data.idx import parse_idx
from hpo.data.source import DatasetSpec, get_dataset, locate, read_verified
from hpo.errors import DataError

__all__ = ["Splits", "load_splits", "make_splits"]

DEFAULT_SPLIT_SEED = 0
DEFAULT_VAL_FRACTION = 0.2


@dataclass(frozen=True)
class Splits:
    """Whole splits as tensors: images float32 in [0, 1] shaped (n, 1, H, W), labels int64."""

    train_x: torch.Tensor
    train_y: torch.Tensor
    val_x: torch.Tensor
    val_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor
    checksums: dict[str, str]
    split_seed: int
    n_classes: int
    dataset: str = "fashion-mnist"

    @property
    def n_train(self) -> int:
        """Number of training examples."""
        return int(self.train_y.shape[0])

    def to(self, device: torch.device | str) -> Splits:
        """A copy with every tensor on `device`."""
        moved = {
            k: getattr(self, k).to(device)
            for k in ("train_x", "train_y", "val_x", "val_y", "test_x", "test_y")
        }
        return dataclasses.replace(self, **moved)


def load_arrays(spec: DatasetSpec, data_dir: str | Path | None = None) -> dict[str, np.ndarray]:
    """The four verified arrays of `spec`, keyed by role."""
    directory = locate(spec, data_dir)
    arrays = {
        role: parse_idx(read_verified(spec, directory, role), spec.filename(role)) for role in spec.files
    }
    for part in ("train", "test"):
        images, labels = arrays[f"{part}_images"], arrays[f"{part}_labels"]
        if images.ndim != 3 or labels.ndim != 1 or images.shape[0] != labels.shape[0]:
            raise DataError(f"{spec.name}: {part} images {images.shape} do not match labels {labels.shape}")
    return arrays


def make_splits(
    arrays: dict[str, np.ndarray],
    checksums: dict[str, str],
    split_seed: int = DEFAULT_SPLIT_SEED,
    val_fraction: float = DEFAULT_VAL_FRACTION,
    dataset: str = "fashion-mnist",
) -> Splits:
    """Split the training images into train/validation by a permutation from `split_seed`."""
    if not 0.0 < val_fraction < 1.0:
        raise DataError(f"val_fraction must be in (0, 1), got {val_fraction}")
    images = torch.from_numpy(arrays["train_images"].astype(np.float32) / 255.0).unsqueeze(1)
    labels = torch.from_numpy(arrays["train_labels"].astype(np.int64))
    n = labels.shape[0]
    order = torch.from_numpy(np.random.default_rng(split_seed).permutation(n))
    n_val = round(n * val_fraction)
    val_idx, train_idx = order[:n_val], order[n_val:]
    test_x = torch.from_numpy(arrays["test_images"].astype(np.float32) / 255.0).unsqueeze(1)
    test_y = torch.from_numpy(arrays["test_labels"].astype(np.int64))
    n_classes = int(max(labels.max().item(), test_y.max().item())) + 1
    return Splits(
        train_x=images[train_idx].contiguous(),
        train_y=labels[train_idx].contiguous(),
        val_x=images[val_idx].contiguous(),
        val_y=labels[val_idx].contiguous(),
        test_x=test_x,
        test_y=test_y,
        checksums=checksums,
        split_seed=split_seed,
        n_classes=n_classes,
        dataset=dataset,
    )


def load_splits(
    data_dir: str | Path | None = None,
    spec: DatasetSpec | None = None,
    split_seed: int = DEFAULT_SPLIT_SEED,
    val_fraction: float = DEFAULT_VAL_FRACTION,
) -> Splits:
    """Locate, verify and split a dataset (FashionMNIST by default) into tensors."""
    spec = spec or get_dataset()
    arrays = load_arrays(spec, data_dir)
    checksums = {name: sha for name, sha in spec.files.values()}
    return make_splits(arrays, checksums, split_seed, val_fraction, spec.name)
