"""`bench cache info`: configs, seeds, epochs, the best config, the clock of a model's curves."""

from __future__ import annotations

import click

from bench import options as opt

__all__ = ["info"]


@click.command()
@click.argument("model", required=False)
@opt.cache_dir_option
@opt.json_option
def info(model: str | None, cache_dir: str | None, as_json: bool) -> None:
    """Configs, seeds, epochs, rows, the best config and its curve, size on disk."""
    from cache.store.summary import model_info
    from cache.store.tables import cached_models

    for name in cached_models(model, cache_dir):
        data = model_info(name, cache_dir)
        if as_json:
            opt.echo_json(data)
            continue
        best = data["best"]
        full = data["configs"] * len(data["seeds"])
        partial = "" if data["curves"] == full else f", {data['curves']} of {full} curves collected"
        click.echo(
            f"{name}: {data['configs']} configs x {len(data['seeds'])} seeds x {data['epochs']} epochs = "
            f"{data['rows']} rows ({data['diverged_curves']} diverged curves{partial}), "
            f"{data['size_bytes'] / 1e6:.2f} MB, {data['train_cpu_seconds'] / 3600:.2f} h of training"
        )
        settings = ", ".join(
            f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in best["config"].items()
        )
        click.echo(
            f"  best: {settings}: validation error {best['val_error']:.4f}, test error {best['test_error']:.4f}"
        )
        click.echo("  its curve: " + " ".join(f"{v:.3f}" for v in best["curve"]))
        for command in data["commands"]:
            click.echo(f"  made by: {command}")
        if data["runs"] > 1 and data["clock"] is not None:
            # a run told apart from others only as "one of" them (rows migrated from one commit)
            candidates = data["clock"].get("one_of", [data["clock"]])
            described = "; or ".join(
                " ".join(str(c[k]) for k in ("cpu", "cpu_capability", "device") if c.get(k))
                + f", {c.get('threads', '?')} thread(s) a worker, commit {str(c.get('commit', '?'))[:7]}: "
                + c.get("command", "?")
                for c in candidates
            )
            click.echo(
                f"  timed by {data['runs']} runs; replays put every training's seconds on the clock of the run "
                f"that timed the most ({described})"
            )
