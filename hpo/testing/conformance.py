"""A conformance kit for searchers and algorithms, built-in or plug-in.

    from hpo.testing.conformance import check_searcher
    check_searcher(MySearcher)          # raises AssertionError naming every check that failed

A searcher passes when it builds from (space, rng, **options), proposes only valid configs,
gives the same configs for the same seed, touches no global random state, keeps proposing
while trials are pending or have failed, keeps to the candidates of a table until they are
used up, learns from its results over a table (tabular mode, where the pool replaces its
proposals, and nearest mode, where a proposal is answered by the nearest collected config),
and runs a replay with four workers under ASHA twice with identical results.
`check_algorithm(name)` runs the reproducibility and replay checks on a whole algorithm (a
built-in name or a plug-in spec). Each check is also importable on its own.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from hpo import algorithms
from hpo.errors import ConfigError
from hpo.schedulers import ASHA, Job
from hpo.searchers import CandidatePool, Observation, PooledSearcher, Searcher
from hpo.simulation import Evaluation, SimulatedBackend
from hpo.space import Parameter, SearchSpace, config_key
from hpo.status import WORST_ERROR
from hpo.testing.objectives import SVM_LIKE
from hpo.tuner import Budget, Row, Tuner

__all__ = [
    "LEARNING_THRESHOLD",
    "SPACE",
    "check_algorithm",
    "check_learns",
    "check_searcher",
    "learning_percentile",
    "objective",
    "replay",
]

SearcherFactory = Callable[..., Searcher]

# mixed kinds, as the models' spaces have: log-uniform floats, an integer and a choice
SPACE = SearchSpace([*SVM_LIKE.space.parameters, Parameter("kernel", "choice", values=("rbf", "linear"))])
R_MAX = 9


def objective(config: Mapping[str, Any], epochs: int) -> float:
    """A synthetic learning curve over SPACE: the SVM-shaped bowl, approached as epochs grow."""
    penalty = 0.02 if config["kernel"] == "linear" else 0.0
    return SVM_LIKE(config) + penalty + 0.3 * math.exp(-epochs / 3)


def _valid(config: Any) -> dict[str, Any]:
    if not isinstance(config, Mapping):
        raise AssertionError(f"suggested a {type(config).__name__}, not a config (a dict)")
    try:
        SPACE.validate(config)
    except ConfigError as exc:
        raise AssertionError(f"suggested an invalid config {dict(config)}: {exc}") from None
    return dict(config)


def _evaluate(job: Job) -> Evaluation:
    _valid(job.config)
    error = objective(job.config, job.epochs)
    seconds = (job.epochs - job.resume_from) * (1.0 + job.config["batch_size"] / 512)
    return Evaluation(error, error + 0.01, seconds)


def _build(factory: SearcherFactory, seed: int, **options: Any) -> Searcher:
    searcher = factory(SPACE, np.random.default_rng(seed), **options)
    if not isinstance(searcher, Searcher):
        raise AssertionError(f"the factory made a {type(searcher).__name__}, not a hpo.searchers.Searcher")
    return searcher


def _tell(searcher: Any, trial_id: int, config: Mapping[str, Any], error: float, epochs: int = R_MAX) -> None:
    searcher.observe(Observation(trial_id, dict(config), error, epochs))


def _sequential(factory: SearcherFactory, seed: int, n: int, **options: Any) -> list[dict[str, Any]]:
    """n configs suggested one at a time, each observed at R_MAX before the next."""
    searcher = _build(factory, seed, **options)
    configs = []
    for trial_id in range(n):
        config = _valid(searcher.suggest(trial_id))
        _tell(searcher, trial_id, config, objective(config, R_MAX))
        configs.append(config)
    return configs


def check_valid_configs(factory: SearcherFactory, n: int = 24) -> None:
    """Every suggestion has exactly the space's names, each of the right type and in range."""
    _sequential(factory, 0, n)


def check_reproducible(factory: SearcherFactory, n: int = 16) -> None:
    """The same seed gives the same configs."""
    first, second = _sequential(factory, 7, n), _sequential(factory, 7, n)
    for i, (a, b) in enumerate(zip(first, second, strict=True)):
        if config_key(a) != config_key(b):
            raise AssertionError(f"suggestion {i} differs between two searchers with seed 7: {a} and {b}")


