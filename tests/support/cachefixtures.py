"""Synthetic curve caches written through the real store code, without training."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np

from cache.collect.collection import CollectSpec, Task, check_manifest, task_table
from cache.collect.design import design_configs
from cache.store.configid import config_id
from cache.store.schema import SCHEMA_VERSION
from cache.store.shards import CurveStore
from hpo.models import validate_config
from hpo.training import EpochRecord


def true_error(config: dict, epoch: int, seed: int) -> float:
    """A smooth function of log learning rate and batch size that improves with epochs, plus seed noise."""
    lr, bs = math.log10(config["learning_rate"]), config["batch_size"]
    final = 0.12 + 0.1 * (lr + 1.0) ** 2 + 0.0002 * abs(bs - 128)
    noise = 0.004 * math.sin(1000 * config["learning_rate"] + seed)
    return min(0.9, final + 0.5 * math.exp(-epoch / 2) + noise)


def write_cache(
    root: Path,
    model: str = "softmax",
    n_configs: int = 32,
    seeds: int = 2,
    epochs: int = 6,
    later_seeds_for: int | None = None,
    run_of: Callable[[int, int], tuple[dict, float]] | None = None,
    compact: bool = True,
) -> CurveStore:
    """A compacted cache of `model` with curves from `true_error`.

    `later_seeds_for=k` trains seeds after the first for the first k configs only, as a
    collection stopped part-way through a second seed leaves it. `run_of(config index, seed)`
    gives a training's provenance entry and how much slower than usual its run timed it.
    """
    store = CurveStore(root)
    spec = CollectSpec(model=model, n_configs=n_configs, epochs=epochs, train_seeds=seeds)
    store.write_manifest(model, check_manifest(spec, store, "synthetic"))
    meta = {
        "schema_version": SCHEMA_VERSION,
        "model": model,
        "space": spec.search_space.to_dict(),
        "dataset": {"name": "synthetic"},
        "provenance": [{"command": "synthetic"}],
    }
    for i, config in enumerate(design_configs(spec.search_space, n_configs, "sobol", 0)):
        config = validate_config(model, config)
        for seed in range(seeds if later_seeds_for is None or i < later_seeds_for else 1):
            run, slower = run_of(i, seed) if run_of is not None else ({"command": "synthetic"}, 1.0)
            curve = []
            for e in range(1, epochs + 1):
                err = true_error(config, e, seed)
                seconds = slower * (0.1 + 0.001 * config["batch_size"])
                curve.append(EpochRecord(e, err * 2, err * 2, err, err + 0.01, seconds))
            task = Task(config_id(model, config), config, seed)
            table = task_table(spec, task, curve, {**meta, "provenance": [run]})
            store.write_part(model, task.config_id, seed, table)
    if compact:
        store.compact(model)
    return store


def rng_config(rng: np.random.Generator) -> dict:
    """A random softmax config."""
    return {"learning_rate": float(10 ** rng.uniform(-4, 0)), "batch_size": int(rng.integers(32, 512))}
