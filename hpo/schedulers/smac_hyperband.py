"""SMAC3's Hyperband (`MultiFidelityFacade`: a random forest proposing configs for Hyperband's
brackets) as a scheduler of the loop (optional extra `smac`).

SMAC asks for (config, budget) pairs; its budgets are epochs, rounded to whole ones (with
r_min=1, r_max=20 and eta=3 SMAC's rungs are 2.2, 6.7 and 20). A config SMAC asks for again at
a higher budget is its trial promoted: it continues from the epochs it trained, as a promoted
trial does under the built-in Hyperband. SMAC's successive halving keys its brackets by the
config it asked, so where a tabular replay's pool evaluated another config, SMAC is told the
evaluated config's result for its ask (what nearest mode would answer), and the promotions
of that ask continue the evaluated config's training. The objective is declared
deterministic, as for `smac-bo`.
"""

from __future__ import annotations

import tempfile
import warnings
from typing import Any

from hpo.formats.configspace import to_configspace
from hpo.schedulers.base import Job
from hpo.schedulers.outside import OutsideScheduler, plain
from hpo.searchers.pool import PooledSearcher
from hpo.searchers.relay import Relay
from hpo.searchers.smac_adapter import never_called, smac_module
from hpo.space import config_key


class SmacHyperband(OutsideScheduler):
    """SMAC3's MultiFidelityFacade (Hyperband) deciding configs and budgets for the loop."""

    def __init__(self, searcher: Relay | PooledSearcher, eta: float, r_min: int, r_max: int) -> None:
        super().__init__(searcher, eta, r_min, r_max)
        smac = smac_module()
        from smac.runhistory.dataclasses import TrialValue

        self._value = TrialValue
        configspace = to_configspace(self.space, seed=self.seed)
        self._output = tempfile.TemporaryDirectory(prefix="hpobench-smac-")
        facade = smac.MultiFidelityFacade
        scenario = smac.Scenario(
            configspace,
            deterministic=True,
            seed=self.seed,
            min_budget=r_min,
            max_budget=r_max,
            output_directory=self._output.name,
        )
        initial = self.relay.initial
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SMAC warns about the target function it never calls here
            self.smac = facade(
                scenario,
                never_called,
                overwrite=True,
                logging_level=40,
                intensifier=facade.get_intensifier(scenario, eta=eta),
                initial_design=facade.get_initial_design(
                    scenario,
                    additional_configs=[] if initial is None else [configspace_config(configspace, initial)],
                ),
            )
        # per config SMAC asked for: its trial, the epochs trained and the config evaluated
        self._trial_of: dict[tuple, tuple[int, int, dict[str, Any]]] = {}
        self._asks: dict[tuple[int, int], Any] = {}  # (trial id, epochs) -> SMAC's TrialInfo

    def next_job(self) -> Job | None:
        if not self.accepting_new_trials:
            return None
        info = self.smac.ask()
        epochs = min(max(round(info.budget), 1), self.r_max)
        asked = plain(info.config, self.space.names)
        known = self._trial_of.get(config_key(asked))
        if known is not None and known[1] < epochs:
            trial_id, trained, evaluated = known
            job = Job(trial_id, evaluated, epochs, trained)
        else:
            job = self.start_trial(asked, epochs)
            if job is None:
                return None
        self._trial_of[config_key(asked)] = (job.trial_id, epochs, job.config)
        self._asks[(job.trial_id, epochs)] = info
        return job

    def on_result(self, job: Job, error: float) -> None:
        self.tell(job, error)
        info = self._asks.pop((job.trial_id, job.epochs))
        self.smac.tell(info, self._value(cost=float(error)), save=False)


def configspace_config(configspace: Any, config: dict[str, Any]) -> Any:
    """`config` as a ConfigSpace Configuration of `configspace`."""
    from ConfigSpace import Configuration

    return Configuration(configspace, values=config)
