"""Running an experiment live: real FashionMNIST trainings on a Dask cluster, driven by its algorithm."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bench.backends.live import LiveBackend
from bench.experiment import LiveOptions, RunSpec
from hpo import algorithms
from hpo.catalog import model_entry
from hpo.data import get_dataset
from hpo.errors import ConfigError
from hpo.execution import remote
from hpo.execution.cluster import n_workers, open_client
from hpo.execution.remote import WorkerSettings
from hpo.seeding import streams
from hpo.training.facts import training_environment
from hpo.tuner import Result, Row, TuneOutcome, Tuner

__all__ = ["LiveRun", "run_live"]


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
    on_result: Callable[[Row, TuneOutcome], None] | None = None,
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
    initial = model_entry(spec.model).defaults if spec.initial_default else None
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
        done = LiveRun(spec, outcome, backend, backend.environment or training_environment())
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
