"""Optuna's samplers as searchers (optional extra `optuna`): TPE, GP, CMA-ES and QMC through ask/tell.

The sampler is seeded from the replay's (or run's) searcher stream. Pending trials are left
RUNNING in the study, which is how Optuna handles parallel workers (TPE's constant liar, the
GP's and CMA-ES's own treatment of running trials).

In tabular mode the sampler's suggestion is snapped to the nearest candidate config still
available (in the unit-cube encoding); the trial it asked is then closed as failed and the
result is added as a completed trial at the candidate's own values, so the sampler learns
what was really evaluated. Inside successive halving or ASHA a trial is told its first result
(the rung it started at); later rungs do not change what the sampler saw.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from hpo.errors import ConfigError
from hpo.searchers.base import Searcher
from hpo.space import SearchSpace, config_key

INSTALL = "Optuna is not installed; pip install 'hpobench[optuna]' (or optuna>=4)"
SAMPLERS = ("tpe", "gp", "cmaes", "qmc")


def optuna_module() -> Any:
    """The optuna module, or a ConfigError saying how to install it."""
    try:
        import optuna
    except ImportError:
        raise ConfigError(INSTALL) from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def _distributions(optuna: Any, space: SearchSpace) -> dict[str, Any]:
    out = {}
    for p in space.parameters:
        if p.kind == "choice":
            out[p.name] = optuna.distributions.CategoricalDistribution(list(p.values))
        elif p.is_int:
            out[p.name] = optuna.distributions.IntDistribution(int(p.low), int(p.high), log=p.is_log)
        else:
            out[p.name] = optuna.distributions.FloatDistribution(float(p.low), float(p.high), log=p.is_log)
    return out


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
        candidates: Sequence[Mapping[str, Any]] | None = None,
        candidate_trainings: Sequence[int] | None = None,
        sampler: str = "tpe",
    ) -> None:
        super().__init__(space, rng, initial_config, candidates, candidate_trainings)
        self.optuna = optuna_module()
        seed = int(rng.integers(2**31 - 1))
        with warnings.catch_warnings():
            # QMC and GP are marked experimental in Optuna: a warning per replay says nothing new
            warnings.simplefilter("ignore", self.optuna.exceptions.ExperimentalWarning)
            self.study = self.optuna.create_study(
                direction="minimize", sampler=_sampler(self.optuna, sampler, seed)
            )
        self.distributions = _distributions(self.optuna, space)
        self._asked: dict[tuple, list[Any]] = {}  # config key -> trials asked for it, not yet told

    def propose(self) -> dict[str, Any]:
        trial = self.study.ask(self.distributions)
        config = {name: trial.params[name] for name in self.space.names}
        if self.candidates is not None:
            config = self.nearest_candidate(config)
        self._asked.setdefault(config_key(config), []).append(trial)
        return config

    def observe(self, config: Mapping[str, Any], error: float, epochs: int) -> None:
        super().observe(config, error, epochs)
        trials = self._asked.get(config_key(config))
        if not trials:
            return  # a promotion's result, or the initial config: the sampler saw this trial already
        trial = trials.pop(0)
        asked = {name: trial.params[name] for name in self.space.names}
        value = float(error) if np.isfinite(error) else None
        if config_key(asked) == config_key(config):
            if value is None:
                self.study.tell(trial, state=self.optuna.trial.TrialState.FAIL)
            else:
                self.study.tell(trial, value)
            return
        # snapped to a candidate: the asked trial closes as failed, the evaluated config is added
        self.study.tell(trial, state=self.optuna.trial.TrialState.FAIL)
        if value is not None:
            self.study.add_trial(
                self.optuna.trial.create_trial(
                    params={n: config[n] for n in self.space.names},
                    distributions=self.distributions,
                    value=value,
                )
            )

    def forget(self, config: Mapping[str, Any]) -> None:
        super().forget(config)
        trials = self._asked.get(config_key(config))
        if trials:
            self.study.tell(trials.pop(0), state=self.optuna.trial.TrialState.FAIL)
