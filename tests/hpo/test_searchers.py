"""Conformance tests run over every searcher, plus GP/EI checks and BO against random search."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from scipy import stats

from hpo import searchers
from hpo.errors import ConfigError
from hpo.searchers.acquisition import expected_improvement, expected_improvement_partials
from hpo.searchers.ascent import minimise_boxed
from hpo.searchers.gp import GaussianProcess, _sq_diffs
from hpo.searchers.pool import CandidatePool, PooledSearcher
from hpo.space import Parameter, SearchSpace
from hpo.testing.objectives import BRANIN, HARTMANN6, SVM_LIKE

MIXED = SearchSpace(
    [
        Parameter("lr", "loguniform", 1e-4, 1.0),
        Parameter("bs", "int", 32, 511),
        Parameter("l1", "uniform", 0.0, 1.0),
        Parameter("opt", "choice", values=("sgd", "adam")),
    ]
)


def _objective(config) -> float:
    return (np.log10(config["lr"]) + 2) ** 2 + (config["l1"] - 0.3) ** 2 + (config["opt"] == "adam") * 0.1


def _tell(searcher, trial_id: int, config: dict, error: float, epochs: int = 1) -> None:
    searcher.observe(searchers.Observation(trial_id, config, error, epochs))


def _sequence(name: str, seed: int, n: int = 14, space: SearchSpace = MIXED) -> list[dict]:
    searcher = searchers.make(name, space, np.random.default_rng(seed))
    out = []
    for trial_id in range(n):
        config = searcher.suggest(trial_id)
        _tell(searcher, trial_id, config, _objective(config))
        out.append(config)
    return out


@pytest.fixture(params=sorted(searchers.SEARCHERS))
def name(request) -> str:
    from hpo.algorithms import get_algorithm

    try:
        get_algorithm(request.param)  # each searcher is an algorithm of that name: its package checked
    except ConfigError as exc:
        pytest.skip(str(exc))
    return request.param


def test_suggestions_are_in_bounds_and_typed(name) -> None:
    for config in _sequence(name, 0):
        assert MIXED.contains(config), config
        assert isinstance(config["bs"], int) and isinstance(config["lr"], float)


def test_same_seed_same_sequence_other_seed_other(name) -> None:
    assert _sequence(name, 1) == _sequence(name, 1)
    assert _sequence(name, 1) != _sequence(name, 2)


def test_same_sequence_in_a_fresh_process(name) -> None:
    code = (
        "import json, numpy as np; import tests.hpo.test_searchers as t; "
        f"print(json.dumps(t._sequence({name!r}, 5, 10)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=".")
    assert json.loads(out.stdout) == json.loads(json.dumps(_sequence(name, 5, 10)))


def test_bo_does_not_depend_on_the_import_order() -> None:
    # BO runs its linear algebra on one BLAS thread; a thread controller made before SciPy's
    # own BLAS was loaded left that one on every core, and the last bits of a suggestion then
    # depended on which module the process imported first (and on the core count)
    def sequence(first: str) -> list:
        code = (
            f"import {first}; import json; import tests.hpo.test_searchers as t; "
            "print(json.dumps(t._sequence('bo', 5, 10)))"
        )
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd="."
        )
        return json.loads(out.stdout)

    assert sequence("hpo.searchers") == sequence("scipy.linalg")


def test_initial_config_comes_first(name) -> None:
    initial = {"lr": 0.1, "bs": 256, "l1": 0.15, "opt": "sgd"}
    searcher = searchers.make(name, MIXED, np.random.default_rng(0), initial_config=initial)
    assert searcher.suggest(0) == initial
    assert searcher.suggest(1) != initial


def test_initial_config_outside_space_is_refused(name) -> None:
    with pytest.raises(ConfigError, match="initial config"):
        searchers.make(
            name,
            MIXED,
            np.random.default_rng(0),
            initial_config={"lr": 5.0, "bs": 256, "l1": 0.1, "opt": "sgd"},
        )


def test_candidates_restrict_suggestions(name) -> None:
    rng = np.random.default_rng(0)
    candidates = [MIXED.sample(rng) for _ in range(12)]
    searcher = PooledSearcher(
        searchers.make(name, MIXED, np.random.default_rng(1)), CandidatePool(MIXED, candidates)
    )
    seen = []
    for trial_id in range(12):
        config = searcher.suggest(trial_id)
        _tell(searcher, trial_id, config, _objective(config))
        seen.append(config)
    assert all(c in candidates for c in seen)
    # every candidate is tried once before any repeats
    assert sorted(map(json.dumps, seen)) == sorted(map(json.dumps, candidates))


def test_parallel_suggestions_differ(name) -> None:
    searcher = searchers.make(name, MIXED, np.random.default_rng(0))
    for trial_id in range(10):
        config = searcher.suggest(trial_id)
        _tell(searcher, trial_id, config, _objective(config))
    in_flight = [searcher.suggest(trial_id) for trial_id in range(10, 14)]
    assert len({json.dumps(c, sort_keys=True) for c in in_flight}) == 4


def test_rng_must_be_a_generator(name) -> None:
    with pytest.raises(ConfigError, match="rng must be a numpy.random.Generator, got int"):
        searchers.make(name, MIXED, 0)


def test_unknown_searcher() -> None:
    with pytest.raises(
        ConfigError,
        match="unknown searcher 'smac'; accepted: random, bo, tpe, optuna-gp, cmaes, qmc, smac-bo",
    ):
        searchers.make("smac", MIXED, np.random.default_rng(0))


def test_random_search_is_log_uniform_on_the_learning_rate() -> None:
    searcher = searchers.make("random", MIXED, np.random.default_rng(0))
    logs = np.log10([searcher.suggest(t)["lr"] for t in range(2000)])
    assert stats.kstest((logs + 4) / 4, "uniform").pvalue > 0.001


def test_random_search_proposes_the_one_at_a_time_draws() -> None:
    # Random search draws its configs in blocks of growing size; across the block edges the
    # proposals must be the very configs one space.sample per trial gives (a replay's bytes).
    searcher = searchers.make("random", MIXED, np.random.default_rng(4))
    twin = np.random.default_rng(4)
    assert [searcher.suggest(t) for t in range(3000)] == [MIXED.sample(twin) for _ in range(3000)]


def test_bo_explores_small_learning_rates() -> None:
    # The reference BO sampled lr < 1e-2 about 1% of the time; on a log encoding half the space is there.
    searcher = searchers.make("bo", MIXED, np.random.default_rng(0), n_initial=30)
    draws = [searcher.suggest(t)["lr"] for t in range(30)]
    assert 0.25 < np.mean(np.array(draws) < 1e-2) < 0.75


# -- expected improvement and the GP ------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_expected_improvement_by_hand(dtype) -> None:
    # mean 0.5, std 0.2, best 0.4: z = -0.5; EI = 0.2 * (-0.5 * Phi(-0.5) + phi(-0.5))
    # Phi(-0.5) = 0.3085375387, phi(-0.5) = 0.3520653268 -> EI = 0.2 * (-0.1542687694 + 0.3520653268)
    ei = expected_improvement(np.array([0.5], dtype=dtype), np.array([0.2], dtype=dtype), dtype(0.4))
    assert ei[0] == pytest.approx(0.2 * (0.3520653268 - 0.5 * 0.3085375387), rel=1e-6)
    # far below the incumbent: EI equals the mean improvement
    assert expected_improvement(np.array([0.0]), np.array([1e-6]), 1.0)[0] == pytest.approx(1.0)


def test_expected_improvement_gradient_matches_finite_differences(rng) -> None:
    x = rng.random((15, 3))
    y = np.sin(3 * x).sum(axis=1)
    gp = GaussianProcess(3)
    gp.fit(x, (y - y.mean()) / y.std(), rng)
    q = rng.random((4, 3))
    best = -1.0
    m, s, pullback = gp.predict_with_pullback(q)
    np.testing.assert_array_equal(np.stack([m, s]), np.stack(gp.predict(q)))
    ei, by_mean, by_std = expected_improvement_partials(m, s, best)
    np.testing.assert_array_equal(ei, expected_improvement(m, s, best))
    eps = 1e-6
    # the mean's, the std's and EI's gradients: a pullback that mixed up the two weights, or the
    # std's sign, fails one of the three
    for a, b, of in (
        (np.ones(4), np.zeros(4), lambda mean, std: mean),
        (np.zeros(4), np.ones(4), lambda mean, std: std),
        (by_mean, by_std, lambda mean, std: expected_improvement(mean, std, best)),
    ):
        grad = pullback(a, b)
        for j in range(3):
            step = np.zeros(3)
            step[j] = eps
            numeric = (of(*gp.predict(q + step)) - of(*gp.predict(q - step))) / (2 * eps)
            np.testing.assert_allclose(grad[:, j], numeric, rtol=1e-4, atol=1e-7)


def test_gp_likelihood_gradient_matches_finite_differences(rng) -> None:
    x = rng.random((12, 2))
    y = np.cos(4 * x[:, 0]) + x[:, 1]
    gp = GaussianProcess(2)
    theta = np.array([np.log(0.3), np.log(0.7), np.log(1.5), np.log(0.01)])
    diffs = _sq_diffs(x, x)
    _, grad = gp._nll(theta, diffs, y)
    for j in range(len(theta)):
        step = np.zeros_like(theta)
        step[j] = 1e-6
        numeric = (gp._nll(theta + step, diffs, y)[0] - gp._nll(theta - step, diffs, y)[0]) / 2e-6
        assert grad[j] == pytest.approx(numeric, rel=1e-4, abs=1e-6)


def test_gp_interpolates_noise_free_data(rng) -> None:
    x = rng.random((20, 2))
    y = np.sin(5 * x[:, 0]) * x[:, 1]
    gp = GaussianProcess(2)
    gp.fit(x, (y - y.mean()) / y.std(), rng)
    mean, std = gp.predict(x)
    np.testing.assert_allclose(mean, (y - y.mean()) / y.std(), atol=0.05)
    assert np.all(std < 0.1)


def _quadratic(centre: np.ndarray, curvature: np.ndarray):
    """Each row's f(x) = sum_j curvature_j (x_j - centre_rj)^2 and its gradient, counting calls."""

    def fun(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        fun.calls += 1
        diff = x - centre
        return (curvature * diff * diff).sum(axis=1), 2.0 * curvature * diff

    fun.calls = 0
    return fun


def test_box_minimiser_finds_each_rows_minimum_inside_and_on_the_bounds(rng) -> None:
    # row 0's minimum is inside the box, row 1's beyond its upper bound on one axis and below 0
    # on the other: the answer is the projection of the centre. A condition number of 10 is about
    # what EI has in units of the length scales; a step rule that ignored a row's own curvature
    # (a shared step, or a fixed one) fails the tolerance or the budget here.
    centre = np.array([[0.3, 0.6], [1.7, -0.4]])
    fun = _quadratic(centre, np.array([1.0, 10.0]))
    upper = np.array([1.0, 2.0])
    x, f = minimise_boxed(fun, rng.random((2, 2)), upper, max_evaluations=40, gtol=1e-8)
    np.testing.assert_allclose(x, [[0.3, 0.6], [1.0, 0.0]], atol=1e-4)
    np.testing.assert_allclose(f, [0.0, 0.7**2 + 10 * 0.4**2], atol=1e-6)
    assert fun.calls < 40  # it stopped on the tolerance, not the budget


def test_box_minimiser_keeps_to_its_budget_and_never_goes_uphill(rng) -> None:
    centre = rng.random((5, 3))
    fun = _quadratic(centre, np.array([1.0, 30.0, 300.0]))
    x0 = rng.random((5, 3))
    start, _ = fun(x0)
    fun.calls = 0
    x, f = minimise_boxed(fun, x0, np.ones(3), max_evaluations=6, gtol=0.0)
    assert fun.calls == 6
    assert np.all(f <= start) and np.all((x >= 0.0) & (x <= 1.0))
    np.testing.assert_allclose(f, fun(x)[0])  # the values returned are those of the points returned


# -- BO beats random search, statistically -----------------------------------------------


def _best_after(name: str, objective, seed: int, n: int) -> float:
    searcher = searchers.make(name, objective.space, np.random.default_rng(seed))
    best = np.inf
    for trial_id in range(n):
        config = searcher.suggest(trial_id)
        value = objective(config)
        _tell(searcher, trial_id, config, value)
        best = min(best, value)
    return best


# Why 40 seeds at p < 0.01. Measured on Hartmann-6 at 30 evaluations, the hardest of the three,
# over 200 seeds: BO's final regret is below random search's in 82% of the pairs. Resampling
# those 200 pairs, a one-sided Wilcoxon signed-rank test reaches p < 0.01 with 20 seeds in only
# 91% of seed sets (so a change of library version or of the GP's arithmetic that reshuffles the
# trajectories failed it by chance, at p = 0.0148), with 30 in 98.8% and with 40 in 99.9% (median
# p 7e-7). A BO that has regressed to random search passes with probability 0.01 at any seed
# count, so the test catches that regression 99 times in 100 whichever seeds it draws.
@pytest.mark.slow
@pytest.mark.parametrize(("objective", "n"), [(BRANIN, 20), (HARTMANN6, 30), (SVM_LIKE, 25)])
def test_bo_beats_random_search_over_40_seeds(objective, n) -> None:
    seeds = range(40)
    bo = np.array([_best_after("bo", objective, s, n) for s in seeds])
    rs = np.array([_best_after("random", objective, 1000 + s, n) for s in seeds])
    # one-sided Wilcoxon signed-rank test on the paired final regrets
    result = stats.wilcoxon(bo - objective.minimum, rs - objective.minimum, alternative="less")
    assert result.pvalue < 0.01, (objective.name, np.median(bo), np.median(rs), result.pvalue)
    assert np.median(bo) < np.median(rs)
