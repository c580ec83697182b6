"""Collect learning curves from real trainings into a CurveStore, resumably.

Collection is a bag of independent tasks, one per (config, training seed). Each task trains
a fresh model to the requested epochs on a Dask worker (`hpo.execution.cluster`) and sends the curve
back; the driver writes it as the task's own part file. Tasks can run in any order, on any
worker, and a rerun does only the tasks whose part is missing.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

import pyarrow as pa

from cache.collect.design import design_configs
from cache.names import check_design
from cache.store.configid import config_id
from cache.store.schema import RUN_COLUMN, SCHEMA_VERSION, arrow_schema, encode_metadata
from cache.store.shards import CurveStore
from hpo import provenance
from hpo.catalog import check_space
from hpo.data import get_dataset
from hpo.errors import ConfigError, HPOError, one_line
from hpo.execution import remote
from hpo.execution.cluster import ClusterSpec, lost_scheduler, open_client, run_all
from hpo.execution.remote import Trained, WorkerSettings
from hpo.models import get_model, validate_config
from hpo.space import SearchSpace
from hpo.training import EpochRecord
from hpo.validation import check_int

__all__ = ["CollectSpec", "Plan", "Task", "TaskDone", "check_manifest", "collect", "plan", "task_table"]


@dataclass(frozen=True)
class CollectSpec:
    """What to collect: a design of configs over a space, trained to `epochs` per seed."""

    model: str
    n_configs: int = 64
    epochs: int = 20
    train_seeds: int = 1
    design: str = "sobol"
    design_seed: int = 0
    space: SearchSpace | None = None  # None: the model's default space
    device: str = "auto"
    workers: int | None = None  # local worker processes; None: one per core
    threads: int | None = None  # torch threads per worker; None: cores // workers
    scheduler_address: str | None = None  # a running Dask scheduler instead of local workers
    data_dir: str | None = None
    extend: bool = False

    def __post_init__(self) -> None:
        get_model(self.model)
        for name, value, low in (
            ("--configs", self.n_configs, 1),
            ("--epochs", self.epochs, 1),
            ("--train-seeds", self.train_seeds, 1),
        ):
            check_int(name, value, low)
        check_design(self.design)
        if self.space is not None:
            check_space(self.model, self.space)
        self.cluster  # noqa: B018 - validates --workers, --threads and --scheduler-address

    @property
    def cluster(self) -> ClusterSpec:
        """Where the trainings run."""
        return ClusterSpec(self.workers, self.scheduler_address, self.threads)

    @property
    def search_space(self) -> SearchSpace:
        """The space the design is drawn from."""
        return self.space or get_model(self.model).space

    def collection_key(self) -> dict[str, Any]:
        """What must match for a rerun to add to an existing collection without --extend."""
        return {
            "design": self.design,
            "design_seed": self.design_seed,
            "epochs": self.epochs,
            "space": self.search_space.to_dict(),
            "model_revision": get_model(self.model).revision,
        }


def revision_of(entry: dict[str, Any]) -> int:
    """The model revision a manifest's collection entry was made with (entries without one
    predate revisions and were made with revision 1)."""
    return entry.get("model_revision", 1)


def same_collection(entry: dict[str, Any], key: dict[str, Any]) -> bool:
    """Whether a manifest's collection entry was made with `key`."""
    return {**{k: entry.get(k) for k in key}, "model_revision": revision_of(entry)} == key


@dataclass(frozen=True)
class Task:
    """One training: a config and a training seed."""

    config_id: str
    config: dict[str, Any]
    train_seed: int


@dataclass
class TaskDone:
    """Reported after each finished task."""

    task: Task
    epochs: int
    train_seconds: float
    wall_seconds: float
    status: str
    error: str = ""  # why a failed task failed (it is not stored; a rerun tries it again)


@dataclass
class Plan:
    """The tasks of a spec, and which of them are still missing from the store."""

    spec: CollectSpec
    tasks: list[Task]
    missing: list[Task] = field(default_factory=list)


def plan(spec: CollectSpec, store: CurveStore, reuse: tuple[CurveStore, ...] = ()) -> Plan:
    """List the spec's tasks (seed-major, so a partial run has whole seeds first).

    A task counts as done when `store` holds it, or a store in `reuse` (the shipped cache)
    holds it from a collection with the same design, epochs and space.
    """
    configs = [
        validate_config(spec.model, c)
        for c in design_configs(spec.search_space, spec.n_configs, spec.design, spec.design_seed)
    ]
    tasks = [Task(config_id(spec.model, c), c, seed) for seed in range(spec.train_seeds) for c in configs]
    done = store.done_keys(spec.model)
    key = spec.collection_key()
    for other in reuse:
        manifest = other.manifest(spec.model)
        if manifest and any(same_collection(c, key) for c in manifest["collections"]):
            done |= other.done_keys(spec.model)
    return Plan(spec, tasks, [t for t in tasks if (t.config_id, t.train_seed) not in done])


