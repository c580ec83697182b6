"""The black-box view of a model's benchmark: `objective(config, epochs, seed)` over its cached curves.

    from cache.blackbox import open_benchmark

    bench = open_benchmark("softmax")                     # tabular | nearest | surrogate
    config = bench.configs[0]                             # or any config of bench.space (nearest, surrogate)
    bench.evaluate(config, epochs=20, seed=bench.seeds_of(config)[0])
    # {'val_error': ..., 'test_error': ..., 'cost_seconds': ..., 'status': 'ok', 'epochs': 20, 'seed': ...}

The same tables, lookups and clock as the replays of `bench compare`; HPOBench and YAHPO Gym
users know it as an objective with a fidelity.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from cache.benchmark import MODES, Benchmark
from hpo.errors import ConfigError
from hpo.space import SearchSpace


@dataclass
class BlackBox:
    """One model's benchmark: its space, its fidelities (epochs), its lookup mode, and `evaluate`."""

    benchmark: Benchmark

    @property
    def model(self) -> str:
        """The model's name."""
        return self.benchmark.model

    @property
    def mode(self) -> str:
        """How configs are answered: tabular, nearest or surrogate."""
        return self.benchmark.mode

    @property
    def space(self) -> SearchSpace:
        """The search space (export it with `to_dict()` or `hpo.configspace.to_configspace`)."""
        return self.benchmark.space

    @property
    def fidelities(self) -> range:
        """The epochs a config can be evaluated at: 1..max."""
        return range(1, self.benchmark.n_epochs + 1)

    @property
    def configs(self) -> list[dict[str, Any]]:
        """The collected configs (the only ones a tabular benchmark answers)."""
        return [dict(c) for c in self.benchmark.configs]

    @property
    def seeds(self) -> list[int]:
        """Every training seed in the cache."""
        return list(self.benchmark.seeds)

    def seeds_of(self, config: Mapping[str, Any]) -> list[int]:
        """The training seeds `config` can be evaluated with."""
        self.space.validate(config)
        return self.benchmark.seeds_of(config)

    @property
    def best_value(self) -> float:
        """The lowest mean validation error at the last epoch over the collected configs (regret's zero)."""
        return float(np.nanmin(self.benchmark.final_errors()))

    def regret(self, val_error: float) -> float:
        """`val_error` minus the best known value."""
        return float(val_error) - self.best_value

    def evaluate(self, config: Mapping[str, Any], epochs: int, seed: int) -> dict[str, Any]:
        """The validation and test error of `config` after `epochs` epochs of training seed `seed`,
        and the seconds that training took (on the cache's one clock).

        A config outside the space, with a missing or unknown key or a wrong type, an epoch count
        outside the fidelities, or a seed not cached for the config is one ConfigError naming it.
        """
        if (
            isinstance(epochs, bool)
            or not isinstance(epochs, (int, np.integer))
            or epochs not in self.fidelities
        ):
            raise ConfigError(f"epochs={epochs!r}: accepted 1..{self.benchmark.n_epochs}")
        available = self.seeds_of(config)
        if seed not in available:
            raise ConfigError(f"seed={seed!r} is not cached for this config; accepted: {available}")
        look = self.benchmark.segment(config, seed, 0, int(epochs))
        return {
            "val_error": look.val_error,
            "test_error": look.test_error,
            "cost_seconds": look.seconds,
            "status": look.status,
            "epochs": int(epochs),
            "seed": int(seed),
        }


def open_benchmark(model: str, mode: str = "tabular", cache_dir: str | Path | None = None) -> BlackBox:
    """Open `model`'s benchmark from the cache (shipped + user, or `cache_dir`) in lookup `mode`."""
    if mode not in MODES:
        raise ConfigError(f"unknown lookup mode {mode!r}; accepted: {', '.join(MODES)}")
    return BlackBox(Benchmark.load(model, mode, cache_dir))
