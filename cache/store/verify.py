"""Check a model's cache: readable files, known schema, its own rows, no duplicates, no gaps."""

from __future__ import annotations

from cache.store.schema import (
    KEY_COLUMNS,
    METRIC_COLUMNS,
    RUN_COLUMN,
    CacheError,
    arrow_schema,
    space_from_metadata,
)
from cache.store.shards import CurveStore

__all__ = ["verify_model"]


def verify_model(store: CurveStore, model: str) -> dict[str, int]:
    """Raise CacheError (one line) on the first problem; return counts when all is well."""
    manifest = store.manifest(model)
    if manifest is None:
        raise CacheError(f"{store.model_dir(model)}: no manifest.json")
    space = space_from_metadata(manifest["space"], model)
    undigested = [name for name, digest in store.listing(model).items() if digest is None]
    if undigested:
        raise CacheError(
            f"{store.model_dir(model) / 'shards.json'}: no SHA-256 for {undigested[0]} (a listing from before "
            "digests); rerun the collection's `bench collect` command to add them"
        )
    table, metas = store.read(model)
    if table is None:
        raise CacheError(f"{store.model_dir(model)}: manifest but no curves")
    for meta in metas:
        for key in ("dataset", "provenance", "space"):
            if key not in meta:
                raise CacheError(f"{store.model_dir(model)}: a file lacks the {key!r} metadata")
    expected = arrow_schema(space)
    if table.schema.names != expected.names:
        raise CacheError(
            f"{store.model_dir(model)}: columns {table.schema.names} differ from the schema {expected.names}"
        )
    if not table.schema.equals(expected):
        raise CacheError(
            f"{store.model_dir(model)}: column types differ from the schema: {table.schema} vs {expected}"
        )
    rows = table.to_pandas()
    duplicated = rows.duplicated(list(KEY_COLUMNS))
    if duplicated.any():
        key = rows.loc[duplicated, list(KEY_COLUMNS)].iloc[0].tolist()
        raise CacheError(
            f"{store.model_dir(model)}: duplicate row for (config_id, train_seed, epoch) = {key}"
        )
    curves = rows.groupby(["config_id", "train_seed"])["epoch"].agg(["min", "max", "count"])
    gaps = curves[(curves["min"] != 1) | (curves["max"] != curves["count"])]
    if len(gaps):
        (config, seed), row = gaps.index[0], gaps.iloc[0]
        raise CacheError(
            f"{store.model_dir(model)}: curve of config {config} seed {seed} has gaps "
            f"({row['count']} epochs between {row['min']} and {row['max']})"
        )
    lengths = {int(c["epochs"]) for c in manifest.get("collections", [])}
    wrong_length = curves[~curves["count"].isin(lengths)] if lengths else curves.iloc[:0]
    if len(wrong_length):
        (config, seed), row = wrong_length.index[0], wrong_length.iloc[0]
        raise CacheError(
            f"{store.model_dir(model)}: curve of config {config} seed {seed} has {row['count']} epochs; "
            f"the manifest collected {sorted(lengths)}"
        )
    # the value rules (statuses, epochs, errors in [0, 1], seconds) ran on every file as it was read
    params = set(rows.columns) - set(KEY_COLUMNS) - set(METRIC_COLUMNS) - {"status", RUN_COLUMN}
    if params != set(space.names):
        raise CacheError(
            f"{store.model_dir(model)}: hyperparameter columns {sorted(params)} differ from the space"
        )
    return {
        "configs": int(rows["config_id"].nunique()),
        "curves": len(curves),
        "rows": len(rows),
        "files": len(store.files(model)),
    }
