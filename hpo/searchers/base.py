"""What every searcher does: propose a config for a trial, learn from that trial's results.

The contract is ask/tell with a trial id on both sides, so an optimizer that keeps its own
handle per ask (SMAC's TrialInfo, Optuna's Trial, Syne Tune's trial) can link each result to
its ask:

    config = searcher.suggest(trial_id)                       # ask: propose(trial_id) underneath
    searcher.observe(Observation(trial_id, config, error, epochs, proposal))   # tell

`Observation.config` is what was evaluated. Where the replay's candidate pool replaced the
proposal with a collected config (tabular mode, `hpo.searchers.pool`), `proposal` is what the
searcher proposed; otherwise it is None and the two are the same. The table's rules live in the
pool, not here: a searcher never sees a table unless it chooses from one (`propose_from`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from hpo.errors import ConfigError
from hpo.space import SearchSpace, config_key

if TYPE_CHECKING:
    from hpo.searchers.pool import CandidatePool

__all__ = ["Observation", "Searcher"]


class Observation(NamedTuple):
    """One result of trial `trial_id`: `config` evaluated to `error` after `epochs` epochs.

    `proposal` is the config the searcher proposed for the trial when the candidate pool
    evaluated another one instead (tabular mode), else None. A tuple (one is made per result):
    immutable; `observation._replace(error=...)` makes a changed copy.
    """

    trial_id: int
    config: dict[str, Any]
    error: float
    epochs: int
    proposal: dict[str, Any] | None = None

    @property
    def proposed(self) -> dict[str, Any]:
        """What the searcher proposed for this trial (the evaluated config unless replaced)."""
        return self.config if self.proposal is None else self.proposal

    @property
    def replaced(self) -> bool:
        """Whether the pool evaluated another config than the one proposed."""
        return self.proposal is not None


class Searcher(ABC):
    """Proposes configs for trials and learns from their observations.

    The one method a searcher implements is `propose(trial_id)`; schedulers call `suggest`,
    which adds the initial config and the bookkeeping of what is in flight, and `observe`,
    which a searcher may extend (calling the base). Randomness comes only from `self.rng`.
    `initial_config`, when given, is the first suggestion.
    """

    #: whether results change what the searcher proposes (random search and QMC: no); the
    #: conformance kit's learning check holds a searcher that says so to it
    learns: bool = True

    def __init__(
        self,
        space: SearchSpace,
        rng: np.random.Generator,
        initial_config: Mapping[str, Any] | None = None,
    ) -> None:
        if not isinstance(rng, np.random.Generator):
            raise ConfigError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
        self.space = space
        self.rng = rng
        if initial_config is not None and not space.contains(initial_config):
            raise ConfigError(f"initial config {dict(initial_config)} is not in the search space")
        self._initial = dict(initial_config) if initial_config is not None else None
        self.observations: list[Observation] = []
        self._pending: dict[int, dict[str, Any]] = {}

    def suggest(self, trial_id: int, pool: CandidatePool | None = None) -> dict[str, Any]:
        """The config to evaluate for new trial `trial_id` (from `pool`'s offer, where one is
        given and the searcher can choose from it); it is pending until observed."""
        if self._initial is not None:
            config, self._initial = self._initial, None
        elif pool is not None:
            config = self.propose_from(trial_id, pool)
        else:
            config = self.propose(trial_id)
        self._pending[trial_id] = config
        return config

    @abstractmethod
    def propose(self, trial_id: int) -> dict[str, Any]:
        """The algorithm's config for trial `trial_id` (after the initial one): what a searcher implements."""

    def propose_from(self, trial_id: int, pool: CandidatePool) -> dict[str, Any]:
        """A config for trial `trial_id` when only `pool`'s configs can be evaluated.

        By default the free proposal, which the pool then maps onto its nearest fresh config
        (and the observation says so); a searcher that can choose from a finite set directly
        (random search, BO's acquisition over the pool) overrides this.
        """
        return self.propose(trial_id)

    @property
    def exhausted(self) -> bool:
        """Whether the searcher has nothing left to propose (a pool's wrapper says when it is used up)."""
        return False

    def observe(self, observation: Observation) -> None:
        """Record a result; its trial is no longer pending."""
        self._pending.pop(observation.trial_id, None)
        self.observations.append(observation)

    @property
    def pending_configs(self) -> list[dict[str, Any]]:
        """Configs in flight (suggested, not yet observed), each once."""
        return list({config_key(c): c for c in self._pending.values()}.values())

    def random_config(self) -> dict[str, Any]:
        """A uniform draw from the space (log-uniform where the space says so)."""
        return self.space.sample(self.rng)
