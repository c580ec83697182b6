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
intensification re-asks configs the table holds.
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

INSTALL = "SMAC3 is not installed; pip install 'hpobench[smac]' (or smac>=2.4)"


def smac_module() -> Any:
    """The smac module, or a ConfigError saying how to install it."""
    try:
        import smac
    except ImportError:
        raise ConfigError(INSTALL) from None
    return smac


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
        smac = smac_module()
        from smac.runhistory.dataclasses import TrialInfo, TrialValue
        from smac.runhistory.encoder import RunHistoryLogScaledEncoder
        from smac.runhistory.enumerations import StatusType

        self._trial_info, self._trial_value, self._status = TrialInfo, TrialValue, StatusType
        self.configspace = to_configspace(space, seed=int(rng.integers(2**31 - 1)))
        self._output = tempfile.TemporaryDirectory(prefix="hpobench-smac-")
        facade = smac.HyperparameterOptimizationFacade
        scenario = smac.Scenario(
            self.configspace,
            deterministic=True,
            seed=int(rng.integers(2**31 - 1)),
            output_directory=self._output.name,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SMAC warns about the target function it never calls here
            self.smac = facade(
                scenario,
                never_called,
                overwrite=True,
                logging_level=40,
                initial_design=facade.get_initial_design(scenario, n_configs=n_initial),
                # the facade's own encoder, on successful trials only: a replaced ask, told as
                # crashed, is not a measurement (a diverged training is a success at the worst error)
                runhistory_encoder=RunHistoryLogScaledEncoder(
                    scenario, considered_states=[StatusType.SUCCESS]
                ),
            )
        self._asked: dict[int, Any] = {}  # trial id -> SMAC's TrialInfo for it, not yet told

    def propose(self, trial_id: int) -> dict[str, Any]:
        info = self.smac.ask()
        self._asked[trial_id] = info
        return {name: _plain(info.config[name]) for name in self.space.names}

    def observe(self, observation: Observation) -> None:
        super().observe(observation)
        info = self._asked.pop(observation.trial_id, None)
        if info is None:
            return  # a promotion's result, or the initial config: SMAC saw this trial already
        value = self._trial_value(cost=float(observation.error))
        if observation.replaced:
            self.smac.tell(
                info, self._trial_value(cost=float("inf"), status=self._status.CRASHED), save=False
            )
            from ConfigSpace import Configuration

            evaluated = Configuration(
                self.configspace, values=dict(observation.config), origin="hpobench pool"
            )
            info = self._trial_info(evaluated, seed=info.seed)
        self.smac.tell(info, value, save=False)


def never_called(config: Any, seed: int = 0, budget: float | None = None) -> float:
    raise RuntimeError("SMAC runs through ask/tell here; its target function is not called")


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value
