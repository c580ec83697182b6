"""Schedulers decide which trial trains how far: `make(name, searcher, **options)`."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from hpo.errors import ConfigError
from hpo.schedulers.asha import ASHA
from hpo.schedulers.base import Job, Scheduler
from hpo.schedulers.fifo import FIFOScheduler
from hpo.schedulers.outside import OutsideScheduler
from hpo.schedulers.rungs import rung_levels
from hpo.schedulers.smac_hyperband import SmacHyperband
from hpo.schedulers.synchronous import Hyperband, SuccessiveHalving
from hpo.schedulers.synetune_adapter import SyneTuneScheduler
from hpo.searchers import Searcher

SCHEDULERS: dict[str, Callable[..., Scheduler]] = {
    "fifo": FIFOScheduler,
    "sh": SuccessiveHalving,
    "hyperband": Hyperband,
    "asha": ASHA,
}
#: schedulers of outside libraries, which pick their own configs (through a Relay searcher)
OUTSIDE: dict[str, Callable[..., OutsideScheduler]] = {
    "smac-hb": SmacHyperband,
    "st-asha": functools.partial(SyneTuneScheduler, kind="ASHA"),
    "st-bohb": functools.partial(SyneTuneScheduler, kind="BOHB"),
    "st-asha-cqr": functools.partial(SyneTuneScheduler, kind="ASHACQR"),
}


def make(name: str, searcher: Searcher, **options: Any) -> Scheduler:
    """Build scheduler `name` around `searcher` (options: epochs | eta, r_min, r_max, prefact, n_configs)."""
    try:
        factory = SCHEDULERS[name]
    except KeyError:
        raise ConfigError(f"unknown scheduler {name!r}; accepted: {', '.join(SCHEDULERS)}") from None
    try:
        return factory(searcher, **options)
    except TypeError as exc:
        raise ConfigError(f"scheduler {name!r}: {exc}") from None


__all__ = [
    "ASHA",
    "OUTSIDE",
    "SCHEDULERS",
    "FIFOScheduler",
    "Hyperband",
    "Job",
    "OutsideScheduler",
    "Scheduler",
    "SmacHyperband",
    "SuccessiveHalving",
    "SyneTuneScheduler",
    "make",
    "rung_levels",
]