def check_manifest(spec: CollectSpec, store: CurveStore, command: str) -> dict[str, Any]:
    """Refuse a run that does not match what the cache was collected with, unless --extend."""
    manifest = store.manifest(spec.model)
    key = spec.collection_key()
    entry = {**key, "configs": spec.n_configs, "train_seeds": spec.train_seeds, "command": command}
    if manifest is None:
        return {
            "schema_version": SCHEMA_VERSION,
            "model": spec.model,
            "space": spec.search_space.to_dict(),
            "epochs": spec.epochs,
            "collections": [entry],
        }
    held = sorted({revision_of(c) for c in manifest["collections"]})
    if held != [key["model_revision"]]:  # never mixed, not even with --extend
        raise ConfigError(
            f"{store.model_dir(spec.model)} holds {spec.model} curves from revision "
            f"{', '.join(map(str, held))} of its training, which gives other curves than today's revision "
            f"{key['model_revision']}; collect into another --cache-dir (or delete that folder)"
        )
    for existing in manifest["collections"]:
        if same_collection(existing, key):
            existing["configs"] = max(existing["configs"], spec.n_configs)
            existing["train_seeds"] = max(existing["train_seeds"], spec.train_seeds)
            existing["command"] = command
            return manifest
    if not spec.extend:
        first = manifest["collections"][0]
        raise ConfigError(
            f"{store.model_dir(spec.model)} was collected with design={first['design']} "
            f"(seed {first['design_seed']}), epochs={first['epochs']}; this run asks design={spec.design} "
            f"(seed {spec.design_seed}), epochs={spec.epochs}. Pass --extend to add to it, or use another --cache-dir"
        )
    manifest["collections"].append(entry)
    manifest["epochs"] = max(manifest["epochs"], spec.epochs)
    return manifest


def task_table(spec: CollectSpec, task: Task, curve: list[EpochRecord], meta: dict[str, Any]) -> pa.Table:
    """The rows of one finished training, with the file metadata."""
    space = spec.search_space
    n = len(curve)
    columns: dict[str, list[Any]] = {"config_id": [task.config_id] * n}
    for p in space.parameters:
        columns[p.name] = [task.config[p.name]] * n
    columns["train_seed"] = [task.train_seed] * n
    for name in ("epoch", "train_loss", "val_loss", "val_error", "test_error", "epoch_seconds", "status"):
        columns[name] = [getattr(r, name) for r in curve]
    columns[RUN_COLUMN] = [0] * n  # a part lists one run: the one that trained it
    schema = arrow_schema(space).with_metadata(encode_metadata(meta))
    return pa.table(columns, schema=schema)


# -- execution on the cluster -----------------------------------------------------------


def _train_task(settings: WorkerSettings, model: str, task: Task, epochs: int) -> Trained:
    return remote.train(settings, model, task.config, epochs, seed=task.train_seed)


def _store_done(
    spec: CollectSpec, store: CurveStore, meta: dict[str, Any], task: Task, trained: Trained, wall: float
) -> TaskDone:
    """Write one finished training's part (the driver is the only writer) and report it."""
    file_meta = {k: v for k, v in meta.items() if k != "command"}
    file_meta["dataset"] = trained.dataset
    file_meta["provenance"] = [{"command": meta["command"], **trained.environment}]
    file_meta["created"] = provenance.now_iso()
    curve = trained.records
    store.write_part(spec.model, task.config_id, task.train_seed, task_table(spec, task, curve, file_meta))
    return TaskDone(task, len(curve), sum(r.epoch_seconds for r in curve), wall, curve[-1].status)


def collect(
    spec: CollectSpec,
    store: CurveStore,
    command: str | None = None,
    on_start: Callable[[Plan], None] | None = None,
    on_done: Callable[[TaskDone], None] | None = None,
    reuse: tuple[CurveStore, ...] = (),
) -> Plan:
    """Train every missing task of `spec` into `store`, then compact the model's files.

    Tasks that a store in `reuse` already holds for the same collection are not trained again.
    """
    command = command or provenance.command_line()
    manifest = check_manifest(spec, store, command)
    work = plan(spec, store, reuse)
    store.write_manifest(spec.model, manifest)
    store.remove_leftovers(spec.model)
    if on_start is not None:
        on_start(work)
    meta = {
        "schema_version": SCHEMA_VERSION,
        "model": spec.model,
        "space": spec.search_space.to_dict(),
        "collection": {k: v for k, v in asdict(spec).items() if k not in ("space", "data_dir", "extend")},
        "command": command,
    }
    try:
        for done in _execute(spec, store, meta, work.missing):
            if on_done is not None:
                on_done(done)
    finally:
        # whatever finished is kept, also when interrupted: its parts become a shard
        store.compact(spec.model)
    return work


def _execute(
    spec: CollectSpec, store: CurveStore, meta: dict[str, Any], tasks: list[Task]
) -> Iterator[TaskDone]:
    """Run the tasks on the cluster and store each result as it arrives."""
    if not tasks:
        return
    cluster = spec.cluster
    settings = WorkerSettings(spec.device, cluster.torch_threads(), spec.data_dir, get_dataset())
    with open_client(cluster) as client:
        # earlier tasks first (seed-major order), so an interrupted run has whole seeds
        name, started = f"train-{spec.model}", time.perf_counter()
        for task, future in run_all(
            client, _train_task, tasks, lambda t: (settings, spec.model, t, spec.epochs), name
        ):
            seconds = time.perf_counter() - started
            try:
                trained = future.result()
            except HPOError:
                raise  # bad data or config: every task would fail alike
            except Exception as exc:
                # trained with its result lost: the scheduler went away
                if future.status != "error":
                    raise lost_scheduler(client) from None
                # a training, or its worker, failed twice
                yield TaskDone(task, 0, 0.0, seconds, "failed", one_line(exc))
                continue
            yield _store_done(spec, store, meta, task, trained, seconds)
