"""Syne Tune's multi-fidelity schedulers as schedulers of the loop (optional extra `synetune`).

Syne Tune's ASHA and BOHB stop trials: a trial reports its metric after every epoch and the
scheduler answers CONTINUE or STOP. Its decisions fall on its rung levels (grace period times
powers of the reduction factor, as ours), so a trial here trains one rung at a time, each
segment a job continuing from the last, and reports at the end of each; a continued trial's
next segment runs before any new trial, as a stopping scheduler's trial would go on. New
configs come from Syne Tune's `suggest()`, seeded from the searcher's stream, through the
relay; Syne Tune is told the config evaluated (its searcher, BOHB's KDE included, learns from
the trial's config), so in a tabular replay it learns what the table really held.

Syne Tune 0.16's BOHB now and then samples an integer outside its range (its kernel density
estimate's integer dimensions are not bounded: batch size 19 of 32..511 on the sgd cache);
such a value is clipped to the range, the nearest valid config, before the trial starts.

Syne Tune 0.16 draws its random configs from NumPy's global generator (`Domain.sample()`
without a random state), whatever seed it is given. Each call into it therefore runs with
Python's and NumPy's global generators seeded from the searcher's stream, and both are put
back as they were afterwards: the replay is a function of its seed, and the caller's global
random state is untouched.
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import random
import warnings
from collections import deque
from collections.abc import Iterator
from typing import Any

import numpy as np

from hpo.errors import ConfigError
from hpo.formats.synetune import INSTALL, to_synetune
from hpo.schedulers.base import Job
from hpo.schedulers.outside import OutsideScheduler, plain
from hpo.schedulers.rungs import rung_levels
from hpo.searchers.pool import PooledSearcher
from hpo.searchers.relay import Relay

__all__ = ["SyneTuneScheduler", "synetune_baselines"]

METRIC, TIME = "val_error", "epoch"
# a fixed creation time: Syne Tune keeps it on the trial, and no wall-clock time may enter a replay
_CREATED = datetime.datetime(2000, 1, 1)


@contextlib.contextmanager
def _global_generators_from(rng: np.random.Generator) -> Iterator[None]:
    # the global generators are what Syne Tune reads, so they are seeded here on purpose, and restored
    legacy = np.random
    saved = random.getstate(), legacy.get_state()
    random.seed(int(rng.integers(2**63)))
    legacy.seed(int(rng.integers(2**32)))
    try:
        with warnings.catch_warnings():
            # pandas announces, on each of BOHB's samples, a default Syne Tune does not set
            warnings.simplefilter("ignore", FutureWarning)
            yield
    finally:
        random.setstate(saved[0])
        legacy.set_state(saved[1])


def synetune_baselines() -> Any:
    """`syne_tune.optimizer.baselines`, or a ConfigError saying how to install Syne Tune."""
    try:
        from syne_tune.optimizer import baselines
    except ImportError:
        raise ConfigError(INSTALL) from None
    return baselines


class SyneTuneScheduler(OutsideScheduler):
    """One of Syne Tune's stopping schedulers (`kind`: its baseline's name, ASHA or BOHB) in the loop."""

    def __init__(
        self, searcher: Relay | PooledSearcher, eta: float, r_min: int, r_max: int, kind: str = "ASHA"
    ) -> None:
        super().__init__(searcher, eta, r_min, r_max)
        baselines = synetune_baselines()
        from syne_tune.backend.trial_status import Trial

        # Syne Tune 0.16 warns, on every scheduler it makes, of an option nobody passed
        logging.getLogger(
            "syne_tune.optimizer.schedulers.searchers.last_value_multi_fidelity_searcher"
        ).setLevel(logging.ERROR)
        self._trial_type = Trial
        self._rng = np.random.default_rng(self.seed)
        initial = self.relay.initial
        first = {} if initial is None else {"points_to_evaluate": [initial]}
        with _global_generators_from(self._rng):
            self.st = getattr(baselines, kind)(
                to_synetune(self.space),
                metric=METRIC,
                time_attr=TIME,
                max_t=r_max,
                grace_period=r_min,
                reduction_factor=eta,
                random_seed=self.seed,
                **first,
            )
        self.levels = rung_levels(r_min, r_max, eta)
        self._next_level = dict(zip(self.levels, self.levels[1:], strict=False))
        self._continued: deque[Job] = deque()
        self._trials: dict[int, Any] = {}

    def next_job(self) -> Job | None:
        if self._continued:
            return self._continued.popleft()
        if not self.accepting_new_trials:
            return None
        with _global_generators_from(self._rng):
            suggestion = self.st.suggest()
        if suggestion is None:  # Syne Tune's searcher has nothing left to try
            self.stop_new_trials()
            return None
        config = plain(suggestion.config, self.space.names)
        if not self.space.contains(config):
            config = self.space.from_unit(self.space.to_unit(config))  # clipped into the range
        job = self.start_trial(config, self.levels[0])
        if job is not None:
            trial = self._trial_type(job.trial_id, dict(job.config), _CREATED)
            with _global_generators_from(self._rng):
                self.st.on_trial_add(trial)
            self._trials[job.trial_id] = trial
        return job

    def on_result(self, job: Job, error: float) -> None:
        self.tell(job, error)
        trial = self._trials[job.trial_id]
        result = {TIME: job.epochs, METRIC: error}
        following = self._next_level.get(job.epochs)
        with _global_generators_from(self._rng):
            decision = self.st.on_trial_result(trial, result)
            if following is None:
                self.st.on_trial_complete(trial, result)
        if following is None:
            del self._trials[job.trial_id]
        elif decision == "CONTINUE":
            self._continued.append(Job(job.trial_id, job.config, following, job.epochs))
        else:
            del self._trials[job.trial_id]  # stopped at this rung
