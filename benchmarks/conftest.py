"""Benchmark fixtures: the training data (real when installed) and a figure collector."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from hpo.data import load_splits
from hpo.data.splits import Splits
from hpo.training import configure

FIGURES: list[str] = []
REAL = Path("/usr/share/datasets/fashion-mnist")


def pytest_terminal_summary(terminalreporter) -> None:
    """Print the ratios and figures the issues ask for."""
    if FIGURES:
        terminalreporter.section("figures")
        for line in FIGURES:
            terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def figures() -> list[str]:
    """Lines to print in the summary."""
    return FIGURES


@pytest.fixture(scope="session")
def splits() -> Splits:
    """Real FashionMNIST if installed, else random images of the same size (48,000 train)."""
    configure(2)
    try:
        return load_splits()
    except Exception:
        rng = np.random.default_rng(0)

        def images(n):
            return torch.from_numpy(rng.random((n, 1, 28, 28), dtype=np.float32))

        def labels(n):
            return torch.from_numpy(rng.integers(0, 10, n))

        return Splits(
            images(48000),
            labels(48000),
            images(12000),
            labels(12000),
            images(10000),
            labels(10000),
            {},
            0,
            10,
        )
