"""A model's benchmark as a CARP-S objective function and task (optional extra `carps`).

    from cache.frameworks.carps import make_task
    from carps.optimizers.random_search import RandomSearchOptimizer

    task = make_task("lenet", mode="tabular", n_trials=50)
    incumbent = RandomSearchOptimizer(task).run()          # any CARP-S optimizer takes the task

The objective function is the black box: the validation error after the trial's budget in
epochs (the maximum fidelity without one), its cost the seconds of that training, recorded
as CARP-S's virtual time, so a time budget counts simulated training time. CARP-S's seeds are
its own integers; the black box draws one of the config's cached training seeds from its own
generator (`open_benchmark(..., seed=)`), which keeps a run reproducible. `f_min` is the best
worth of the cache, so CARP-S's regret is the comparison report's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cache.lookup.blackbox import BlackBox, open_benchmark
from hpo.errors import ConfigError

__all__ = ["INSTALL", "make_task", "objective_function"]

INSTALL = "CARP-S is not installed; pip install 'hpobench[carps]' (or carps>=1.1)"


def _carps() -> tuple[Any, Any, Any]:
    try:
        from carps.objective_functions.objective_function import ObjectiveFunction
        from carps.utils import task
        from carps.utils.trials import TrialValue
    except ImportError:
        raise ConfigError(INSTALL) from None
    return ObjectiveFunction, task, TrialValue


def objective_function(bench: BlackBox) -> Any:
    """`bench` as a `carps.objective_functions.ObjectiveFunction`."""
    base, _, trial_value = _carps()

    class HpobenchObjectiveFunction(base):  # type: ignore[misc, valid-type]
        """One hpobench model's benchmark, answered from its curve cache."""

        def __init__(self) -> None:
            super().__init__(loggers=None)
            self.bench = bench
            self._configspace = bench.get_configuration_space()

        @property
        def configspace(self) -> Any:
            return self._configspace

        @property
        def f_min(self) -> float:
            return bench.best_value

        def _evaluate(self, trial_info: Any) -> Any:
            epochs = trial_info.budget if trial_info.budget is not None else None
            result = bench.evaluate(dict(trial_info.config), epochs=epochs)
            seconds = result["cost_seconds"]
            info = {k: result[k] for k in ("test_error", "status", "epochs", "seed", "config", "exact")}
            return trial_value(
                cost=result["val_error"], time=seconds, virtual_time=seconds, additional_info=info
            )

    return HpobenchObjectiveFunction()


def make_task(
    model: str,
    mode: str = "tabular",
    n_trials: int | None = 100,
    time_budget_minutes: float | None = None,
    multi_fidelity: bool = False,
    n_workers: int = 1,
    cache_dir: str | Path | None = None,
    seed: int = 0,
) -> Any:
    """A CARP-S `Task` of `model`'s benchmark: single-fidelity at the maximum epochs, or
    multi-fidelity over epochs 1..max (`multi_fidelity`)."""
    bench = open_benchmark(model, mode, cache_dir, seed=seed)
    _, task, _ = _carps()
    space = bench.space
    kinds = [p.kind for p in space.parameters]
    fidelity = (
        task.FidelitySpace(True, "epochs", 1, bench.max_fidelity) if multi_fidelity else task.FidelitySpace()
    )
    return task.Task(
        name=f"hpobench/{model}/{mode}",
        objective_function=objective_function(bench),
        input_space=task.InputSpace(
            configuration_space=bench.get_configuration_space(seed), fidelity_space=fidelity
        ),
        output_space=task.OutputSpace(n_objectives=1, objectives=("val_error",)),
        optimization_resources=task.OptimizationResources(
            n_trials=n_trials, time_budget=time_budget_minutes, n_workers=n_workers
        ),
        metadata=task.TaskMetadata(
            dimensions=space.dim,
            search_space_n_categoricals=kinds.count("choice"),
            search_space_n_ordinals=0,
            search_space_n_integers=sum(p.is_int for p in space.parameters),
            search_space_n_floats=sum(k in ("uniform", "loguniform") for k in kinds),
            search_space_has_conditionals=False,
            search_space_has_forbiddens=False,
            search_space_has_priors=False,
            domain="ML",
            objective_function_approximation="surrogate" if mode == "surrogate" else "tabular",
            has_virtual_time=True,
            deterministic=False,
        ),
        seed=seed,
    )
