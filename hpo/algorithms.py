"""The named HPO algorithms: a searcher inside a scheduler, built from one registry."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from hpo import plugins, schedulers, searchers
from hpo.errors import ConfigError
from hpo.formats.optuna import optuna_module
from hpo.schedulers import Scheduler
from hpo.schedulers.rungs import validate as validate_rungs
from hpo.schedulers.synetune_adapter import synetune_baselines
from hpo.searchers import Searcher
from hpo.searchers.relay import Relay
from hpo.searchers.smac_adapter import smac_module
from hpo.space import SearchSpace

__all__ = ["ALGORITHMS", "DEFAULT_ALGORITHMS", "Algorithm", "AlgorithmSettings", "build", "get_algorithm"]

PLUGIN = "plug-in"
RELAY = "relay"  # an outside scheduler's own configs, handed on through hpo.searchers.relay


@dataclass(frozen=True)
class Algorithm:
    """A registry entry: which searcher runs inside which scheduler.

    For a plug-in, `searcher` or `scheduler` is PLUGIN and `plugin` is the user's searcher
    factory or scheduler class.
    """

    name: str
    searcher: str
    scheduler: str
    description: str
    plugin: Callable[..., Any] | None = None
    #: an optional package's check: raises a ConfigError saying how to install it
    extra: Callable[[], Any] | None = None

    @property
    def outside(self) -> bool:
        """Whether code from outside the package runs (a plug-in, an optional library's
        optimizer): it runs guarded, and a comparison runs it in watched processes."""
        return self.plugin is not None or self.extra is not None


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
        Algorithm("tpe", "tpe", "fifo", "Optuna's TPE, every trial to r_max epochs", extra=optuna_module),
        Algorithm(
            "optuna-gp",
            "optuna-gp",
            "fifo",
            "Optuna's GPSampler, every trial to r_max epochs",
            extra=optuna_module,
        ),
        Algorithm(
            "cmaes", "cmaes", "fifo", "Optuna's CMA-ES, every trial to r_max epochs", extra=optuna_module
        ),
        Algorithm("qmc", "qmc", "fifo", "Optuna's quasi-Monte Carlo (Sobol) sampler", extra=optuna_module),
        Algorithm("asha-tpe", "tpe", "asha", "ASHA with Optuna's TPE", extra=optuna_module),
        Algorithm(
            "bohb-tpe",
            "tpe",
            "hyperband",
            "Hyperband with Optuna's TPE (BOHB in its usual TPE form)",
            extra=optuna_module,
        ),
        # SMAC3 (optional extra `smac`)
        Algorithm("smac-bo", "smac-bo", "fifo", "SMAC3's BO facade (random forest + EI)", extra=smac_module),
        Algorithm(
            "smac-hb",
            RELAY,
            "smac-hb",
            "SMAC3's Hyperband facade (random forest + Hyperband)",
            extra=smac_module,
        ),
        # Syne Tune's multi-fidelity schedulers (optional extra `synetune`)
        Algorithm("st-asha", RELAY, "st-asha", "Syne Tune's ASHA (stopping)", extra=synetune_baselines),
        Algorithm(
            "st-bohb", RELAY, "st-bohb", "Syne Tune's BOHB (KDE inside ASHA)", extra=synetune_baselines
        ),
        Algorithm(
            "st-asha-cqr",
            RELAY,
            "st-asha-cqr",
            "Syne Tune's model-based ASHA (conformal quantile regression)",
            extra=synetune_baselines,
        ),
    )
}

#: what `bench compare` and `bench agree` run unless told otherwise
DEFAULT_ALGORITHMS = ("random", "bo", "sh", "asha")


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

    @classmethod
    def from_dict(cls, stored: Mapping[str, Any]) -> AlgorithmSettings:
        """The settings `to_dict` wrote (validated again)."""
        return cls(**stored)


def get_algorithm(name: str) -> Algorithm:
    """The algorithm `name`: a built-in, a registered plug-in, or `module:Object[@scheduler]`;
    a ConfigError listing the accepted names otherwise."""
    algorithm = ALGORITHMS.get(name)
    if algorithm is not None:
        if algorithm.extra is not None:
            algorithm.extra()  # naming a baseline without its package: one line saying how to install it
        return algorithm
    spec, _, scheduler = name.partition("@")
    if not plugins.is_spec(spec):
        registered = plugins.registered()
        if spec not in registered:
            accepted = ", ".join([*ALGORITHMS, *registered, "module:Object[@scheduler]"])
            raise ConfigError(f"unknown algorithm {name!r}; accepted: {accepted}")
        target = registered[spec]
        if "@" in target:  # the package chose the scheduler; one given here overrides it
            target, _, chosen = target.partition("@")
            scheduler = scheduler or chosen
        spec = target
    return _plugin(name, spec, scheduler)


def _plugin(name: str, spec: str, scheduler: str) -> Algorithm:
    obj = plugins.load_object(spec)
    if inspect.isclass(obj) and issubclass(obj, Scheduler):
        if scheduler:
            raise ConfigError(f"algorithm {name!r}: {spec} is a scheduler; @{scheduler} applies to searchers")
        return Algorithm(name, "random", PLUGIN, f"plug-in scheduler {spec} with random configs", obj)
    if (inspect.isclass(obj) and not issubclass(obj, Searcher)) or not callable(obj):
        raise ConfigError(
            f"algorithm {name!r}: {spec} is a {type(obj).__name__}; a plug-in is a Searcher or Scheduler "
            "subclass, or a function returning a Searcher"
        )
    scheduler = scheduler or "fifo"
    if scheduler not in schedulers.SCHEDULERS:
        raise ConfigError(
            f"algorithm {name!r}: unknown scheduler {scheduler!r}; accepted: {', '.join(schedulers.SCHEDULERS)}"
        )
    return Algorithm(name, PLUGIN, scheduler, f"plug-in searcher {spec} inside {scheduler}", obj)


def build(
    name: str,
    space: SearchSpace,
    rng: np.random.Generator,
    settings: AlgorithmSettings = AlgorithmSettings(),
    initial_config: Mapping[str, Any] | None = None,
    candidates: Sequence[Mapping[str, Any]] | None = None,
    candidate_trainings: Sequence[int] | None = None,
) -> Scheduler:
    """The scheduler of algorithm `name` with its searcher, ready for a tuner. Code from outside
    the package (a plug-in, an optional library's optimizer) runs guarded (`hpo.plugins`): what
    goes wrong in it is that algorithm's failure. With `candidates` (a table's configs, each with
    `candidate_trainings` trainings), the searcher runs over their pool (`hpo.searchers.pool`)."""
    algorithm = get_algorithm(name)
    options: dict[str, Any] = {"initial_config": initial_config, **dict(settings.searcher_options)}
    guard = plugins.Guard(name, plugins.call_limit()) if algorithm.outside else None
    searcher: Any
    if algorithm.searcher == PLUGIN:
        assert guard is not None and algorithm.plugin is not None
        made = guard.call("its constructor", algorithm.plugin, space, rng, **options)
        if not isinstance(made, Searcher):
            raise guard.fail(f"made a {type(made).__name__}, not a hpo.searchers.Searcher")
        searcher = plugins.GuardedSearcher(made, guard, space)
    elif algorithm.searcher == RELAY:
        searcher = Relay(space, rng, initial_config)
    else:
        searcher = searchers.make(algorithm.searcher, space, rng, **options)
        if guard is not None:
            searcher = plugins.GuardedSearcher(searcher, guard, space)
    if candidates is not None:  # a table's configs: the pool's rules, any searcher inside
        searcher = searchers.PooledSearcher(
            searcher, searchers.CandidatePool(space, candidates, candidate_trainings)
        )
    if algorithm.scheduler == "fifo":
        return schedulers.make("fifo", searcher, epochs=settings.r_max)
    options = {"eta": settings.eta, "r_min": settings.r_min, "r_max": settings.r_max}
    if algorithm.scheduler in schedulers.OUTSIDE:
        assert guard is not None
        made = guard.call("its constructor", schedulers.OUTSIDE[algorithm.scheduler], searcher, **options)
        return plugins.GuardedScheduler(made, guard, settings.r_max)  # type: ignore[return-value]
    if algorithm.scheduler == PLUGIN:
        assert guard is not None and algorithm.plugin is not None
        made = guard.call("its constructor", algorithm.plugin, searcher, **options)
        return plugins.GuardedScheduler(made, guard, settings.r_max)  # type: ignore[return-value]
    if algorithm.scheduler == "sh":
        options.update(prefact=settings.prefact, n_configs=settings.n_configs)
    return schedulers.make(algorithm.scheduler, searcher, **options)
