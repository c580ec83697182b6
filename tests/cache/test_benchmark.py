from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from cache.lookup.blackbox import BlackBox
from cache.lookup.fidelity import (
    AT_CHANCE,
    MAX_OPTIMUM_BIAS,
    Fidelity,
    at_chance,
    cross_validate,
    noise_ceiling,
    pick_regressor,
    seed_agreement,
)
from cache.lookup.surrogate import OutputWarp, Surrogate, inputs, noise_scale
from cache.store.schema import CacheError
from cache.store.tables import read_model
from hpo.errors import ConfigError
from hpo.space import SearchSpace
from tests.support.cachefixtures import rng_config, true_error, write_cache


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("curves")
    write_cache(root, n_configs=64, seeds=2, epochs=6)
    return root


def test_tabular_returns_the_stored_curve(cache_dir) -> None:
    bench = BlackBox.load("softmax", "tabular", cache_dir)
    assert len(bench.configs) == 64 and bench.seeds == [0, 1] and bench.n_epochs == 6
    config = bench.configs[5]
    for seed in (0, 1):
        curve = bench.evaluations(config, seed)
        expected = [true_error(config, e, seed) for e in range(1, 7)]
        np.testing.assert_allclose([c.val_error for c in curve], expected, rtol=1e-6)
    look = bench.value(config, 3, 1)
    assert look.val_error == pytest.approx(true_error(config, 3, 1), rel=1e-6)
    assert look.test_error == pytest.approx(look.val_error + 0.01, rel=1e-5)


def test_tabular_refuses_configs_outside_the_table(cache_dir, rng) -> None:
    bench = BlackBox.load("softmax", "tabular", cache_dir)
    with pytest.raises(ConfigError, match="is not in the softmax table"):
        bench.value(rng_config(rng), 1, 0)
    with pytest.raises(ConfigError, match="epoch 7 is outside the cached range 1..6"):
        bench.value(bench.configs[0], 7, 0)
    with pytest.raises(ConfigError, match=r"training seed 5 is not cached; cached seeds: \[0, 1\]"):
        bench.value(bench.configs[0], 1, 5)
    with pytest.raises(ConfigError, match="batch_size=1000 is outside the space"):
        bench.value({"learning_rate": 0.1, "batch_size": 1000}, 1, 0)


def test_nearest_answers_with_the_closest_collected_config(cache_dir, rng) -> None:
    bench = BlackBox.load("softmax", "nearest", cache_dir)
    for _ in range(10):
        config = rng_config(rng)
        distances = np.linalg.norm(bench.units - bench.space.to_unit(config), axis=1)
        nearest = bench.configs[int(np.argmin(distances))]
        assert bench.value(config, 4, 0) == bench.value(nearest, 4, 0)
    exact = bench.configs[7]
    assert bench.index(exact) == 7


@pytest.mark.parametrize("regressor", ["gp", "forest", "knn"])
def test_surrogate_predicts_unseen_configs(cache_dir, rng, regressor) -> None:
    bench = BlackBox.load("softmax", "surrogate", cache_dir, regressor=regressor)
    errors = []
    for _ in range(20):
        config = rng_config(rng)
        curve = bench.evaluations(config, 0)
        assert len(curve) == 6 and all(0.0 <= c.val_error <= 1.0 and c.seconds > 0 for c in curve)
        errors.append(abs(curve[-1].val_error - true_error(config, 6, 0)))
    assert np.median(errors) < 0.03
    # the same config twice gives the same answer; each training seed has its own model
    config = rng_config(rng)
    assert bench.evaluations(config, 0) == bench.evaluations(config, 0)
    assert bench.evaluations(config, 0) != bench.evaluations(config, 1)


