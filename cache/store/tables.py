"""Read one model's curves from one or several stores into a single DataFrame."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cache.store.locations import stores
from cache.store.schema import KEY_COLUMNS, RUN_COLUMN, UNKNOWN_RUN, CacheError, space_from_metadata
from cache.store.shards import CurveStore, provenance, run_key
from hpo.space import SearchSpace

__all__ = ["available_models", "cached_models", "model_stores", "no_curves", "read_model"]


def read_model(
    model: str, cache_dir: str | Path | None = None
) -> tuple[pd.DataFrame, list[dict[str, Any]], SearchSpace]:
    """Rows of `model` from the stores (first store wins on duplicate keys), their metadata, and the space.

    The rows' `run` indexes `provenance(metas)` across all the stores.
    """
    frames, metas, space = [], [], None
    for store in stores(cache_dir):
        manifest = store.manifest(model)
        if manifest is None:
            continue
        table, file_metas = store.read(model)
        if table is None:
            continue
        frame = table.to_pandas()
        # renumber the store's runs into the runs of every store read so far
        everyone = [run_key(r) for r in provenance([*metas, *file_metas])]
        lookup = np.array([*(everyone.index(run_key(r)) for r in provenance(file_metas)), UNKNOWN_RUN])
        frame[RUN_COLUMN] = lookup[frame[RUN_COLUMN].to_numpy()].astype(np.int32)
        frames.append(frame)
        metas.extend(file_metas)
        space = space or space_from_metadata(manifest["space"], model)
    if not frames:
        raise no_curves(model, cache_dir)
    rows = pd.concat(frames, ignore_index=True).drop_duplicates(subset=list(KEY_COLUMNS), keep="first")
    return rows.sort_values(list(KEY_COLUMNS), kind="stable").reset_index(drop=True), metas, space


def no_curves(model: str | None, cache_dir: str | Path | None = None) -> CacheError:
    """The error for no curves where we looked: of any model, or of `model` with how to collect them."""
    where = cache_dir or "the shipped cache or the user cache"
    if model is None:
        return CacheError(f"no curves in {where}")
    return CacheError(f"no curves for model {model!r} in {where}; run `bench collect --model {model}` first")


def available_models(cache_dir: str | Path | None = None) -> list[str]:
    """Models with a manifest in any of the stores."""
    return sorted({m for store in stores(cache_dir) for m in store.models()})


def model_stores(model: str, cache_dir: str | Path | None = None) -> list[CurveStore]:
    """The stores that hold `model`."""
    return [s for s in stores(cache_dir) if s.manifest(model) is not None]


def cached_models(model: str | None = None, cache_dir: str | Path | None = None) -> list[str]:
    """`[model]` (an unknown name is a typo: the error lists the names), else every catalog model
    with curves, in the catalog's order (the order commands list and compare them in)."""
    from hpo.catalog import CATALOG, model_entry

    if model:
        model_entry(model)
    available = available_models(cache_dir)
    models = [model] if model else [m for m in CATALOG if m in available]
    if not models:
        raise no_curves(None, cache_dir)
    return models
