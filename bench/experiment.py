"""One HPO experiment: its validated spec, and replaying it on the curve cache (without torch;
running it live is `bench.live_run`)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bench.backends.replay import replay_backend
from cache.lookup.blackbox import BlackBox
from cache.names import check_mode
from hpo import algorithms, provenance
from hpo.algorithms import AlgorithmSettings
from hpo.catalog import check_space, model_entry
from hpo.errors import ConfigError
from hpo.execution.cluster import ClusterSpec
from hpo.seeding import streams
from hpo.simulation import collector_paused
from hpo.space import SearchSpace
from hpo.tuner import Budget, Row, TuneOutcome, Tuner
from hpo.validation import check_int

__all__ = ["MAX_WORKERS", "LiveOptions", "ReplayOptions", "ReplayRun", "RunSpec", "run_replay"]

#: size limits, refused before anything runs: a simulated worker costs memory whatever it runs,
#: and a trial's results about a kilobyte (a million trials of a replay is a gigabyte of rows)
MAX_WORKERS = 100_000
MAX_TRIALS = 1_000_000


@dataclass(frozen=True)
class LiveOptions:
    """Where and how a live experiment's trainings run."""

    device: str = "auto"
    precision: str = "fp32"
    data_dir: str | None = None
    threads: int | None = None  # torch threads per worker (None: cores // workers)
    workers: int | None = (
        None  # local Dask workers (None: one per core), or at most this many of a remote one
    )
    scheduler_address: str | None = None  # a running Dask scheduler instead of local workers

    def __post_init__(self) -> None:
        self.cluster  # noqa: B018 - validates --workers, --threads and --scheduler-address

    @property
    def cluster(self) -> ClusterSpec:
        """Where the trainings run."""
        return ClusterSpec(self.workers, self.scheduler_address, self.threads)

    def to_dict(self) -> dict[str, Any]:
        """What the stored spec says of where the run trained."""
        return {"workers": self.workers, "device": self.device, "precision": self.precision}

    @classmethod
    def from_dict(cls, stored: Mapping[str, Any]) -> LiveOptions:
        """The options `to_dict` wrote (the data directory, threads and cluster address are not
        stored: they do not change the results)."""
        return cls(device=stored["device"], precision=stored["precision"], workers=stored["workers"])


@dataclass(frozen=True)
class ReplayOptions:
    """How a replay reads the curve cache, and the workers of its simulated clock."""

    workers: int = 1
    mode: str = "tabular"  # tabular, nearest or surrogate
    cache_dir: str | None = None

    def __post_init__(self) -> None:
        check_int("--workers", self.workers)
        if self.workers > MAX_WORKERS:
            raise ConfigError(f"--workers {self.workers}: at most {MAX_WORKERS:,} simulated workers")
        check_mode(self.mode)

    def to_dict(self) -> dict[str, Any]:
        """What the stored spec says of how the run replayed."""
        return {"workers": self.workers, "mode": self.mode}

    @classmethod
    def from_dict(cls, stored: Mapping[str, Any]) -> ReplayOptions:
        """The options `to_dict` wrote (the cache directory is not stored: its digest is)."""
        return cls(workers=stored["workers"], mode=stored["mode"])