def test_gp_seeds_share_the_first_seeds_fitted_kernel(cache_dir) -> None:
    bench = BlackBox.load("softmax", "tabular", cache_dir)
    surrogate = Surrogate.fit(bench, "gp")
    first, second = surrogate.errors
    # one hyperparameter search (the slow part), on the first seed; the second seed keeps its kernel
    assert first.regressor.optimizer is not None and second.regressor.optimizer is None
    np.testing.assert_array_equal(second.kernel.theta, first.kernel.theta)
    # ... and is still conditioned on its own curves: at the collected configs each seed's
    # model is nearer its own seed's final errors than the other seed's
    own, other = [], []
    for s, model in enumerate(surrogate.errors):
        predicted = model.predict(bench.units)[0][:, -1]
        own.append(np.abs(predicted - bench.val_error[:, s, -1]).mean())
        other.append(np.abs(predicted - bench.val_error[:, 1 - s, -1]).mean())
    assert all(o < x for o, x in zip(own, other, strict=True))


def test_a_partly_collected_seed_gets_a_model_of_every_config(cache_dir) -> None:
    rows, _, space = read_model("softmax", cache_dir)
    few = rows["config_id"].drop_duplicates().iloc[:3]
    rows = rows[(rows["train_seed"] == 0) | rows["config_id"].isin(few)]
    bench = BlackBox("softmax", rows, space, "surrogate", regressor="knn")
    assert bench.complete[:, 1].sum() == 3
    # k-NN with distance weights returns a training point's own curve: seed 1's model holds
    # the seed-0 curve of a config collected with seed 0 only, not a guess from 3 configs
    config = bench.configs[20]
    assert not bench.complete[20, 1]
    seed0 = [c.val_error for c in BlackBox("softmax", rows, space).evaluations(config, 0)]
    assert [c.val_error for c in bench.evaluations(config, 1)] == pytest.approx(seed0)


def test_segment_costs_only_the_new_epochs(cache_dir) -> None:
    bench = BlackBox.load("softmax", "tabular", cache_dir)
    config = bench.configs[3]
    full = bench.evaluations(config, 0)
    seg = bench.segment(config, 0, 2, 5)
    assert seg.val_error == full[4].val_error
    assert seg.seconds == pytest.approx(sum(c.seconds for c in full[2:5]))


def test_fidelity_figures(cache_dir) -> None:
    bench = BlackBox.load("softmax", "tabular", cache_dir)
    result = cross_validate(bench, "forest", folds=4)
    assert result.n_configs == 64 and result.folds == 4
    assert result.spearman > 0.9 and result.kendall > 0.7
    assert 0 <= result.mae < 0.05 and result.regret >= 0
    assert -1 <= seed_agreement(bench) <= 1
    # the synthetic seed noise is small: single trainings rank almost like their mean
    assert abs(result.spearman_one_seed - result.spearman) < 0.05


def test_fidelity_against_one_training_is_the_fidelity_with_one_seed(tmp_path) -> None:
    write_cache(tmp_path, n_configs=32, seeds=1, epochs=4)
    bench = BlackBox.load("softmax", "tabular", tmp_path)
    result = cross_validate(bench, "knn", folds=4)
    assert result.spearman_one_seed == pytest.approx(result.spearman)
    assert seed_agreement(bench) is None


def test_seed_agreement_averages_every_pair_of_seeds(tmp_path) -> None:
    write_cache(tmp_path, n_configs=8, seeds=3, epochs=2)
    bench = BlackBox.load("softmax", "tabular", tmp_path)
    ranks = np.arange(8, dtype=float)
    bench.val_error[:, 0, -1] = ranks
    bench.val_error[:, 1, -1] = ranks * 2  # same order as seed 0
    bench.val_error[:, 2, -1] = -ranks  # the reverse order
    assert seed_agreement(bench) == pytest.approx((1 - 1 - 1) / 3)
    bench.complete[:6, 2] = False  # seed 2 holds two configs: too few to rank; pair (0, 1) alone
    assert seed_agreement(bench) == pytest.approx(1.0)


