"""The experiment's streams, and the replay's cheap bounded draws from one of them."""

from __future__ import annotations

import numpy as np
import pytest

from hpo.seeding import Indices, streams


def test_indices_are_what_integers_gives_one_call_at_a_time() -> None:
    # A replay draws each trial's training seed with Indices in place of rng.integers(n); the
    # replays' bytes stay what they were only if every draw is the same, rejections (the large
    # ranges make them frequent), ranges of one (no word drawn) and block edges included.
    for seed in range(3):
        ours, numpy_ = np.random.default_rng(seed), np.random.default_rng(seed)
        ranges = np.random.default_rng(100 + seed).integers(1, 40, 20_000).tolist()
        ranges += [2**31 + 5, 3_000_000_000, 2**32 - 1, 7, 1, 1, 5] * 300
        draws = Indices(ours)
        assert [draws.below(n) for n in ranges] == [int(numpy_.integers(n)) for n in ranges]


def test_indices_start_with_the_word_a_32_bit_draw_left() -> None:
    ours, numpy_ = np.random.default_rng(9), np.random.default_rng(9)
    ours.integers(5), numpy_.integers(5)
    assert ours.bit_generator.state["has_uint32"]  # the case this test is about
    draws = Indices(ours)
    ranges = [3, 5, 9, 1, 2] * 200
    assert [draws.below(n) for n in ranges] == [int(numpy_.integers(n)) for n in ranges]


def test_indices_refuse_what_they_cannot_draw() -> None:
    draws = Indices(np.random.default_rng(0))
    for n in (0, -3, 2**32):
        with pytest.raises(ValueError, match=f"1 <= n < 2\\*\\*32, got {n}"):
            draws.below(n)
    with pytest.raises(TypeError, match="PCG64 generator, got Philox"):
        Indices(np.random.Generator(np.random.Philox(0)))


def test_same_seed_same_streams_and_the_two_differ() -> None:
    a, b = streams(4), streams(4)
    assert a.searcher.random() == b.searcher.random() and a.training.random() == b.training.random()
    assert streams(4).searcher.random() != streams(4).training.random()