@dataclass(frozen=True)
class RunSpec:
    """Everything that determines one HPO experiment: what is tuned how, and where it runs."""

    model: str
    algorithm: str
    budget: Budget
    settings: AlgorithmSettings = field(default_factory=AlgorithmSettings)
    seed: int = 0
    space: SearchSpace | None = None
    initial_default: bool = False
    where: LiveOptions | ReplayOptions = field(default_factory=LiveOptions)

    def __post_init__(self) -> None:
        model_entry(self.model)  # an unknown model fails first, with the accepted names
        algorithms.get_algorithm(self.algorithm)
        if self.budget.trials is not None and self.budget.trials > MAX_TRIALS:
            raise ConfigError(f"--trials {self.budget.trials}: at most {MAX_TRIALS:,} trials in one run")
        if self.space is not None:
            check_space(self.model, self.space)

    @property
    def backend(self) -> str:
        """'live' or 'replay'."""
        return "live" if isinstance(self.where, LiveOptions) else "replay"

    @property
    def search_space(self) -> SearchSpace:
        """The space searched (the model's default unless given)."""
        return self.space or model_entry(self.model).space

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready description, stored with the results."""
        return {
            "model": self.model,
            "algorithm": self.algorithm,
            "budget": {
                "trials": self.budget.trials,
                "epochs": self.budget.epochs,
                "seconds": self.budget.seconds,
            },
            "settings": self.settings.to_dict(),
            "seed": self.seed,
            "backend": self.backend,
            "space": self.search_space.to_dict(),
            "initial_default": self.initial_default,
            **self.where.to_dict(),
        }

    @classmethod
    def from_dict(cls, stored: Mapping[str, Any]) -> RunSpec:
        """The spec `to_dict` wrote, validated again: `RunSpec.from_dict(spec.to_dict())` equals `spec`
        (but for the options `LiveOptions.from_dict` and `ReplayOptions.from_dict` leave out)."""
        try:
            model = stored["model"]
            space = SearchSpace.from_dict(stored["space"])
            where_type = {"live": LiveOptions, "replay": ReplayOptions}[stored["backend"]]
            return cls(
                model=model,
                algorithm=stored["algorithm"],
                budget=Budget(**stored["budget"]),
                settings=AlgorithmSettings.from_dict(stored["settings"]),
                seed=stored["seed"],
                space=None if space == model_entry(model).space else space,
                initial_default=stored["initial_default"],
                where=where_type.from_dict(stored),
            )
        except (KeyError, TypeError) as exc:
            raise ConfigError(f"a stored run spec that is not one ({type(exc).__name__}: {exc})") from None

    @property
    def experiment_id(self) -> str:
        """A stable id of the spec: 12 hex digits of its hash."""
        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()[:12]


@dataclass
class ReplayRun:
    """A finished replay: the outcome, the simulated backend and the benchmark it read."""

    spec: RunSpec
    outcome: TuneOutcome
    backend: Any
    benchmark: BlackBox
    environment: dict[str, Any]


def run_replay(
    spec: RunSpec,
    benchmark: BlackBox | None = None,
    on_result: Callable[[Row, TuneOutcome], None] | None = None,
) -> ReplayRun:
    """Replay the experiment against the curve cache on a simulated clock."""
    if not isinstance(spec.where, ReplayOptions):
        raise TypeError("run_replay needs a spec with ReplayOptions")
    where = spec.where
    if spec.space is not None and where.mode == "tabular":
        raise ConfigError(
            "a custom --space does not apply to tabular replays (they search the collected configs)"
        )
    if spec.initial_default and where.mode == "tabular":
        raise ConfigError(
            "--initial-default needs --mode nearest or surrogate: the defaults are not a collected config"
        )
    # check the options against the table before fitting a surrogate, which can take a minute
    table = (benchmark or BlackBox.load(spec.model, "tabular", where.cache_dir)).check_r_max(
        spec.settings.r_max
    )
    if benchmark is None:
        benchmark = table if where.mode == "tabular" else table.in_mode(where.mode)
    rngs = streams(spec.seed)
    space = spec.space or benchmark.space
    tabular = where.mode == "tabular"
    initial = model_entry(spec.model).defaults if spec.initial_default else None
    scheduler = algorithms.build(
        spec.algorithm,
        space,
        rngs.searcher,
        spec.settings,
        initial_config=initial,
        # a tabular trial is one of the table's trainings: a config can be tried once per cached seed
        candidates=benchmark.configs if tabular else None,
        candidate_trainings=benchmark.complete.sum(axis=1).tolist() if tabular else None,
    )
    backend = replay_backend(benchmark, rngs.training, where.workers)
    with collector_paused():
        outcome = Tuner(scheduler, backend, spec.budget, on_result=on_result).run()
    return ReplayRun(spec, outcome, backend, benchmark, provenance.environment())