def test_noise_ceiling_is_what_the_true_errors_reach_against_the_seed_mean(tmp_path) -> None:
    write_cache(tmp_path, n_configs=400, seeds=4, epochs=2)
    bench = BlackBox.load("softmax", "tabular", tmp_path)
    rng = np.random.default_rng(0)
    truth = rng.normal(size=400)
    # noise as large as the signal: two trainings agree with r of about 0.5, four give sqrt(0.8)
    bench.val_error[:, :, -1] = truth[:, None] + rng.normal(size=(400, 4))
    reached = stats.spearmanr(truth, bench.final_errors()).statistic
    assert noise_ceiling(bench) == pytest.approx(reached, abs=0.03)
    assert noise_ceiling(bench) == pytest.approx(math.sqrt(0.8), abs=0.03)
    # half the configs have two seeds: the mean has 3 seeds per config on average
    bench.complete[:200, 2:] = False
    r = seed_agreement(bench)
    assert noise_ceiling(bench) == pytest.approx(math.sqrt(3 * r / (1 + 2 * r)))
    bench.val_error[:, 1, -1] = -bench.val_error[:, 0, -1]  # seeds that disagree: no ceiling above 0
    bench.complete[:, 2:] = False
    assert noise_ceiling(bench) == 0.0


def test_configs_at_chance_are_counted_and_ranked_apart(tmp_path) -> None:
    write_cache(tmp_path, n_configs=96, seeds=2, epochs=3)
    bench = BlackBox.load("softmax", "tabular", tmp_path)
    capped = at_chance(bench)  # the synthetic error saturates at 0.9 for the smallest learning rates
    assert 0 < capped.sum() < 20
    rng = np.random.default_rng(0)
    # as with LeNet, every learning rate below a threshold leaves the model at chance, where each
    # training ends at one class's share of errors, whatever the config
    stuck = bench.units[:, 0] < np.sort(bench.units[:, 0])[48]
    assert (stuck | ~capped).all()
    bench.val_error[stuck] = rng.uniform(0.87, 0.93, size=bench.val_error[stuck].shape)
    assert at_chance(bench).tolist() == stuck.tolist()
    # extra-trees: one row a leaf resolves the 48 learners' three-epoch curves (the forest's
    # three-row leaves, chosen on LeNet's 256 x 20, rank them at 0.84)
    result = cross_validate(bench, "extra-trees", folds=4)
    assert result.at_chance == stuck.sum()
    assert result.spearman_learning > 0.9 > result.spearman
    assert seed_agreement(bench, stuck) < 0.5 < seed_agreement(bench, ~stuck)
    bench.val_error[stuck, :, -1] = AT_CHANCE - 0.01
    assert cross_validate(bench, "forest", folds=4).at_chance == 0


def test_unknown_mode_and_missing_model(cache_dir, tmp_path) -> None:
    with pytest.raises(ConfigError, match="unknown lookup mode 'exact'"):
        BlackBox.load("softmax", "exact", cache_dir)
    with pytest.raises(CacheError, match="no curves for model 'lenet'.*bench collect --model lenet"):
        BlackBox.load("lenet", "tabular", tmp_path)


def test_fidelity_within_a_sub_space_scores_its_configs_and_fits_on_all(cache_dir, monkeypatch) -> None:
    bench = BlackBox.load("softmax", "tabular", cache_dir)
    within = np.array([c["learning_rate"] >= 0.01 for c in bench.configs])
    assert 10 < within.sum() < 54
    trained_on = []
    real_fit = Surrogate.fit.__func__

    def spy(cls, *args, **kwargs):
        trained_on.append(set(kwargs["config_subset"].tolist()))
        return real_fit(cls, *args, **kwargs)

    monkeypatch.setattr(Surrogate, "fit", classmethod(spy))
    result = cross_validate(bench, "knn", folds=4, within=within)
    assert result.n_configs == within.sum() and len(trained_on) == 4
    held_out = [set(range(64)) - train for train in trained_on]
    assert sorted(i for fold in held_out for i in fold) == np.flatnonzero(within).tolist()
    # every fit learns from all the configs outside the sub-space
    assert all(set(np.flatnonzero(~within).tolist()) <= train for train in trained_on)


