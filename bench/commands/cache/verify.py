"""`bench cache verify`: schema, metadata, duplicate keys and gaps of a model's curves."""

from __future__ import annotations

import click

from bench import options as opt

__all__ = ["verify"]


@click.command()
@click.argument("model", required=False)
@opt.cache_dir_option
@opt.json_option
def verify(model: str | None, cache_dir: str | None, as_json: bool) -> None:
    """Check schema, metadata, duplicate keys and gaps; exit 1 on the first problem."""
    from cache.store.tables import cached_models, model_stores, no_curves
    from cache.store.verify import verify_model

    for name in cached_models(model, cache_dir):
        stores = model_stores(name, cache_dir)
        if not stores:
            raise no_curves(name, cache_dir)
        for store in stores:
            counts = verify_model(store, name)
            if as_json:
                opt.echo_json({"model": name, "store": str(store.root), "ok": True, **counts})
            else:
                click.echo(
                    f"{name}: ok ({counts['configs']} configs, {counts['curves']} curves, "
                    f"{counts['rows']} rows) in {store.root}"
                )
