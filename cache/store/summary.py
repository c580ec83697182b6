"""What one model's cache holds: counts, the best config and its curve, size on disk, provenance."""

from __future__ import annotations

from typing import Any

from cache.store.schema import RUN_COLUMN
from cache.store.shards import provenance
from cache.store.tables import model_stores, read_model
from cache.store.timing import reference_run

__all__ = ["model_info"]


def model_info(model: str, cache_dir: str | None) -> dict[str, Any]:
    """Counts, best config and its curve, size on disk, provenance of one model's cache."""
    rows, metas, space = read_model(model, cache_dir)
    final = rows[rows["epoch"] == rows["epoch"].max()]
    means = final.groupby("config_id")[["val_error", "test_error"]].mean()
    best_id = means["val_error"].idxmin()
    best_rows = rows[(rows["config_id"] == best_id)]
    config = {n: best_rows.iloc[0][n].item() for n in space.names}
    curve = best_rows.groupby("epoch")["val_error"].mean()
    runs = provenance(metas)
    commands = sorted({r["command"] for r in runs if "command" in r})
    trainings = rows.drop_duplicates(["config_id", "train_seed"])
    clock = reference_run(trainings[RUN_COLUMN].to_numpy())
    return {
        "model": model,
        "configs": int(rows["config_id"].nunique()),
        "seeds": sorted(int(s) for s in rows["train_seed"].unique()),
        "curves": int(rows.groupby(["config_id", "train_seed"]).ngroups),
        "epochs": int(rows["epoch"].max()),
        "rows": len(rows),
        "diverged_curves": int(
            rows[rows["status"] == "diverged"].groupby(["config_id", "train_seed"]).ngroups
        ),
        "best": {
            "config_id": best_id,
            "config": config,
            "val_error": float(means.loc[best_id, "val_error"]),
            "test_error": float(means.loc[best_id, "test_error"]),
            "curve": [round(float(v), 5) for v in curve.to_numpy()],
        },
        "train_cpu_seconds": float(rows["epoch_seconds"].sum()),
        "size_bytes": sum(s.size_bytes(model) for s in model_stores(model, cache_dir)),
        "stores": [str(s.root) for s in model_stores(model, cache_dir)],
        "commands": commands,
        "runs": len(runs),
        "clock": runs[clock] if clock >= 0 else None,
    }