def check_no_global_rng(factory: SearcherFactory, n: int = 12) -> None:
    """Suggestions do not depend on, and do not draw from, Python's or NumPy's global generators."""
    # the legacy global generators are what this check watches, so it seeds and reads them
    legacy = np.random
    runs = []
    for global_seed in (1, 2):
        random.seed(global_seed)
        legacy.seed(global_seed)
        before = (random.getstate(), legacy.get_state()[1].copy(), legacy.get_state()[2])
        runs.append([config_key(c) for c in _sequential(factory, 3, n)])
        after = (random.getstate(), legacy.get_state()[1], legacy.get_state()[2])
        if before[0] != after[0]:
            raise AssertionError("the searcher drew from Python's global `random` generator")
        if not np.array_equal(before[1], after[1]) or before[2] != after[2]:
            raise AssertionError("the searcher drew from NumPy's global generator (np.random.*)")
    if runs[0] != runs[1]:
        raise AssertionError("the suggestions changed with the global random seed")


def check_pending_and_failed(factory: SearcherFactory) -> None:
    """Suggestions go on, distinct from the configs in flight, while trials are pending or have
    failed (reported as the worst error)."""
    searcher = _build(factory, 5)
    for trial_id in range(4):
        config = _valid(searcher.suggest(trial_id))
        _tell(searcher, trial_id, config, objective(config, R_MAX))
    in_flight = [_valid(searcher.suggest(trial_id)) for trial_id in range(4, 8)]
    keys = [config_key(c) for c in in_flight]
    if len(set(keys)) < len(keys):
        raise AssertionError(f"the searcher suggested a config already in flight: {in_flight}")
    _tell(searcher, 4, in_flight[0], WORST_ERROR, 1)  # a failed training
    for trial_id in range(8, 11):
        _valid(searcher.suggest(trial_id))


def check_candidates(factory: SearcherFactory, n_candidates: int = 12) -> None:
    """With a table's candidates, each suggestion is a candidate, each used once, then `exhausted`."""
    rng = np.random.default_rng(11)
    candidates = [SPACE.sample(rng) for _ in range(n_candidates)]
    allowed = {config_key(c) for c in candidates}
    searcher = PooledSearcher(_build(factory, 9), CandidatePool(SPACE, candidates, [1] * n_candidates))
    seen = []
    for trial_id in range(n_candidates):
        if searcher.exhausted:
            raise AssertionError(f"exhausted after {len(seen)} of {n_candidates} candidates")
        config = searcher.suggest(trial_id)
        if config_key(config) not in allowed:
            raise AssertionError(f"suggested {config}, which is not one of the candidates")
        _tell(searcher, trial_id, config, objective(config, R_MAX))
        seen.append(config_key(config))
    if len(set(seen)) != n_candidates:
        raise AssertionError(f"repeated a candidate before trying every one: {len(set(seen))} distinct")
    if not searcher.exhausted:
        raise AssertionError("not exhausted after every candidate's one training was used")


#: the learning check's table: configs drawn once, their values, and each config's rank in it
_TABLE_SIZE, _LEARN_TRIALS, _LEARN_SEEDS = 400, 30, (0, 1, 2, 3)


def _learning_table() -> tuple[list[dict[str, Any]], np.ndarray, np.ndarray]:
    rng = np.random.default_rng(21)
    configs = [SPACE.sample(rng) for _ in range(_TABLE_SIZE)]
    values = np.array([objective(c, R_MAX) for c in configs])
    percentiles = np.argsort(np.argsort(values)) / (len(values) - 1)  # 0: the table's best, 1: its worst
    return configs, np.array([SPACE.to_unit(c) for c in configs]), percentiles


def learning_percentile(factory: SearcherFactory, mode: str) -> float:
    """Where the configs a searcher evaluates in the second half of a short run rank in a table
    of 400 (0: the best, 1: the worst; a searcher that ignores its results averages 0.5).

    `mode` is how the table answers: "tabular" runs the searcher over the table's pool (its
    proposals replaced by the nearest fresh config, the observation saying so), "nearest"
    answers each proposal with the nearest collected config's value (the proposal observed).
    """
    configs, units, percentiles = _learning_table()
    row_of = {config_key(c): i for i, c in enumerate(configs)}
    late = []
    for seed in _LEARN_SEEDS:
        searcher: Any = _build(factory, 100 + seed)
        if mode == "tabular":
            searcher = PooledSearcher(searcher, CandidatePool(SPACE, configs, [1] * len(configs)))
        for trial_id in range(_LEARN_TRIALS):
            config = _valid(searcher.suggest(trial_id))
            if mode == "tabular":
                row = row_of[config_key(config)]
            else:
                row = int(np.argmin(np.sum((units - SPACE.to_unit(config)) ** 2, axis=1)))
            _tell(searcher, trial_id, config, objective(configs[row], R_MAX))
            if trial_id >= _LEARN_TRIALS // 2:
                late.append(percentiles[row])
    return float(np.mean(late))


