"""Training as a task that any worker process can run: settings in, curve (and state) out.

A worker keeps one `Trainer` per settings (the splits loaded and verified once per process),
so a cluster worker pays the data loading once, not per task. Tasks take and return plain
picklable values: nothing refers to the driver's files, so workers need no shared storage.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hpo.data import DatasetSpec, get_dataset, load_splits
from hpo.training.curve import EpochRecord
from hpo.training.device import resolve_device
from hpo.training.facts import training_environment
from hpo.training.runtime import configure
from hpo.training.trainer import Trainer

__all__ = ["Trained", "WorkerSettings", "train", "warm_up"]


@dataclass(frozen=True)
class WorkerSettings:
    """What a worker needs to train: device, torch threads, where the data is."""

    device: str = "auto"
    threads: int = 1
    data_dir: str | None = None
    dataset: DatasetSpec | None = None  # None: the default dataset
    precision: str = "fp32"

    def __hash__(self) -> int:  # DatasetSpec holds a dict; its name identifies it
        name = self.dataset.name if self.dataset else None
        return hash((self.device, self.threads, self.data_dir, name, self.precision))


@dataclass
class Trained:
    """What one task sends back: the records it added, the run's state if asked, and where it ran."""

    records: list[EpochRecord]
    state: dict[str, Any] | None
    errors: dict[str, float] | None  # train, val and test error at the end, when asked
    environment: dict[str, Any]
    dataset: dict[str, Any]
    worker: str


_trainers: dict[WorkerSettings, tuple[Trainer, dict[str, Any]]] = {}
_environments: dict[tuple[WorkerSettings, str], dict[str, Any]] = {}
_lock = threading.Lock()


def worker_trainer(settings: WorkerSettings) -> tuple[Trainer, dict[str, Any]]:
    """This process's trainer for `settings` and its dataset facts, made on first use."""
    with _lock:
        if settings not in _trainers:
            configure(settings.threads)
            device = resolve_device(settings.device)
            splits = load_splits(settings.data_dir, spec=settings.dataset or get_dataset())
            facts = {
                "name": splits.dataset,
                "checksums": splits.checksums,
                "split_seed": splits.split_seed,
                "n_train": splits.n_train,
                "n_val": int(splits.val_y.shape[0]),
                "n_test": int(splits.test_y.shape[0]),
            }
            _trainers[settings] = (Trainer(splits, device, precision=settings.precision), facts)
        return _trainers[settings]


def warm_up(settings: WorkerSettings) -> None:
    """Load this worker's data for `settings` now (run on every worker before timing starts)."""
    worker_trainer(settings)


def train(
    settings: WorkerSettings,
    model: str,
    config: Mapping[str, Any],
    epochs: int,
    seed: int,
    state: Mapping[str, Any] | None = None,
    keep_state: bool = False,
    measure: bool = False,
) -> Trained:
    """Train `model` (fresh from `seed`, or continuing `state`) until it has `epochs` epochs.

    `keep_state` sends the run's state back (the checkpoint a promotion continues from);
    `measure` adds its error rates on the train, validation and test splits.
    """
    trainer, facts = worker_trainer(settings)
    run = trainer.resume(state) if state is not None else trainer.start(model, config, seed)
    records = trainer.advance(run, epochs)
    run.features = None  # mapped splits are cheap to remake and large to keep
    key = (settings, model)
    if key not in _environments:  # asks git and the CPU: once per process, not per task
        _environments[key] = training_environment(trainer.device, model)
    return Trained(
        records=records,
        state=run.state_dict() if keep_state else None,
        errors=trainer.errors(run) if measure else None,
        environment=_environments[key],
        dataset=facts,
        worker=_worker_name(),
    )


def _worker_name() -> str:
    try:
        from distributed import get_worker

        return str(get_worker().address)
    except (ImportError, ValueError):
        return "local"
