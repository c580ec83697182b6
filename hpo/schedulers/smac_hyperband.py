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

from typing import Any

from hpo.schedulers.base import Job
from hpo.schedulers.outside import OutsideScheduler, plain
from hpo.searchers.pool import PooledSearcher
from hpo.searchers.relay import Relay
from hpo.searchers.smac_adapter import smac_facade
from hpo.space import config_key

__all__ = ["SmacHyperband"]


class SmacHyperband(OutsideScheduler):
    """SMAC3's MultiFidelityFacade (Hyperband) deciding configs and budgets for the loop."""

    def __init__(self, searcher: Relay | PooledSearcher, eta: float, r_min: int, r_max: int) -> None:
        super().__init__(searcher, eta, r_min, r_max)
        self.smac, _, self._output = smac_facade(
            "MultiFidelityFacade",
            self.space,
            self.seed,
            self.relay.initial,
            scenario={"min_budget": r_min, "max_budget": r_max},
            intensifier={"eta": eta},
        )
        from smac.runhistory.dataclasses import TrialValue

        self._value = TrialValue
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
