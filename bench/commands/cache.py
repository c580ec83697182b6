"""`bench cache info | verify | fidelity`: what is in the curve cache and how far to trust it."""

from __future__ import annotations

import math

import click
import numpy as np

from bench.options import cache_dir_option, progress_bar, quiet_option, space_option
from cache.benchmark import Benchmark
from cache.fidelity import (
    BEST_OF,
    MAX_OPTIMUM_BIAS,
    Fidelity,
    at_chance,
    compare_regressors,
    cross_validate,
    noise_ceiling,
    pick_regressor,
    scored_configs,
    seed_agreement,
)
from cache.schema import RUN_COLUMN
from cache.store import provenance
from cache.surrogate import REGRESSORS, preferred_regressor
from cache.tables import available_models, model_stores, no_curves, read_model
from cache.timing import reference_run
from cache.verify import verify_model
from hpo.errors import ConfigError
from hpo.models import check_space, get_model
from hpo.space import SearchSpace

json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")


@click.group()
def cache() -> None:
    """Inspect, verify and measure the learning-curve cache."""


def _models(model: str | None, cache_dir: str | None) -> list[str]:
    if model:
        get_model(model)  # an unknown name is a typo, not a missing collection: list the names
    models = [model] if model else available_models(cache_dir)
    if not models:
        raise no_curves(None, cache_dir)
    return models


def model_info(model: str, cache_dir: str | None) -> dict:
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


@cache.command()
@click.argument("model", required=False)
@cache_dir_option
@json_option
def info(model: str | None, cache_dir: str | None, as_json: bool) -> None:
    """Configs, seeds, epochs, rows, the best config and its curve, size on disk."""
    from bench.cli import echo_json

    for name in _models(model, cache_dir):
        data = model_info(name, cache_dir)
        if as_json:
            echo_json(data)
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


@cache.command()
@click.argument("model", required=False)
@cache_dir_option
@json_option
def verify(model: str | None, cache_dir: str | None, as_json: bool) -> None:
    """Check schema, metadata, duplicate keys and gaps; exit 1 on the first problem."""
    from bench.cli import echo_json

    for name in _models(model, cache_dir):
        stores = model_stores(name, cache_dir)
        if not stores:
            raise no_curves(name, cache_dir)
        for store in stores:
            counts = verify_model(store, name)
            if as_json:
                echo_json({"model": name, "store": str(store.root), "ok": True, **counts})
            else:
                click.echo(
                    f"{name}: ok ({counts['configs']} configs, {counts['curves']} curves, {counts['rows']} rows) in {store.root}"
                )


@cache.command()
@click.argument("model", required=False)
@click.option(
    "--regressor",
    type=click.Choice([*REGRESSORS, "all"]),
    default=None,
    help="Surrogate regressor (default: the model's preferred one; 'all' compares them).",
)
@click.option(
    "--folds",
    type=click.IntRange(min=2),
    default=5,
    show_default=True,
    help="Cross-validation folds over configs.",
)
@click.option("--seed", type=int, default=0, show_default=True)
@space_option
@cache_dir_option
@json_option
@quiet_option
def fidelity(
    model: str | None,
    regressor: str,
    folds: int,
    seed: int,
    space_file: str | None,
    cache_dir: str | None,
    as_json: bool,
    quiet: bool,
) -> None:
    """Held-out Spearman, Kendall, MAE and regret of the surrogate's final validation error.

    With --space, only the collected configs inside that space are held out and scored (the
    region a replay with the same --space searches); the fits still learn from every config.
    """
    from bench.cli import echo_json

    if space_file and not model:
        raise ConfigError("--space needs a MODEL: a search space belongs to one model")
    space = check_space(model, SearchSpace.from_file(space_file)) if space_file else None
    benches = {name: Benchmark.load(name, "tabular", cache_dir) for name in _models(model, cache_dir)}
    inside = {name: None if space is None else _inside(space, bench) for name, bench in benches.items()}
    for name, bench in benches.items():  # bad --folds: one line before any bar is drawn
        scored_configs(bench, folds, inside[name])
    fits = len(benches) * folds * (len(REGRESSORS) if regressor == "all" else 1)
    with progress_bar(quiet, total=fits, unit="fit", desc="fidelity") as bar:
        for name, bench in benches.items():
            within = inside[name]
            bar.set_postfix_str(name)
            if regressor == "all":
                results = compare_regressors(bench, folds, seed, within=within, on_fold=bar.update)
            else:
                chosen = regressor or preferred_regressor(name)
                results = [cross_validate(bench, chosen, folds, seed, within, on_fold=bar.update)]
            bounds = _bounds(bench, within)
            label = name if space_file is None else f"{name} (configs inside {space_file})"
            picked = pick_regressor(results) if regressor == "all" else None
            bar.clear()  # the figures go to stdout between redraws of the bar on stderr
            for result in results:
                if as_json:
                    extra = {} if space is None else {"space": space.to_dict()}
                    if regressor == "all":
                        extra["picked"] = result is picked
                    echo_json({"model": name, **result.to_dict(), **bounds, **extra})
                else:
                    click.echo(_fidelity_line(label, result, folds, bounds))
            if regressor == "all" and not as_json:
                click.echo(_pick_line(name, picked))
            bar.refresh()