#: a searcher that learns ranks its late configs in the table's best 35%: ignoring the results
#: averages 0.5 with a standard error of 0.29 / sqrt(60) = 0.037 over the 60 late configs, so
#: 0.35 is four standard errors away (the built-in learners reach 0.02-0.25)
LEARNING_THRESHOLD = 0.35


def check_learns(factory: SearcherFactory) -> None:
    """In tabular and nearest mode the searcher's later configs are better than chance: it uses
    its results, including those the pool answered with another config than the one proposed
    (skipped for a searcher that says it does not learn, `learns = False`)."""
    if not _build(factory, 0).learns:
        return
    for mode in ("tabular", "nearest"):
        percentile = learning_percentile(factory, mode)
        if percentile > LEARNING_THRESHOLD:
            raise AssertionError(
                f"in {mode} mode its configs of trials {_LEARN_TRIALS // 2}-{_LEARN_TRIALS - 1} rank at the "
                f"{percentile:.0%} percentile of the table on average (chance: 50%, a learner: under "
                f"{LEARNING_THRESHOLD:.0%}); does it use every observation, including replaced proposals "
                "(Observation.trial_id, .proposal)?"
            )


def replay(scheduler: Any, workers: int = 4, trials: int = 40) -> list[Row]:
    """The rows of a replay of `scheduler` on the synthetic curves with `workers` simulated workers."""
    backend = SimulatedBackend(_evaluate, workers)
    return Tuner(scheduler, backend, Budget(trials=trials)).run().rows


def check_replay(factory: SearcherFactory, workers: int = 4) -> None:
    """A replay under ASHA with four workers ends, with valid rows, the same twice."""
    runs = []
    for _ in range(2):
        scheduler = ASHA(_build(factory, 13), eta=3, r_min=1, r_max=R_MAX)
        runs.append(replay(scheduler, workers))
    _check_rows(runs)


def _check_rows(runs: list[list[Row]]) -> None:
    rows = runs[0]
    if not rows:
        raise AssertionError("the replay produced no results")
    described = [[(r.trial_id, config_key(r.config), r.epochs, r.t_end) for r in run] for run in runs]
    if described[0] != described[1]:
        raise AssertionError("two replays with the same seed gave different rows")


def check_algorithm(name: str, workers: int = 4) -> None:
    """A whole algorithm (built-in name or plug-in spec) replays with `workers` workers, the same twice."""
    settings = algorithms.AlgorithmSettings(eta=3, r_min=1, r_max=R_MAX)
    runs = []
    for _ in range(2):
        scheduler = algorithms.build(name, SPACE, np.random.default_rng(13), settings)
        runs.append(replay(scheduler, workers))
    _check_rows(runs)


SEARCHER_CHECKS: dict[str, Callable[[SearcherFactory], None]] = {
    "valid configs": check_valid_configs,
    "reproducible": check_reproducible,
    "no global random state": check_no_global_rng,
    "pending and failed trials": check_pending_and_failed,
    "table candidates": check_candidates,
    "learns in tabular and nearest mode": check_learns,
    "replay with 4 workers": check_replay,
}


def check_searcher(factory: SearcherFactory) -> None:
    """Run every searcher check; raise one AssertionError naming each that failed and why."""
    failures = []
    for name, check in SEARCHER_CHECKS.items():
        try:
            check(factory)
        except AssertionError as exc:
            failures.append(f"{name}: {exc}")
        except Exception as exc:  # a crash is a failed check too, reported with the others
            failures.append(f"{name}: {type(exc).__name__}: {exc}")
    if failures:
        raise AssertionError(
            f"{len(failures)} of {len(SEARCHER_CHECKS)} checks failed:\n  " + "\n  ".join(failures)
        )
