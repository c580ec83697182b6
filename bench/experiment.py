"""One HPO experiment: its validated spec, and running it live."""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bench.backends.live import LiveBackend
from bench.backends.replay import replay_backend
from cache.benchmark import MODES, Benchmark
from hpo import algorithms, provenance
from hpo.algorithms import AlgorithmSettings
from hpo.cluster import ClusterSpec, n_workers, open_client
from hpo.data import get_dataset
from hpo.errors import ConfigError
from hpo.models import check_space, get_model
from hpo.seeding import streams
from hpo.space import SearchSpace
from hpo.training import remote
from hpo.training.remote import WorkerSettings
from hpo.tuner import Budget, Result, TuneOutcome, Tuner
from hpo.validation import check_int

BACKENDS = ("live", "replay")


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


@dataclass(frozen=True)
class ReplayOptions:
    """How a replay reads the curve cache, and the workers of its simulated clock."""

    workers: int = 1
    mode: str = "tabular"  # tabular, nearest or surrogate
    cache_dir: str | None = None

    def __post_init__(self) -> None:
        check_int("--workers", self.workers)
        if self.mode not in MODES:
            raise ConfigError(f"unknown lookup mode {self.mode!r}; accepted: {', '.join(MODES)}")

    def to_dict(self) -> dict[str, Any]:
        """What the stored spec says of how the run replayed."""
        return {"workers": self.workers, "mode": self.mode}


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
        get_model(self.model)  # an unknown model fails first, with the accepted names
        algorithms.get_algorithm(self.algorithm)
        if self.space is not None:
            check_space(self.model, self.space)

    @property
    def backend(self) -> str:
        """'live' or 'replay'."""
        return "live" if isinstance(self.where, LiveOptions) else "replay"

    @property
    def search_space(self) -> SearchSpace:
        """The space searched (the model's default unless given)."""
        return self.space or get_model(self.model).space

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

    @property
    def experiment_id(self) -> str:
        """A stable id of the spec: 12 hex digits of its hash."""
        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()[:12]


@dataclass
class LiveRun:
    """A finished live experiment: the tuner's outcome and the backend holding the trials' states."""

    spec: RunSpec
    outcome: TuneOutcome
    backend: LiveBackend
    environment: dict[str, Any]
    final: dict[str, Any] | None = None  # the incumbent trained on, when asked


def run_live(
    spec: RunSpec,
    on_result: Callable[[dict[str, Any], TuneOutcome], None] | None = None,
    final_epochs: int | None = None,
    on_state: Callable[[int, dict[str, Any]], None] | None = None,
    recorded: list[Result] | None = None,
    states: dict[int, dict[str, Any]] | None = None,
    client: Any = None,
) -> LiveRun:
    """Run the experiment with real training on a Dask cluster (local worker processes by default).

    With `final_epochs`, the incumbent trial is then continued to that many epochs and its
    train, validation and test errors measured (`LiveRun.final`). `recorded` and `states` are
    an interrupted run's results and checkpoints: the scheduler is driven through them again
    (its decisions are a function of the results), and only what is missing trains. With
    `client`, the run uses that open cluster (shared with other runs, its workers warmed up)
    instead of opening its own.
    """
    if not isinstance(spec.where, LiveOptions):
        raise TypeError("run_live needs a spec with LiveOptions")
    live = spec.where
    rngs = streams(spec.seed)
    space = spec.search_space
    initial = get_model(spec.model).defaults if spec.initial_default else None
    if initial is not None and not space.contains(initial):
        raise ConfigError(f"the model's default config {dict(initial)} is outside the search space")
    scheduler = algorithms.build(spec.algorithm, space, rngs.searcher, spec.settings, initial_config=initial)
    cluster = live.cluster
    settings = WorkerSettings(
        live.device, cluster.torch_threads(), live.data_dir, get_dataset(), live.precision
    )
    with contextlib.ExitStack() as stack:
        if client is None:
            client = stack.enter_context(open_client(cluster))
            # every worker loads and verifies the data before the clock starts, not in its first job
            client.run(remote.warm_up, settings)
        backend = LiveBackend(
            client,
            settings,
            spec.model,
            rngs.training,
            _n_live_workers(live, client),
            on_state,
            recorded,
            states,
        )
        try:
            outcome = Tuner(scheduler, backend, spec.budget, on_result=on_result).run()
        except BaseException:
            backend.cancel()
            raise
        done = LiveRun(spec, outcome, backend, backend.environment or provenance.environment())
        if final_epochs is not None and outcome.incumbent is not None:
            incumbent = outcome.incumbent
            errors = backend.measure(incumbent.trial_id, dict(incumbent.config), final_epochs)
            done.final = {
                "trial_id": incumbent.trial_id,
                "config": dict(incumbent.config),
                "epochs": final_epochs,
                **errors,
            }
    return done


def _n_live_workers(live: LiveOptions, client: Any) -> int:
    """Jobs to run at once: every worker of the cluster, or at most --workers of a remote one."""
    available = n_workers(client)
    return min(available, live.workers) if live.workers else available


@dataclass
class ReplayRun:
    """A finished replay: the outcome, the simulated backend and the benchmark it read."""

    spec: RunSpec
    outcome: TuneOutcome
    backend: Any
    benchmark: Benchmark
    environment: dict[str, Any]


def run_replay(
    spec: RunSpec,
    benchmark: Benchmark | None = None,
    on_result: Callable[[dict[str, Any], TuneOutcome], None] | None = None,
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
    table = benchmark or Benchmark.load(spec.model, "tabular", where.cache_dir)
    if spec.settings.r_max > table.n_epochs:
        raise ConfigError(
            f"--r-max {spec.settings.r_max} exceeds the {table.n_epochs} epochs cached for {spec.model}"
        )
    if benchmark is None:
        benchmark = table if where.mode == "tabular" else table.in_mode(where.mode)
    rngs = streams(spec.seed)
    space = spec.space or benchmark.space
    tabular = where.mode == "tabular"
    initial = get_model(spec.model).defaults if spec.initial_default else None
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
    outcome = Tuner(scheduler, backend, spec.budget, on_result=on_result).run()
    return ReplayRun(spec, outcome, backend, benchmark, provenance.environment())
