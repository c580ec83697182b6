"""One experiment seed, split once into independent streams."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Streams:
    """Independent generators for the searcher, the scheduler and the training seeds."""

    searcher: np.random.Generator
    scheduler: np.random.Generator
    training: np.random.Generator


def streams(seed: int) -> Streams:
    """Split `seed` with SeedSequence.spawn: same seed, same streams, on any machine."""
    searcher, scheduler, training = np.random.SeedSequence(seed).spawn(3)
    return Streams(
        np.random.default_rng(searcher), np.random.default_rng(scheduler), np.random.default_rng(training)
    )
