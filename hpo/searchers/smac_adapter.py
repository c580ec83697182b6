"""SMAC3's Bayesian optimisation as a searcher (optional extra `smac`), through its ask/tell interface.

The facade is `HyperparameterOptimizationFacade` (a random forest over the configs, expected
improvement, local and random search for its maximum, and intensification: a promising
config is evaluated again before it becomes SMAC's incumbent), with SMAC's defaults except
two. The objective is declared deterministic, so SMAC does not spend trials training its
incumbent again on other seeds: the comparison scores every algorithm's incumbent by what its
config is worth (its seed mean), so those trainings would only cost budget. And the Sobol
initial design has 10 configs (`n_initial`), as Optuna's samplers start, where SMAC's own rule
(10 per hyperparameter, up to a quarter of the trial budget) is sized for hundreds of trials
and would leave its model no trial at the budgets compared here. Its seed comes from the searcher's stream; it writes nothing (its output directory is
a temporary one, removed with the searcher).

Each ask is kept under its trial id. Where the candidate pool evaluated another config than
the one asked (tabular mode), SMAC is told the evaluated config with its result, as a trial of
its own, and the ask is told as a failure no model sees (SMAC's random forest is trained on
successful trials only), so the forest learns what was really measured and its
intensification re-asks configs the table holds. The initial config, proposed first by the
base class, is told the same way.
"""

from __future__ import annotations

import tempfile
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np

from hpo.errors import ConfigError
from hpo.formats.configspace import to_configspace
from hpo.searchers.base import Observation, Searcher
from hpo.space import SearchSpace
from hpo.validation import check_int

__all__ = ["INSTALL", "SmacSearcher", "smac_facade", "smac_module"]

INSTALL = "SMAC3 is not installed; pip install 'hpobench[smac]' (or smac>=2.4)"


def smac_module() -> Any:
    """The smac module, or a ConfigError saying how to install it."""
    try:
        import smac
    except ImportError:
        raise ConfigError(INSTALL) from None
    return smac


def smac_facade(
    facade_name: str,
    space: SearchSpace,
    seed: int,
    initial_config: Mapping[str, Any] | None = None,
    scenario: Mapping[str, Any] | None = None,
    design: Mapping[str, Any] | None = None,
    intensifier: Mapping[str, Any] | None = None,
    successful_only: bool = False,
) -> tuple[Any, Any, tempfile.TemporaryDirectory]:
    """SMAC's facade `facade_name` over `space` for ask/tell: seeded with `seed`, the objective
    declared deterministic, `initial_config` (if any) first in its initial design, writing
    nothing the caller keeps (its output directory is the temporary one returned, removed with
    it). `successful_only` trains its model on successful trials only. Returns the facade, its
    ConfigurationSpace and the directory."""
    smac = smac_module()
    from ConfigSpace import Configuration
    from smac.runhistory.encoder import RunHistoryLogScaledEncoder
    from smac.runhistory.enumerations import StatusType

    configspace = to_configspace(space, seed=seed)
    output = tempfile.TemporaryDirectory(prefix="hpobench-smac-")
    facade = getattr(smac, facade_name)
    setting = smac.Scenario(
        configspace, deterministic=True, seed=seed, output_directory=output.name, **dict(scenario or {})
    )
    first = [] if initial_config is None else [Configuration(configspace, values=dict(initial_config))]
    options: dict[str, Any] = {
        "initial_design": facade.get_initial_design(setting, additional_configs=first, **dict(design or {}))
    }
    if intensifier is not None:
        options["intensifier"] = facade.get_intensifier(setting, **dict(intensifier))
    if successful_only:  # the facade's own encoder, on successful trials only
        options["runhistory_encoder"] = RunHistoryLogScaledEncoder(
            setting, considered_states=[StatusType.SUCCESS]
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SMAC warns about the target function it never calls here
        made = facade(setting, never_called, overwrite=True, logging_level=40, **options)
    _order_local_search_starts(made)
    return made, configspace, output


def _order_local_search_starts(facade: Any) -> None:
    """SMAC's local search starts from `list(set(configs))`, and ConfigSpace hashes a
    Configuration by its repr, a string, whose hash Python salts per process: the starts, and
    so SMAC's proposals, would differ between two processes with the same seed. They are
    sorted by that repr here, which is the same in every process."""
    search = facade._acquisition_maximizer._local_search
    starts = search._get_initial_points
    search._get_initial_points = lambda *args, **kwargs: sorted(starts(*args, **kwargs), key=repr)


class SmacSearcher(Searcher):
    """SMAC3's BO facade behind the project's searcher interface."""

    def __init__(
        self,
        space: SearchSpace,
        rng: np.random.Generator,
        initial_config: Mapping[str, Any] | None = None,
        n_initial: int = 10,
    ) -> None:
        super().__init__(space, rng, initial_config)
        check_int("smac-bo option n_initial", n_initial)
        # a replaced ask is told as crashed: not a measurement, so the model sees successes only
        # (a diverged training is a success at the worst error)
        self.smac, self.configspace, self._output = smac_facade(
            "HyperparameterOptimizationFacade",
            space,
            int(rng.integers(2**31 - 1)),
            design={"n_configs": n_initial},
            successful_only=True,
        )
        from smac.runhistory.dataclasses import TrialInfo, TrialValue
        from smac.runhistory.enumerations import StatusType

        self._trial_info, self._trial_value, self._status = TrialInfo, TrialValue, StatusType
        self._asked: dict[int, Any] = {}  # trial id -> SMAC's TrialInfo for it, not yet told
        self._told: set[int] = set()  # trials whose first result SMAC has

    def propose(self, trial_id: int) -> dict[str, Any]:
        info = self.smac.ask()
        self._asked[trial_id] = info
        return {name: _plain(info.config[name]) for name in self.space.names}

    def observe(self, observation: Observation) -> None:
        super().observe(observation)
        if observation.trial_id in self._told:
            return  # a promotion's later result: SMAC was told this trial's first
        self._told.add(observation.trial_id)
        info = self._asked.pop(observation.trial_id, None)
        if info is not None and observation.replaced:
            crashed = self._trial_value(cost=float("inf"), status=self._status.CRASHED)
            self.smac.tell(info, crashed, save=False)
        if (
            info is None or observation.replaced
        ):  # the initial config, or the pool's: told as trials of their own
            from ConfigSpace import Configuration

            evaluated = Configuration(self.configspace, values=dict(observation.config), origin="hpobench")
            info = self._trial_info(evaluated, seed=0 if info is None else info.seed)
        self.smac.tell(info, self._trial_value(cost=float(observation.error)), save=False)


def never_called(config: Any, seed: int = 0, budget: float | None = None) -> float:
    raise RuntimeError("SMAC runs through ask/tell here; its target function is not called")


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value
