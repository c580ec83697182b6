"""One experiment seed, split once into independent streams."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Indices", "Streams", "streams"]


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


class Indices:
    """Uniform integers below `n` from `rng`'s PCG64 stream: the integers `rng.integers(n)` gives
    one call at a time, in the same order, at a fraction of a call's cost (a replay draws one
    per trial).

    The rule is NumPy 2's for a range below 2**32: Lemire's multiply-and-reject on 32-bit words,
    the low half of each 64-bit output first, and no word at all for a range of one value. The
    raw outputs are read in blocks ahead of the draws, so the generator must be this object's
    alone from here on.
    """

    BLOCK = 256  # 64-bit outputs read at once

    def __init__(self, rng: np.random.Generator) -> None:
        bit_generator = rng.bit_generator
        if type(bit_generator) is not np.random.PCG64:
            raise TypeError(f"Indices needs a PCG64 generator, got {type(bit_generator).__name__}")
        self._raw = bit_generator.random_raw
        state = bit_generator.state
        # the half of an output a 32-bit draw left behind is the first word (next taken last)
        self._words: list[int] = [state["uinteger"]] if state["has_uint32"] else []

    def below(self, n: int) -> int:
        """An integer in [0, n): what `rng.integers(n)` would give next (1 <= n < 2**32)."""
        if not 1 <= n < 0x100000000:
            raise ValueError(f"Indices.below needs 1 <= n < 2**32, got {n}")
        if n == 1:
            return 0
        words = self._words
        if not words:
            self._refill()
        m = words.pop() * n
        if m & 0xFFFFFFFF < n:  # the rare case where the multiply could be biased: reject below the threshold
            threshold = (0x100000000 - n) % n
            while m & 0xFFFFFFFF < threshold:
                if not words:
                    self._refill()
                m = words.pop() * n
        return m >> 32

    def _refill(self) -> None:
        words = self._words  # refilled in place: below() holds it
        for output in reversed(self._raw(self.BLOCK).tolist()):
            words.append(output >> 32)
            words.append(output & 0xFFFFFFFF)
