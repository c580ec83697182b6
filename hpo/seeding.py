"""One experiment seed, split once into independent streams."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Streams", "streams"]


@dataclass(frozen=True)
class Streams:
    """Independent generators for the searcher and the training seeds."""

    searcher: np.random.Generator
    training: np.random.Generator


def streams(seed: int) -> Streams:
    """Split `seed` with SeedSequence.spawn: same seed, same streams, on any machine."""
    # three children, as when the schedulers had a stream of their own (none draws): the training
    # stream stays the third, so every stored seed keeps its trainings
    searcher, _, training = np.random.SeedSequence(seed).spawn(3)
    return Streams(np.random.default_rng(searcher), np.random.default_rng(training))
