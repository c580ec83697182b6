"""How far to trust a model's surrogate: what `bench cache fidelity` measures between parsing and printing.

`plan` loads the caches and checks the options before any fit; `measure` cross-validates the
chosen regressor (or every one) per model and yields what to print, model by model.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cache.names import REGRESSORS, preferred_regressor
from hpo.catalog import check_space
from hpo.errors import ConfigError

if TYPE_CHECKING:
    from cache.lookup.fidelity import Fidelity

__all__ = ["FidelityPlan", "ModelFidelity", "measure", "plan"]


@dataclass(frozen=True)
class FidelityPlan:
    """The models' tables, the configs scored in each (inside --space), and the fits to make."""

    benches: dict[str, Any]
    within: dict[str, Any]
    regressor: str | None  # None: each model's preferred one; "all": every one, and the pick
    folds: int
    seed: int
    space: Any = None
    space_file: str | None = None

    @property
    def fits(self) -> int:
        """Surrogate fits `measure` makes (one per fold, regressor and model)."""
        return len(self.benches) * self.folds * (len(REGRESSORS) if self.regressor == "all" else 1)


@dataclass(frozen=True)
class ModelFidelity:
    """One model's held-out figures: a result per regressor, what bounds them, the pick."""

    model: str
    label: str
    results: list[Fidelity]
    limits: dict[str, float | None]
    picked: Fidelity | None = None


def plan(
    *,
    model: str | None,
    regressor: str | None,
    folds: int,
    seed: int,
    space_file: str | None,
    cache_dir: str | None,
) -> FidelityPlan:
    """The measurement the options ask for; a bad --folds or --space fails before any fit."""
    if space_file and not model:
        raise ConfigError("--space needs a MODEL: a search space belongs to one model")
    from cache.lookup.blackbox import BlackBox
    from cache.lookup.fidelity import inside, scored_configs
    from cache.store.tables import cached_models
    from hpo.space import SearchSpace

    space = check_space(model, SearchSpace.from_file(space_file)) if space_file else None
    benches = {name: BlackBox.load(name, "tabular", cache_dir) for name in cached_models(model, cache_dir)}
    within = {name: None if space is None else inside(space, bench) for name, bench in benches.items()}
    for name, bench in benches.items():
        scored_configs(bench, folds, within[name])
    return FidelityPlan(benches, within, regressor, folds, seed, space, space_file)


def measure(
    measurement: FidelityPlan,
    on_fold: Callable[..., Any] | None = None,
    on_model: Callable[[str], Any] | None = None,
) -> Iterator[ModelFidelity]:
    """Each model's cross-validated fidelity, in turn; `on_model` hears of each model before its
    fits, `on_fold` of every fit."""
    from cache.lookup.fidelity import bounds, compare_regressors, cross_validate, pick_regressor

    folds, seed, every = measurement.folds, measurement.seed, measurement.regressor == "all"
    for name, bench in measurement.benches.items():
        within = measurement.within[name]
        if on_model is not None:
            on_model(name)
        if every:
            results = compare_regressors(bench, folds, seed, within=within, on_fold=on_fold)
        else:
            chosen = measurement.regressor or preferred_regressor(name)
            results = [cross_validate(bench, chosen, folds, seed, within, on_fold=on_fold)]
        label = (
            name if measurement.space_file is None else f"{name} (configs inside {measurement.space_file})"
        )
        picked = pick_regressor(results) if every else None
        yield ModelFidelity(name, label, results, bounds(bench, within), picked)
