"""One clock for a cache whose trainings were timed on different machines or under different loads.

A replay charges each epoch the seconds recorded for it. A cache collected over several runs
(another machine, more workers sharing the cores, a busy host) mixes clocks: on the shipped
LeNet cache the same config trained 3x slower on the second machine. Within a run, the time of
a training depends on its config; between runs, by a factor of the run. So the log of a
training's mean epoch time is fitted as a config effect plus a run effect (alternating least
squares over the configs trained in several runs), and every training is rescaled to the
run that timed the most trainings. Runs that share no config with it, directly or through
other runs, cannot be compared and keep their recorded seconds.
"""

from __future__ import annotations

import warnings

import numpy as np

__all__ = ["clock_factors", "reference_run"]

#: Sweeps of the alternating least squares; the fit moves by < 1e-6 well before on real caches.
#: They, not an exact solver, define the shipped caches' clock: scipy's lsqr solution lies up to
#: 4e-8 (relative) from them, which moves 2-12% of the float32 epoch seconds and every replay's bytes.
SWEEPS = 200


def clock_factors(seconds: np.ndarray, runs: np.ndarray) -> np.ndarray:
    """Per-training factors (configs x seeds) that put `seconds` (configs x seeds x epochs) on one clock.

    `runs` (configs x seeds) names the run of each training (any integers; -1, unknown, is a
    run of its own). Trainings without positive finite seconds get factor 1.
    """
    with np.errstate(divide="ignore", invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a training with no timed epoch: NaN
        y = np.nanmean(np.where(seconds > 0, np.log(seconds), np.nan), axis=2)
    factors = np.ones(runs.shape)
    valid = np.isfinite(y)
    if not valid.any():
        return factors
    config_of, _ = np.nonzero(valid)
    labels, group = np.unique(runs[valid], return_inverse=True)
    y = y[valid]
    counts = np.bincount(group, minlength=len(labels))
    reference = int(np.flatnonzero(labels == reference_run(runs[valid]))[0])
    connected = _component(config_of, group, len(labels), reference)
    n_configs = runs.shape[0]
    per_config = np.maximum(np.bincount(config_of, minlength=n_configs), 1)
    effect = np.zeros(len(labels))
    for _ in range(SWEEPS):
        config_effect = np.bincount(config_of, y - effect[group], minlength=n_configs) / per_config
        effect = np.bincount(group, y - config_effect[config_of], minlength=len(labels)) / counts
        effect -= effect[reference]
    effect[~connected] = 0.0
    factors[valid] = np.exp(-effect[group])
    return factors


def reference_run(runs: np.ndarray) -> int:
    """The run whose clock a cache is put on: the one that timed the most trainings (a known run on ties)."""
    labels, counts = np.unique(runs, return_counts=True)
    return int(min(zip(labels, counts, strict=True), key=lambda lc: (-lc[1], lc[0] < 0, lc[0]))[0])


def _component(config_of: np.ndarray, group: np.ndarray, n_groups: int, start: int) -> np.ndarray:
    """Which runs are linked to run `start` through configs they both trained."""
    from scipy.sparse import coo_array
    from scipy.sparse.csgraph import connected_components

    # one graph of runs (nodes 0..n_groups-1) and configs (after them), an edge per training
    n_nodes = n_groups + int(config_of.max()) + 1
    edges = coo_array((np.ones(len(group)), (group, n_groups + config_of)), shape=(n_nodes, n_nodes))
    _, label = connected_components(edges, directed=False)
    return label[:n_groups] == label[start]