def test_fidelity_predicts_each_config_from_the_seeds_it_was_trained_with(tmp_path, monkeypatch) -> None:
    # a second seed collected for 10 of 24 configs, as a collection stopped part-way leaves it
    write_cache(tmp_path, n_configs=24, seeds=2, epochs=2, later_seeds_for=10)
    bench = BlackBox.load("softmax", "tabular", tmp_path)
    assert bench.complete[:, 1].sum() == 10
    index = {tuple(u): i for i, u in enumerate(bench.units)}

    class Oracle:
        """Knows every training exactly, and says nonsense for trainings that were never run."""

        def predict_final(self, units, s):
            rows = [index[tuple(u)] for u in units]
            return np.where(bench.complete[rows, s], bench.val_error[rows, s, -1], 5.0)

    monkeypatch.setattr(Surrogate, "fit", classmethod(lambda cls, *a, **k: Oracle()))
    result = cross_validate(bench, "knn", folds=4)
    # the truth is each config's mean over its own trainings, and so is the prediction
    assert result.mae == pytest.approx(0.0, abs=1e-7)
    assert result.spearman == pytest.approx(1.0) and result.regret == pytest.approx(0.0, abs=1e-7)
    # it predicts each training exactly, and a nonsense value for a training never run: the
    # best-of draws only ever pick trainings that were run
    assert result.optimum_bias == pytest.approx(0.0, abs=1e-7)


def test_fidelity_within_too_few_configs_is_refused(cache_dir) -> None:
    bench = BlackBox.load("softmax", "tabular", cache_dir)
    within = np.zeros(len(bench.configs), bool)
    within[:3] = True
    with pytest.raises(
        ConfigError, match=r"^--folds 4 is out of range for the 3 configs of softmax in the space"
    ):
        cross_validate(bench, "knn", folds=4, within=within)


def _oracle_of(bench, transform):
    index = {tuple(u): i for i, u in enumerate(bench.units)}

    class Oracle:
        def predict_final(self, units, s):
            rows = [index[tuple(u)] for u in units]
            return transform(bench.val_error[rows, s, -1])

    return Oracle()


def test_optimum_bias_is_what_the_best_of_ten_held_out_trainings_read_high(tmp_path, monkeypatch) -> None:
    write_cache(tmp_path, n_configs=40, seeds=3, epochs=2)
    bench = BlackBox.load("softmax", "tabular", tmp_path)
    real = bench.val_error[:, :, -1].copy()

    def figures(transform):
        monkeypatch.setattr(Surrogate, "fit", classmethod(lambda cls, *a, **k: _oracle_of(bench, transform)))
        return cross_validate(bench, "knn", folds=2)

    # a surrogate off by a constant reads the best of any ten high by that constant
    assert figures(lambda v: v + 0.01).optimum_bias == pytest.approx(0.01)
    # shrinking towards the middle keeps every rank and the regret, and reads the best high
    middle = float(np.median(real))
    shrunk = figures(lambda v: middle + 0.5 * (v - middle))
    assert shrunk.spearman == pytest.approx(1.0) and shrunk.regret == pytest.approx(0.0, abs=1e-7)
    # each draw's best is below the middle (40 configs, ten drawn): shrunk by half, it reads high
    # by half its distance to the middle; here by between 0.01 and 0.2
    assert 0.01 < shrunk.optimum_bias < 0.2
    # the same draws each time: the figure is reproducible, and a stretch reads low by as much
    stretched = figures(lambda v: middle + 1.5 * (v - middle))
    assert stretched.optimum_bias == pytest.approx(-shrunk.optimum_bias)
    assert figures(lambda v: v + 0.01).optimum_bias == pytest.approx(0.01)


