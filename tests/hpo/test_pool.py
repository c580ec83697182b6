"""The candidate pool: the table's rules outside the searcher, and an ask/tell contract that never misleads."""

from __future__ import annotations

import numpy as np
import pytest

from hpo.errors import ConfigError
from hpo.searchers import CandidatePool, Observation, PooledSearcher, Searcher
from hpo.space import Parameter, SearchSpace, config_key
from hpo.testing.conformance import LEARNING_THRESHOLD, check_learns, check_searcher, learning_percentile

LINE = SearchSpace([Parameter("x", "uniform", 0.0, 1.0)])
TABLE = [{"x": 0.1}, {"x": 0.4}, {"x": 0.8}]


class Fixed(Searcher):
    """Proposes the given configs in order."""

    def __init__(self, space, rng, proposals=()) -> None:
        super().__init__(space, rng)
        self.proposals = list(proposals)

    def propose(self, trial_id):
        return self.proposals.pop(0)


def test_a_proposal_outside_the_pool_is_replaced_and_the_observation_says_so() -> None:
    searcher = Fixed(LINE, np.random.default_rng(0), [{"x": 0.45}, {"x": 0.8}])
    pooled = PooledSearcher(searcher, CandidatePool(LINE, TABLE))
    assert pooled.suggest(7) == {"x": 0.4}  # the nearest fresh config
    assert pooled.suggest(8) == {"x": 0.8}  # in the pool: itself
    pooled.observe(Observation(8, {"x": 0.8}, 0.2, 3))
    pooled.observe(Observation(7, {"x": 0.4}, 0.3, 3))
    first, second = searcher.observations
    assert (first.trial_id, first.replaced, first.proposal) == (8, False, None)
    assert (second.trial_id, second.config, second.proposal) == (7, {"x": 0.4}, {"x": 0.45})
    assert second.proposed == {"x": 0.45} and first.proposed == {"x": 0.8}
    # a promotion's later result of the same trial still names its proposal
    pooled.observe(Observation(7, {"x": 0.4}, 0.25, 9))
    assert searcher.observations[-1].proposal == {"x": 0.45}


def test_fresh_configs_come_first_then_repeats_while_trainings_last() -> None:
    searcher = Fixed(LINE, np.random.default_rng(0), [{"x": 0.1}] * 4)
    pooled = PooledSearcher(searcher, CandidatePool(LINE, TABLE, trainings=[2, 1, 0]))
    assert [pooled.suggest(t)["x"] for t in range(3)] == [0.1, 0.1, 0.4]
    # the repeat of 0.1 was its second training; the third proposal of 0.1 (none left) became
    # 0.4, the nearest config with one: a training already read is never replayed
    assert pooled.exhausted  # x = 0.8 has no training at all
    for t in range(3):
        pooled.observe(Observation(t, {"x": 0.4 if t == 2 else 0.1}, 0.5, 1))
    assert [o.replaced for o in searcher.observations] == [False, False, True]


def test_a_pool_refuses_what_it_cannot_hold() -> None:
    with pytest.raises(ConfigError, match="non-empty list of configs"):
        CandidatePool(LINE, [])
    with pytest.raises(ConfigError, match="one count per candidate"):
        CandidatePool(LINE, TABLE, trainings=[1])
    pooled = PooledSearcher(Fixed(LINE, np.random.default_rng(0), [{"x": 2.0}]), CandidatePool(LINE, TABLE))
    with pytest.raises(
        ConfigError, match=r"propose\(\) returned an invalid config \{'x': 2.0\}: x=2.0 is outside"
    ):
        pooled.suggest(0)


class AskTell(Searcher):
    """An ask/tell optimizer in the shape of a wrapped SMAC or DEHB: it keeps a handle per ask
    and learns only from results it can link to an ask. Local search around the best told."""

    link_by_trial = True

    def __init__(self, space, rng, **options) -> None:
        super().__init__(space, rng, **options)
        self.asked: dict = {}
        self.told: list[tuple[dict, float]] = []

    def propose(self, trial_id):
        if len(self.told) < 3 or self.rng.random() < 0.2:
            config = self.random_config()
        else:
            best = min(self.told, key=lambda seen: seen[1])[0]
            point = self.space.to_unit(best) + self.rng.normal(0, 0.08, self.space.dim)
            config = self.space.from_unit(np.clip(point, 0, 1))
        self.asked[trial_id if self.link_by_trial else config_key(config)] = config
        return config

    def observe(self, observation):
        super().observe(observation)
        key = observation.trial_id if self.link_by_trial else config_key(observation.config)
        if self.asked.pop(key, None) is not None:
            self.told.append((observation.config, observation.error))


class LinksByConfig(AskTell):
    """The mistake the old contract forced: the result is looked up by the config evaluated,
    which in tabular mode is never the one asked, so every replaced result is dropped."""

    link_by_trial = False


def test_the_kit_fails_an_ask_tell_searcher_that_drops_replaced_results() -> None:
    # In nearest mode the observation carries the asked config, so both variants learn; in
    # tabular mode the one that links by config learns nothing and ranks at chance (about 50%)
    assert learning_percentile(AskTell, "tabular") < LEARNING_THRESHOLD
    assert learning_percentile(LinksByConfig, "nearest") < LEARNING_THRESHOLD
    assert learning_percentile(LinksByConfig, "tabular") > 0.4
    with pytest.raises(AssertionError, match=r"in tabular mode its configs of trials 15-29 rank at the"):
        check_learns(LinksByConfig)
    with pytest.raises(AssertionError, match="learns in tabular and nearest mode"):
        check_searcher(LinksByConfig)
    check_searcher(AskTell)


def test_a_searcher_that_says_it_does_not_learn_is_not_held_to_it() -> None:
    class Blind(LinksByConfig):
        learns = False

    check_learns(Blind)


def test_random_search_over_a_pool_draws_what_pool_draw_would() -> None:
    # Over a pool, random search draws its indices with hpo.seeding.Indices, not a NumPy call
    # each: the same configs, repeats (once the fresh ones are used) included.
    from hpo.searchers import RandomSearcher

    space = SearchSpace([Parameter("x", "uniform", 0.0, 1.0)])
    configs = [{"x": i / 40} for i in range(40)]
    ours = PooledSearcher(
        RandomSearcher(space, np.random.default_rng(8)), CandidatePool(space, configs, [3] * 40)
    )
    twin_pool, twin_rng = CandidatePool(space, configs, [3] * 40), np.random.default_rng(8)
    expected = []
    for _ in range(100):
        config = twin_pool.draw(twin_rng)
        expected.append(twin_pool.take(config, twin_rng))
    assert [ours.suggest(t) for t in range(100)] == expected
