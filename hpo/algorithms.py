"""The named HPO algorithms: a searcher inside a scheduler, built from one registry."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from hpo import schedulers, searchers
from hpo.errors import ConfigError
from hpo.schedulers import Scheduler
from hpo.schedulers.rungs import validate as validate_rungs
from hpo.searchers.optuna_adapter import optuna_module
from hpo.space import SearchSpace


@dataclass(frozen=True)
class Algorithm:
    """A registry entry: which searcher runs inside which scheduler."""

    name: str
    searcher: str
    scheduler: str
    description: str


ALGORITHMS: dict[str, Algorithm] = {
    a.name: a
    for a in (
        Algorithm("random", "random", "fifo", "random search, every trial to r_max epochs"),
        Algorithm("bo", "bo", "fifo", "GP-EI Bayesian optimisation, every trial to r_max epochs"),
        Algorithm("sh", "random", "sh", "synchronous successive halving, random configs"),
        Algorithm("hyperband", "random", "hyperband", "Hyperband, random configs"),
        Algorithm("asha", "random", "asha", "asynchronous successive halving, random configs"),
        Algorithm("bohb", "bo", "hyperband", "Hyperband with a GP-EI searcher (BOHB-style)"),
        Algorithm("asha-bo", "bo", "asha", "ASHA with a GP-EI searcher"),
        # Optuna's samplers as baselines (optional extra `optuna`)
        Algorithm("tpe", "tpe", "fifo", "Optuna's TPE, every trial to r_max epochs"),
        Algorithm("optuna-gp", "optuna-gp", "fifo", "Optuna's GPSampler, every trial to r_max epochs"),
        Algorithm("cmaes", "cmaes", "fifo", "Optuna's CMA-ES, every trial to r_max epochs"),
        Algorithm("qmc", "qmc", "fifo", "Optuna's quasi-Monte Carlo (Sobol) sampler"),
        Algorithm("asha-tpe", "tpe", "asha", "ASHA with Optuna's TPE"),
        Algorithm("bohb-tpe", "tpe", "hyperband", "Hyperband with Optuna's TPE (BOHB in its usual TPE form)"),
    )
}


@dataclass(frozen=True)
class AlgorithmSettings:
    """Options of the schedulers; FIFO trains every trial to r_max epochs."""

    eta: float = 3
    r_min: int = 1
    r_max: int = 20
    prefact: int = 1
    n_configs: int | None = None
    searcher_options: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        validate_rungs(self.eta, self.r_min, self.r_max)

    def to_dict(self) -> dict[str, Any]:
        """Plain-dict form for metadata."""
        out = asdict(self)
        out["searcher_options"] = dict(self.searcher_options)
        return out


def get_algorithm(name: str) -> Algorithm:
    """The registry entry `name`, or a ConfigError listing the accepted names."""
    try:
        algorithm = ALGORITHMS[name]
    except KeyError:
        raise ConfigError(f"unknown algorithm {name!r}; accepted: {', '.join(ALGORITHMS)}") from None
    if algorithm.searcher in searchers.OPTUNA_SEARCHERS:
        optuna_module()  # naming an Optuna baseline without Optuna: one line saying how to install it
    return algorithm


def build(
    name: str,
    space: SearchSpace,
    rng: np.random.Generator,
    settings: AlgorithmSettings = AlgorithmSettings(),
    initial_config: Mapping[str, Any] | None = None,
    candidates: Sequence[Mapping[str, Any]] | None = None,
    candidate_trainings: Sequence[int] | None = None,
) -> Scheduler:
    """The scheduler of algorithm `name` with its searcher, ready for a tuner."""
    algorithm = get_algorithm(name)
    searcher = searchers.make(
        algorithm.searcher,
        space,
        rng,
        initial_config=initial_config,
        candidates=candidates,
        candidate_trainings=candidate_trainings,
        **dict(settings.searcher_options),
    )
    if algorithm.scheduler == "fifo":
        return schedulers.make("fifo", searcher, epochs=settings.r_max)
    options: dict[str, Any] = {"eta": settings.eta, "r_min": settings.r_min, "r_max": settings.r_max}
    if algorithm.scheduler == "sh":
        options.update(prefact=settings.prefact, n_configs=settings.n_configs)
    return schedulers.make(algorithm.scheduler, searcher, **options)