def _fidelity(regressor, spearman, bias):
    return Fidelity(regressor, spearman, spearman, spearman, 0.01, 0.0, bias, 10, 2, 0, None)


def test_the_picked_regressor_ranks_best_among_those_whose_optimum_reads_true() -> None:
    results = [
        _fidelity("extra-trees", 0.973, 0.0176),
        _fidelity("gp", 0.968, -0.0076),
        _fidelity("forest", 0.967, 0.0076),
    ]
    assert pick_regressor(results).regressor == "gp"
    assert pick_regressor([_fidelity("knn", 0.9, MAX_OPTIMUM_BIAS)]).regressor == "knn"
    assert pick_regressor([_fidelity("knn", 0.9, -MAX_OPTIMUM_BIAS - 1e-4)]) is None


def test_noise_scale_is_log_learning_rate_over_batch_scaled_to_the_space() -> None:
    space = SearchSpace.from_scipy(
        {"learning_rate": stats.loguniform(1e-4, 1.0), "batch_size": stats.randint(32, 512)}
    )
    corners = [{"learning_rate": 1e-4, "batch_size": 511}, {"learning_rate": 1.0, "batch_size": 32}]
    middle = {"learning_rate": 1e-2, "batch_size": 128}
    units = np.array([space.to_unit(c) for c in [*corners, middle]])
    low, high = math.log(1e-4 / 511), math.log(1.0 / 32)
    assert noise_scale(space, units) == pytest.approx([0.0, 1.0, (math.log(1e-2 / 128) - low) / (high - low)])
    # the trees and k-NN learn from it beside the encoding; the GP's kernel from the encoding alone
    assert inputs(space, units, "forest").shape == (3, 3)
    assert inputs(space, units, "gp") is units
    no_batch = SearchSpace.from_scipy(
        {"learning_rate": stats.loguniform(1e-4, 1.0), "C": stats.loguniform(1e-2, 1e2)}
    )
    assert noise_scale(no_batch, units[:, :2]) is None and inputs(no_batch, units[:, :2], "forest").shape == (
        3,
        2,
    )


def test_the_gp_output_warp_round_trips_and_carries_each_configs_seed_noise() -> None:
    # Catches a warp whose inverse is not its forward (replays would read shifted errors), a
    # GP extrapolating past Yeo-Johnson's half-line turning into NaN errors, and a noise
    # that does not follow each config's own seed-to-seed spread.
    rng = np.random.default_rng(0)
    n, seeds, epochs = 40, 4, 3
    base = rng.uniform(0.12, 0.8, size=(n, 1, 1)) ** 2 + 0.1  # skewed, as final errors are
    spread = np.where(np.arange(n) < n // 2, 0.002, 0.05)[:, None, None]  # two noise levels
    val = np.clip(base + spread * rng.standard_normal((n, seeds, epochs)), 0.01, 0.99)
    test = np.clip(val + 0.01, 0.01, 0.99)
    complete = np.ones((n, seeds), bool)
    complete[0, 1:] = False  # a config with one training: the others' median noise
    warp = OutputWarp.fit(val, test, complete)
    back_val, back_test = warp.backward(warp.forward(val[:, 0], test[:, 0]))
    assert back_val == pytest.approx(val[:, 0], abs=1e-9) and back_test == pytest.approx(test[:, 0], abs=1e-9)
    assert np.median(warp.noise[n // 2 :]) > 20 * np.median(warp.noise[1 : n // 2])
    assert warp.noise[0] == pytest.approx(np.median(warp.noise[1:]))
    far = np.array([[-1e3] * 2 * epochs, [1e3] * 2 * epochs])
    low, high = warp.backward(far)
    assert np.isfinite(low).all() and np.isfinite(high).all()
    assert ((0 <= low) & (low <= 1) & (0 <= high) & (high <= 1)).all()
    assert (low[0] < 0.05).all() and (high[1] > 0.95).all()
