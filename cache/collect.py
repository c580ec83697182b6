"""Collect learning curves from real trainings into a CurveStore, resumably.

Collection is a bag of independent tasks, one per (config, training seed). Each task trains
a fresh model to the requested epochs and writes its own part file, so tasks can run in any
order, on any worker, and a rerun does only the tasks whose part is missing.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

import pyarrow as pa

from cache.configid import config_id
from cache.design import DESIGNS, design_configs
from cache.schema import RUN_COLUMN, SCHEMA_VERSION, arrow_schema, encode_metadata
from cache.store import CurveStore
from hpo import provenance
from hpo.data import DatasetSpec, get_dataset, load_splits
from hpo.errors import ConfigError
from hpo.models import check_space, get_model, validate_config
from hpo.space import SearchSpace
from hpo.training import EpochRecord, Trainer, configure, resolve_device


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
    workers: int = 1
    threads: int | None = None  # per worker; None: cores // workers
    data_dir: str | None = None
    extend: bool = False

    def __post_init__(self) -> None:
        get_model(self.model)
        for name, value, low in (
            ("--configs", self.n_configs, 1),
            ("--epochs", self.epochs, 1),
            ("--train-seeds", self.train_seeds, 1),
            ("--workers", self.workers, 1),
        ):
            if not isinstance(value, int) or value < low:
                raise ConfigError(f"{name} must be an integer >= {low}, got {value!r}")
        if self.design not in DESIGNS:
            raise ConfigError(f"unknown design {self.design!r}; accepted: {', '.join(DESIGNS)}")
        if self.space is not None:
            check_space(self.model, self.space)

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
        }


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


@dataclass
class Plan:
    """The tasks of a spec, and which of them are still missing from the store."""

    spec: CollectSpec
    tasks: list[Task]
    missing: list[Task] = field(default_factory=list)


def plan(spec: CollectSpec, store: CurveStore) -> Plan:
    """List the spec's tasks (seed-major, so a partial run has whole seeds first)."""
    configs = [
        validate_config(spec.model, c)
        for c in design_configs(spec.search_space, spec.n_configs, spec.design, spec.design_seed)
    ]
    tasks = [Task(config_id(spec.model, c), c, seed) for seed in range(spec.train_seeds) for c in configs]
    done = store.done_keys(spec.model)
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
    for existing in manifest["collections"]:
        if {k: existing.get(k) for k in key} == key:
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


# -- workers -------------------------------------------------------------------------------

_worker: dict[str, Any] = {}


def _init_worker(
    spec: CollectSpec, store_root: str, meta: dict[str, Any], threads: int, dataset: DatasetSpec
) -> None:
    try:
        _setup_worker(spec, store_root, meta, threads, dataset)
    except Exception as exc:
        # A failing Pool initializer makes multiprocessing respawn workers forever; keep the
        # error and raise it from the first task instead, so the parent sees it.
        _worker["error"] = exc


def _setup_worker(
    spec: CollectSpec, store_root: str, meta: dict[str, Any], threads: int, dataset: DatasetSpec
) -> None:
    configure(threads)
    device = resolve_device(spec.device)
    splits = load_splits(spec.data_dir, spec=dataset)
    provenance_entry = {"command": meta["command"], **provenance.environment(device, spec.model)}
    file_meta = {k: v for k, v in meta.items() if k != "command"}
    file_meta["dataset"] = {
        "name": splits.dataset,
        "checksums": splits.checksums,
        "split_seed": splits.split_seed,
        "n_train": splits.n_train,
        "n_val": int(splits.val_y.shape[0]),
        "n_test": int(splits.test_y.shape[0]),
    }
    file_meta["provenance"] = [provenance_entry]
    _worker.update(spec=spec, store=CurveStore(store_root), trainer=Trainer(splits, device), meta=file_meta)


def _run_task(task: Task) -> TaskDone:
    if "error" in _worker:
        raise _worker["error"]
    spec, store, trainer = _worker["spec"], _worker["store"], _worker["trainer"]
    started = time.perf_counter()
    curve = trainer.fit(spec.model, task.config, spec.epochs, seed=task.train_seed)
    meta = {**_worker["meta"], "created": provenance.now_iso()}
    store.write_part(spec.model, task.config_id, task.train_seed, task_table(spec, task, curve, meta))
    return TaskDone(
        task,
        len(curve),
        sum(r.epoch_seconds for r in curve),
        time.perf_counter() - started,
        curve[-1].status,
    )


def collect(
    spec: CollectSpec,
    store: CurveStore,
    command: str | None = None,
    on_start: Callable[[Plan], None] | None = None,
    on_done: Callable[[TaskDone], None] | None = None,
) -> Plan:
    """Train every missing task of `spec` into `store`, then compact the model's files."""
    command = command or provenance.command_line()
    manifest = check_manifest(spec, store, command)
    work = plan(spec, store)
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
    threads = spec.threads or max(1, (os.cpu_count() or 1) // spec.workers)
    for done in _execute(spec, str(store.root), meta, threads, work.missing):
        if on_done is not None:
            on_done(done)
    store.compact(spec.model)
    return work


def _execute(
    spec: CollectSpec, root: str, meta: dict[str, Any], threads: int, tasks: list[Task]
) -> Iterator[TaskDone]:
    if not tasks:
        return
    dataset = get_dataset()
    if spec.workers == 1:
        _setup_worker(spec, root, meta, threads, dataset)
        for task in tasks:
            yield _run_task(task)
        return
    # spawn, not fork: forking a process whose OpenMP pool already started can deadlock.
    context = mp.get_context("spawn")
    with context.Pool(
        spec.workers, initializer=_init_worker, initargs=(spec, root, meta, threads, dataset)
    ) as pool:
        yield from pool.imap_unordered(_run_task, tasks)
