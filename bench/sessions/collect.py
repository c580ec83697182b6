"""A collection from options to stored curves: what `bench collect` does between parsing and printing.

`plan` turns the options into a `CollectPlan` (the spec, the writable store, the shipped cache's
trainings that count as done); `execute` runs the collection (`cache.collect.collection`), keeping a `Tally`
of what finished that the command shows as progress.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bench.options import load_space
from hpo.catalog import model_entry

if TYPE_CHECKING:
    from cache.collect.collection import CollectSpec, Plan, TaskDone
    from cache.store.shards import CurveStore

__all__ = ["CollectPlan", "Tally", "execute", "plan", "where"]


@dataclass(frozen=True)
class CollectPlan:
    """What to train, where the curves go, and which stores' trainings count as done."""

    spec: CollectSpec
    store: CurveStore
    reuse: tuple[CurveStore, ...] = ()


@dataclass
class Tally:
    """What a collection has finished: trainings, epochs, whole configs, failures."""

    planned: int = 0
    already: int = 0
    configs: int = 0
    epochs: int = 0
    failed: list[TaskDone] = field(default_factory=list)
    open: Counter = field(default_factory=Counter)  # trainings still to store, per config

    @property
    def configs_done(self) -> int:
        """Configs every training seed of which is stored."""
        return self.configs - sum(1 for n in self.open.values() if n > 0)


def plan(
    *,
    model: str,
    n_configs: int,
    epochs: int,
    train_seeds: int,
    design: str,
    design_seed: int,
    space_file: str | None,
    cache_dir: str | None,
    workers: int | None,
    scheduler_address: str | None,
    threads: int | None,
    device: str,
    data_dir: str | None,
    extend: bool,
    force: bool,
) -> CollectPlan:
    """The collection `bench collect`'s options ask for (a bad value is a ConfigError)."""
    # the options are read: now the collection's stack (pandas, pyarrow, torch, Dask)
    from cache.collect.collection import CollectSpec
    from cache.store.locations import SHIPPED_ROOT, writable_store
    from cache.store.shards import CurveStore

    spec = CollectSpec(
        model=model,
        n_configs=n_configs,
        epochs=epochs,
        train_seeds=train_seeds,
        design=design,
        design_seed=design_seed,
        space=load_space(space_file, model_entry(model).space) if space_file else None,
        device=device,
        workers=workers,
        threads=threads,
        scheduler_address=scheduler_address,
        data_dir=data_dir,
        extend=extend,
    )
    # into the user's cache, the shipped cache's trainings of the same collection count as done
    reuse = () if force or cache_dir is not None else (CurveStore(SHIPPED_ROOT),)
    return CollectPlan(spec, writable_store(cache_dir), reuse)


def execute(
    collection: CollectPlan,
    on_start: Callable[[Tally], None] | None = None,
    on_done: Callable[[TaskDone, Tally], None] | None = None,
) -> Tally:
    """Train what the store lacks and store it; the callbacks see the tally as it grows."""
    from cache.collect.collection import collect

    tally = Tally()

    def started(work: Plan) -> None:
        tally.planned, tally.already = len(work.tasks), len(work.tasks) - len(work.missing)
        tally.open = Counter(t.config_id for t in work.missing)
        tally.configs = len({t.config_id for t in work.tasks})
        if on_start is not None:
            on_start(tally)

    def finished(done: TaskDone) -> None:
        if done.status == "failed":
            tally.failed.append(done)
        tally.epochs += done.epochs
        tally.open[done.task.config_id] -= 1
        if on_done is not None:
            on_done(done, tally)

    collect(collection.spec, collection.store, on_start=started, on_done=finished, reuse=collection.reuse)
    return tally


def where(collection: CollectPlan) -> str:
    """Where the trainings run, in words."""
    spec = collection.spec
    return spec.scheduler_address or f"{spec.cluster.n_local_workers} local workers"
