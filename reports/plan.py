"""What a study asked for and what it read, as its report states them.

`bench` keeps its plan files in its own form and hands a report these records; the report reads
their fields, never a stored dict's keys.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["CacheFacts", "StudyPlan"]


@dataclass(frozen=True)
class CacheFacts:
    """What a study read of one model's curve cache."""

    curves: int  # complete learning curves
    digest: str | None = None  # of what a replay reads (a comparison records it)
    best: float = float("nan")  # lowest seed-mean validation error at r_max over the configs
    worst: float = float("nan")  # highest: with `best`, the ends of the normalised regret


@dataclass(frozen=True)
class StudyPlan:
    """A comparison's or agreement's plan: the command, when, the seeds, the caches, the grid."""

    command: str
    created: str
    seeds: int
    caches: Mapping[str, CacheFacts] = field(default_factory=dict)  # by model
    algorithms: tuple[str, ...] = ()
    models: tuple[str, ...] = ()
    workers: tuple[int, ...] = ()
    budget_trainings: tuple[float, ...] = ()
    mode: str = "tabular"
    settings: Mapping[str, Any] = field(default_factory=dict)  # the scheduler settings, as stored
