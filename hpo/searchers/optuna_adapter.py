"""Optuna's samplers as searchers (optional extra `optuna`): TPE, GP, CMA-ES and QMC through ask/tell.

The sampler is seeded from the replay's (or run's) searcher stream. Pending trials are left
RUNNING in the study, which is how Optuna handles parallel workers (TPE's constant liar, the
GP's and CMA-ES's own treatment of running trials).

Each ask is kept under its trial id. In tabular mode the candidate pool may evaluate another
config than the one asked (`Observation.replaced`): the asked trial is then closed as failed
and the result is added as a completed trial at the evaluated config's own values, so the
sampler learns what was really evaluated (CMA-ES, which learns from its own generations only,
is told the value at its ask instead). Inside successive halving or ASHA a trial is told its
first result (the rung it started at); later rungs do not change what the sampler saw.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np

from hpo.errors import ConfigError
from hpo.formats.optuna import optuna_module, to_optuna
from hpo.searchers.base import Observation, Searcher
from hpo.space import SearchSpace

__all__ = ["OptunaSearcher"]

SAMPLERS = ("tpe", "gp", "cmaes", "qmc")


def _sampler(optuna: Any, name: str, seed: int) -> Any:
    samplers = optuna.samplers
    if name == "tpe":
        return samplers.TPESampler(seed=seed, constant_liar=True)
    if name == "gp":
        return samplers.GPSampler(seed=seed)
    if name == "cmaes":
        return samplers.CmaEsSampler(seed=seed, warn_independent_sampling=False)
    if name == "qmc":
        return samplers.QMCSampler(seed=seed, warn_independent_sampling=False)
    raise ConfigError(f"unknown Optuna sampler {name!r}; accepted: {', '.join(SAMPLERS)}")


class OptunaSearcher(Searcher):
    """Any of Optuna's samplers behind the project's searcher interface."""

    def __init__(
        self,
        space: SearchSpace,
        rng: np.random.Generator,
        initial_config: Mapping[str, Any] | None = None,
        sampler: str = "tpe",
    ) -> None:
        super().__init__(space, rng, initial_config)
        self.optuna = optuna_module()
        self.learns = sampler != "qmc"  # a Sobol sequence ignores the results
        # CMA-ES learns only from the trials of its own generations (an added trial has none), so
        # where the pool replaced its ask it is told the evaluated config's value at the ask, as
        # nearest mode would answer; TPE and the GP learn from any trial, so they get the
        # evaluated config itself
        self._tell_the_ask = sampler == "cmaes"
        seed = int(rng.integers(2**31 - 1))
        with warnings.catch_warnings():
            # QMC and GP are marked experimental in Optuna: a warning per replay says nothing new
            warnings.simplefilter("ignore", self.optuna.exceptions.ExperimentalWarning)
            self.study = self.optuna.create_study(
                direction="minimize", sampler=_sampler(self.optuna, sampler, seed)
            )
        self.distributions = to_optuna(space)
        self._asked: dict[int, Any] = {}  # trial id -> the Optuna trial asked for it, not yet told

    def propose(self, trial_id: int) -> dict[str, Any]:
        trial = self.study.ask(self.distributions)
        self._asked[trial_id] = trial
        return {name: trial.params[name] for name in self.space.names}

    def observe(self, observation: Observation) -> None:
        super().observe(observation)
        trial = self._asked.pop(observation.trial_id, None)
        if trial is None:
            return  # a promotion's result, or the initial config: the sampler saw this trial already
        error = observation.error
        value = float(error) if np.isfinite(error) else None
        if not observation.replaced or self._tell_the_ask:
            if value is None:
                self.study.tell(trial, state=self.optuna.trial.TrialState.FAIL)
            else:
                self.study.tell(trial, value)
            return
        # the pool evaluated another config: the asked trial closes as failed, the evaluated one is added
        self.study.tell(trial, state=self.optuna.trial.TrialState.FAIL)
        if value is not None:
            self.study.add_trial(
                self.optuna.trial.create_trial(
                    params={n: observation.config[n] for n in self.space.names},
                    distributions=self.distributions,
                    value=value,
                )
            )
