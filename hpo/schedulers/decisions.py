"""Successive halving's promotion rules as pure functions of (trial, rung, error) records.

The schedulers answer these rules through heaps and sorted lists, so that a decision costs
O(log n) instead of a sort; the lists are only indexes over the records. Written plainly
here, the rules say what a decision is and let tests check the indexes against them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from hpo.schedulers.base import rank_key

__all__ = ["RungResult", "asha_promotion", "sh_survivors", "survivors"]


@dataclass(frozen=True, slots=True)
class RungResult:
    """Trial `trial_id` reached validation error `error` at rung index `rung`."""

    trial_id: int
    rung: int
    error: float


def survivors(n: int, eta: float) -> int:
    """How many of n results continue in synchronous halving: floor(n / eta), at least one so
    the top rung is reached."""
    return max(1, math.floor(n / eta))


def sh_survivors(errors: Mapping[int, float], eta: float) -> list[int]:
    """The trials of a finished rung ({trial: error}) that continue, best first by (error, trial id)."""
    ranked = sorted(errors, key=lambda trial: rank_key(errors[trial], trial))
    return ranked[: survivors(len(ranked), eta)]


def asha_promotion(
    results: Iterable[RungResult], promoted: set[tuple[int, int]], n_rungs: int, eta: float
) -> tuple[int, int] | None:
    """ASHA's next promotion (Li et al. 2018, Algorithm 2) as (trial, from rung), or None.

    From the highest rung below the top down: the best result of rung k by (error, trial id)
    that is among the top floor(n_k / eta) of its rung and not yet promoted out of it.
    """
    by_rung: dict[int, list[RungResult]] = {}
    for result in results:
        by_rung.setdefault(result.rung, []).append(result)
    for k in range(n_rungs - 2, -1, -1):
        rung = sorted(by_rung.get(k, []), key=lambda r: rank_key(r.error, r.trial_id))
        for result in rung[: math.floor(len(rung) / eta)]:
            if (result.trial_id, k) not in promoted:
                return result.trial_id, k
    return None