def _pick_line(name: str, picked: Fidelity | None) -> str:
    """Which regressor the rule picks, beside the one replays use."""
    rule = f"the best Spearman with a best-of-{BEST_OF} bias within +-{MAX_OPTIMUM_BIAS}"
    choice = picked.regressor if picked else "none qualifies"
    return f"{name}: picked by {rule}: {choice}; replays use {preferred_regressor(name)}"


def _bounds(bench: Benchmark, within: np.ndarray | None) -> dict[str, float | None]:
    """Seed-to-seed agreement and noise ceilings of the scored configs, all and at chance."""
    scored = np.ones(len(bench.configs), bool) if within is None else within
    chance = at_chance(bench) & scored
    return {
        "seed_agreement": seed_agreement(bench, scored),
        "seed_agreement_at_chance": seed_agreement(bench, chance),
        "noise_ceiling": noise_ceiling(bench, scored),
        "noise_ceiling_learning": noise_ceiling(bench, scored & ~chance),
    }


def _inside(space: SearchSpace, bench: Benchmark) -> np.ndarray:
    """Boolean mask of `bench`'s collected configs that lie inside `space`."""
    return np.array([space.contains(config) for config in bench.configs], dtype=bool)


def _known(value: float | None) -> bool:
    return value is not None and not math.isnan(value)


def _fidelity_line(name: str, result: Fidelity, folds: int, bounds: dict[str, float | None]) -> str:
    """One model's fidelity in a sentence: the figures, then what bounds them."""
    line = (
        f"{name} {result.regressor}: Spearman {result.spearman:.3f}, Kendall {result.kendall:.3f}, "
        f"MAE {result.mae:.4f}, regret {result.regret:.4f}, best-of-{BEST_OF} bias {result.optimum_bias:+.4f} "
        f"({result.n_configs} configs, {folds}-fold"
    )
    if _known(bounds["seed_agreement"]):
        line += (
            f"; vs one training {result.spearman_one_seed:.3f}, seed-to-seed {bounds['seed_agreement']:.3f}, "
            f"noise ceiling {bounds['noise_ceiling']:.3f}"
        )
    line += ")"
    if result.at_chance:
        agreement = bounds["seed_agreement_at_chance"]
        among = f", seed-to-seed {agreement:.2f} among them" if _known(agreement) else ""
        line += f"; {result.at_chance} configs at chance level{among}"
        if result.spearman_learning is not None:
            line += f"; Spearman over the other {result.n_configs - result.at_chance}: {result.spearman_learning:.3f}"
            if _known(bounds["noise_ceiling_learning"]):
                line += f" (noise ceiling {bounds['noise_ceiling_learning']:.3f})"
    return line
