"""`bench cache info | verify | fidelity`: what is in the curve cache and how far to trust it."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import click

from bench.options import cache_dir_option, echo_json, progress_bar, quiet_option, space_option
from cache.names import REGRESSORS, preferred_regressor
from hpo.catalog import check_space, model_entry
from hpo.errors import ConfigError

if TYPE_CHECKING:
    from cache.fidelity import Fidelity

__all__ = ["cache", "fidelity", "info", "verify"]

# each command loads the cache's stack (pandas, pyarrow, SciPy, scikit-learn) once its options are read

json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")


@click.group()
def cache() -> None:
    """Inspect, verify and measure the learning-curve cache."""


def _models(model: str | None, cache_dir: str | None) -> list[str]:
    from cache.tables import available_models, no_curves

    if model:
        model_entry(model)  # an unknown name is a typo, not a missing collection: list the names
    models = [model] if model else available_models(cache_dir)
    if not models:
        raise no_curves(None, cache_dir)
    return models


@cache.command()
@click.argument("model", required=False)
@cache_dir_option
@json_option
def info(model: str | None, cache_dir: str | None, as_json: bool) -> None:
    """Configs, seeds, epochs, rows, the best config and its curve, size on disk."""
    from cache.summary import model_info

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
    from cache.tables import model_stores, no_curves
    from cache.verify import verify_model

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
    if space_file and not model:
        raise ConfigError("--space needs a MODEL: a search space belongs to one model")
    from cache.benchmark import Benchmark
    from cache.fidelity import (
        bounds,
        compare_regressors,
        cross_validate,
        inside,
        pick_regressor,
        scored_configs,
    )
    from hpo.space import SearchSpace

    space = check_space(model, SearchSpace.from_file(space_file)) if space_file else None
    benches = {name: Benchmark.load(name, "tabular", cache_dir) for name in _models(model, cache_dir)}
    within_space = {name: None if space is None else inside(space, bench) for name, bench in benches.items()}
    for name, bench in benches.items():  # bad --folds: one line before any bar is drawn
        scored_configs(bench, folds, within_space[name])
    fits = len(benches) * folds * (len(REGRESSORS) if regressor == "all" else 1)
    with progress_bar(quiet, total=fits, unit="fit", desc="fidelity") as bar:
        for name, bench in benches.items():
            within = within_space[name]
            bar.set_postfix_str(name)
            if regressor == "all":
                results = compare_regressors(bench, folds, seed, within=within, on_fold=bar.update)
            else:
                chosen = regressor or preferred_regressor(name)
                results = [cross_validate(bench, chosen, folds, seed, within, on_fold=bar.update)]
            limits = bounds(bench, within)
            label = name if space_file is None else f"{name} (configs inside {space_file})"
            picked = pick_regressor(results) if regressor == "all" else None
            bar.clear()  # the figures go to stdout between redraws of the bar on stderr
            for result in results:
                if as_json:
                    extra = {} if space is None else {"space": space.to_dict()}
                    if regressor == "all":
                        extra["picked"] = result is picked
                    echo_json({"model": name, **result.to_dict(), **limits, **extra})
                else:
                    click.echo(_fidelity_line(label, result, folds, limits))
            if regressor == "all" and not as_json:
                click.echo(_pick_line(name, picked))
            bar.refresh()


def _pick_line(name: str, picked: Fidelity | None) -> str:
    """Which regressor the rule picks, beside the one replays use."""
    from cache.fidelity import BEST_OF, MAX_OPTIMUM_BIAS

    rule = f"the best Spearman with a best-of-{BEST_OF} bias within +-{MAX_OPTIMUM_BIAS}"
    choice = picked.regressor if picked else "none qualifies"
    return f"{name}: picked by {rule}: {choice}; replays use {preferred_regressor(name)}"


def _known(value: float | None) -> bool:
    return value is not None and not math.isnan(value)


def _fidelity_line(name: str, result: Fidelity, folds: int, bounds: dict[str, float | None]) -> str:
    """One model's fidelity in a sentence: the figures, then what bounds them."""
    from cache.fidelity import BEST_OF

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
