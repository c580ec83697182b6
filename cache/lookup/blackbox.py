"""A model's benchmark: its curve table answered by one lookup mode, as a black box with a fidelity (epochs).

    from cache import open_benchmark

    bench = open_benchmark("softmax")                     # tabular | nearest | surrogate
    bench.evaluate({"learning_rate": 0.1, "batch_size": 64}, epochs=20.0)
    # {'val_error': ..., 'test_error': ..., 'cost_seconds': ..., 'status': 'ok', 'epochs': 20,
    #  'seed': ..., 'config': <the collected config evaluated>, 'config_id': ..., 'exact': False}
    bench.objective_function(configuration, fidelity={"epochs": 5})   # HPOBench's form

What HPOBench's `objective_function(configuration, fidelity)` and YAHPO's give, plus what
regret needs: the fidelity space and its maximum, whole curves, the cost of continuing a
training, what a config is worth (its seed mean at the maximum fidelity), the best and worst
worth, and regret as the comparison report computes it. Any config of the space is accepted
in every mode: tabular and nearest answer with the collected config nearest it (the result
says which, and whether it was the config itself), surrogate with the fitted regressors.
A seed left out is drawn from the black box's own Generator (`rng`), so calls are
reproducible from the seed given to `open_benchmark`.

The same object is what the engine replays against: the table (`cache.lookup.curves`) loaded
once, the lookup (`cache.lookup.modes`) that says which curves answer for a config, checked
reads of one training (`value`, `segment`, `evaluations`) and the replay's unchecked hot path
(`evaluation_at`). It has no knowledge of how each mode looks a config up.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cache.lookup.curves import CurveTable
from cache.lookup.modes import Lookup, make_lookup
from cache.names import check_mode
from hpo.catalog import model_entry
from hpo.errors import ConfigError
from hpo.formats import configspace
from hpo.simulation import Evaluation
from hpo.space import Parameter, SearchSpace, config_key

__all__ = ["FIDELITY", "BlackBox", "open_benchmark"]

FIDELITY = "epochs"


def _table_field(name: str) -> property:
    return property(
        lambda self: getattr(self.table, name), doc=f"The table's `{name}` (cache.lookup.curves.CurveTable)."
    )


class BlackBox:
    """One model's curves (`table`) answered by one lookup (`lookup`, named by `mode`): an
    objective `(config, epochs, seed) -> errors and cost`, and what a replay reads."""

    config_ids = _table_field("config_ids")
    units = _table_field("units")
    n_epochs = _table_field("n_epochs")
    val_error = _table_field("val_error")
    test_error = _table_field("test_error")
    epoch_seconds = _table_field("epoch_seconds")
    recorded_seconds = _table_field("recorded_seconds")
    clock_factors = _table_field("clock_factors")
    diverged = _table_field("diverged")
    present = _table_field("present")
    complete = _table_field("complete")
    runs = _table_field("runs")

    def __init__(
        self,
        model: str,
        rows: pd.DataFrame,
        space: SearchSpace,
        mode: str = "tabular",
        *,
        rng: np.random.Generator | None = None,
        **options: Any,
    ) -> None:
        check_mode(mode)
        self._attach(CurveTable(model, rows, space), mode, rng, **options)

    def _attach(self, table: CurveTable, mode: str, rng: np.random.Generator | None, **options: Any) -> None:
        if rng is not None and not isinstance(rng, np.random.Generator):
            raise ConfigError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
        self.table = table
        self.lookup: Lookup = make_lookup(mode, table, **options)
        self.mode = mode
        self.rng = rng if rng is not None else np.random.default_rng(0)
        self._flat: tuple[list[Any], ...] | None = None
        self._shape = (len(table.seeds), table.n_epochs)

    @classmethod
    def of(
        cls,
        table: CurveTable,
        mode: str = "tabular",
        *,
        rng: np.random.Generator | None = None,
        **options: Any,
    ) -> BlackBox:
        """`table` answered in lookup `mode` (options go to the surrogate's fit)."""
        check_mode(mode)
        box = cls.__new__(cls)
        box._attach(table, mode, rng, **options)
        return box

    @classmethod
    def load(
        cls,
        model: str,
        mode: str = "tabular",
        cache_dir: str | Path | None = None,
        *,
        rng: np.random.Generator | None = None,
        **options: Any,
    ) -> BlackBox:
        """Load `model`'s curves from the cache (shipped + user, or `cache_dir`)."""
        check_mode(mode)  # before the table is read
        box = cls.__new__(cls)
        box._attach(CurveTable.load(model, cache_dir), mode, rng, **options)
        return box

    def in_mode(self, mode: str, **options: Any) -> BlackBox:
        """The same curves answered in another lookup mode (a surrogate is fitted here)."""
        return BlackBox.of(self.table, mode, **options)

    # -- what it is ---------------------------------------------------------------------------

    @property
    def model(self) -> str:
        """The model's name."""
        return self.table.model

    @property
    def space(self) -> SearchSpace:
        """The search space (`hpo.formats` exports it to ConfigSpace, Optuna and Syne Tune)."""
        return self.table.space

    @functools.cached_property
    def defaults(self) -> dict[str, Any] | None:
        """The model's default config where it lies in the space (ConfigSpace's default), else None."""
        defaults = model_entry(self.model).defaults
        return dict(defaults) if self.space.contains(defaults) else None

    @property
    def max_fidelity(self) -> int:
        """The most epochs a config can be evaluated at (the cached curves' length)."""
        return self.table.n_epochs

    @property
    def fidelities(self) -> range:
        """The epochs a config can be evaluated at: 1..max_fidelity."""
        return range(1, self.max_fidelity + 1)

    @property
    def fidelity_space(self) -> SearchSpace:
        """The fidelity as a space of its own: `epochs`, an integer 1..max_fidelity."""
        return SearchSpace([Parameter(FIDELITY, "int", 1, self.max_fidelity)])

    def get_configuration_space(self, seed: int | None = None) -> Any:
        """The search space as a ConfigSpace, with the model's defaults and the space's order (HPOBench's name)."""
        return configspace.to_configspace(self.space, seed, self.defaults, name=self.model)

    def get_fidelity_space(self, seed: int | None = None) -> Any:
        """The fidelity space as a ConfigSpace, its default the maximum (HPOBench's name)."""
        return configspace.to_configspace(self.fidelity_space, seed, {FIDELITY: self.max_fidelity})

    @property
    def configs(self) -> list[dict[str, Any]]:
        """The collected configs, in the table's order (the table's own list: read, do not change)."""
        return self.table.configs

    @property
    def seeds(self) -> list[int]:
        """Every training seed in the cache, sorted (the table's own list)."""
        return self.table.seeds

    def digest(self) -> str:
        """16 hex digits of SHA-256 over what a replay reads: configs, seeds and every curve."""
        return self.table.digest()

    def check_r_max(self, r_max: int) -> BlackBox:
        """Itself, if its curves reach `r_max` epochs (an algorithm's top rung); else a ConfigError."""
        if r_max > self.n_epochs:
            raise ConfigError(f"--r-max {r_max} exceeds the {self.n_epochs} epochs cached for {self.model}")
        return self

    # -- which curves answer --------------------------------------------------------------------

    def answering(self, config: Mapping[str, Any]) -> dict[str, Any]:
        """The config whose curves answer for `config`: itself if collected (or in surrogate
        mode), else the collected config nearest it in the unit cube."""
        return self._answering(self._config(config))

    def _answering(self, config: dict[str, Any]) -> dict[str, Any]:
        if not self.lookup.collected or config_key(config) in self.table.by_key:
            return config
        return dict(self.table.configs[self.table.nearest_index.nearest(self.space.to_unit(config).tolist())])

    def index(self, config: Mapping[str, Any]) -> int:
        """The collected config answering for `config` in the lookup (tabular: itself; nearest: the closest)."""
        return self.lookup.index(config)

    def seeds_of(self, config: Mapping[str, Any]) -> list[int]:
        """The training seeds `config` can be evaluated with (with a complete curve, where collected)."""
        return self.lookup.seeds_of(self.answering(config))

    # -- evaluations --------------------------------------------------------------------------

    def evaluate(
        self, config: Mapping[str, Any], epochs: float | None = None, seed: int | None = None
    ) -> dict[str, Any]:
        """The validation and test error of `config` after `epochs` epochs (default: the maximum)
        of training seed `seed` (default: one drawn from `rng`), and the seconds that training
        took from scratch on the cache's one clock.

        `config` is the config that was asked; `config` in the answer is the one evaluated
        (`exact`: whether they are the same). A config outside the space, an epoch count that
        is not a whole number in 1..max_fidelity or a seed not cached for the config is one
        ConfigError naming it.
        """
        asked, answering, epochs, seed = self._inputs(config, epochs, seed)
        look = self.segment(answering, seed, 0, epochs)
        return {
            "val_error": look.val_error,
            "test_error": look.test_error,
            "cost_seconds": look.seconds,
            "status": look.status,
            "epochs": epochs,
            "seed": seed,
            **self._which(asked, answering),
        }

    def curve(self, config: Mapping[str, Any], seed: int | None = None) -> dict[str, Any]:
        """The whole learning curve of `config` for one training seed: per epoch 1..max_fidelity
        the validation and test error, the seconds of that epoch, and the status."""
        asked, answering, _, seed = self._inputs(config, self.max_fidelity, seed)
        points = self.evaluations(answering, seed)
        return {
            "epochs": list(self.fidelities),
            "val_error": [p.val_error for p in points],
            "test_error": [p.test_error for p in points],
            "epoch_seconds": [p.seconds for p in points],
            "status": [p.status for p in points],
            "seed": seed,
            **self._which(asked, answering),
        }

    def cost(
        self, config: Mapping[str, Any], from_epochs: float, to_epochs: float, seed: int | None = None
    ) -> float:
        """Seconds to continue `config`'s training `seed` from `from_epochs` (0: from scratch) to `to_epochs`."""
        _, answering, to_epochs, seed = self._inputs(config, to_epochs, seed)
        start = _whole("from_epochs", from_epochs, 0, to_epochs - 1)
        return self.segment(answering, seed, start, to_epochs).seconds

    def objective_function(
        self,
        configuration: Mapping[str, Any],
        fidelity: Mapping[str, Any] | None = None,
        seed: int | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """HPOBench's form: `function_value` (validation error), `cost` (seconds) and `info`
        (test error, status, epochs, seed, the config evaluated). `fidelity` is `{"epochs": E}`
        (default: the maximum); a ConfigSpace Configuration is accepted for either."""
        epochs = self._fidelity(fidelity)
        result = self.evaluate(dict(configuration), epochs, seed)
        info = {k: v for k, v in result.items() if k not in ("val_error", "cost_seconds")}
        return {"function_value": result["val_error"], "cost": result["cost_seconds"], "info": info}

    def objective_function_test(
        self,
        configuration: Mapping[str, Any],
        fidelity: Mapping[str, Any] | None = None,
        seed: int | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """HPOBench's test-set form: `function_value` is the test error (at the maximum fidelity by default)."""
        result = self.objective_function(configuration, fidelity, seed)
        return {**result, "function_value": result["info"]["test_error"]}

    # -- one training's values, checked (the engine's reads) ---------------------------------

    def _check(self, config: Mapping[str, Any], epoch: int, train_seed: int) -> None:
        self.space.validate(config)
        if not 1 <= epoch <= self.n_epochs:
            raise ConfigError(f"epoch {epoch} is outside the cached range 1..{self.n_epochs}")
        if train_seed not in self.table.seeds:
            raise ConfigError(f"training seed {train_seed} is not cached; cached seeds: {self.table.seeds}")

    def _arrays(self, config: Mapping[str, Any], train_seed: int) -> tuple[np.ndarray, ...]:
        return self.lookup.arrays(config, self.table.seeds.index(train_seed))

    def value(self, config: Mapping[str, Any], epoch: int, train_seed: int) -> Evaluation:
        """The values at `epoch` (1-based) of `config` trained with `train_seed` (seconds: that epoch's)."""
        self._check(config, epoch, train_seed)
        val, test, seconds, diverged = self._arrays(config, train_seed)
        e = epoch - 1
        return Evaluation(
            float(val[e]), float(test[e]), float(seconds[e]), "diverged" if diverged[e] else "ok"
        )

    def evaluations(self, config: Mapping[str, Any], train_seed: int) -> list[Evaluation]:
        """The whole cached (or predicted) curve of `config` for `train_seed`, one Evaluation per epoch."""
        self._check(config, 1, train_seed)
        val, test, seconds, diverged = self._arrays(config, train_seed)
        return [
            Evaluation(float(v), float(t), float(sec), "diverged" if d else "ok")
            for v, t, sec, d in zip(val, test, seconds, diverged, strict=True)
        ]

    def segment(
        self, config: Mapping[str, Any], train_seed: int, resume_from: int, epochs: int
    ) -> Evaluation:
        """Values at `epochs` and the seconds to train from `resume_from` to `epochs` (a replayed job)."""
        self._check(config, epochs, train_seed)
        val, test, seconds, diverged = self._arrays(config, train_seed)
        e = epochs - 1
        status = "diverged" if diverged[e] else "ok"
        return Evaluation(float(val[e]), float(test[e]), float(seconds[resume_from:epochs].sum()), status)

    def evaluation_at(self, i: int, s: int, resume_from: int, epochs: int) -> Evaluation:
        """What a replayed job reports: collected config `i` trained with seed `self.seeds[s]` from
        `resume_from` to `epochs`; unchecked, the replay's hot path."""
        if self._flat is None:
            self._flat = self.table.flat
        val, test, diverged, cumulative = self._flat
        n_seeds, n_epochs = self._shape
        row = i * n_seeds + s
        at = row * n_epochs + epochs - 1
        start = row * (n_epochs + 1)
        return Evaluation(
            val[at],
            test[at],
            cumulative[start + epochs] - cumulative[start + resume_from],
            "diverged" if diverged[at] else "ok",
        )

    # -- what a config is worth ----------------------------------------------------------------

    def config_errors(self, configs: Sequence[Mapping[str, Any]], epoch: int) -> np.ndarray:
        """The expected validation error at `epoch` of each config: the mean over training seeds of
        the curves that answer for it (its collected config's complete seeds, or the surrogate's seeds).

        This is what a config is worth, apart from the luck of the training a replay drew for it.
        """
        return self.lookup.expected_errors(configs, epoch)

    def mean_curves(self) -> np.ndarray:
        """Validation error per config and epoch, averaged over the config's complete seeds: (n_configs, n_epochs)."""
        return self.table.mean_curves()

    def final_errors(self) -> np.ndarray:
        """Last-epoch validation error per config, averaged over complete seeds: (n_configs,)."""
        return self.table.final_errors()

    def worth(self, config: Mapping[str, Any], epochs: float | None = None) -> float:
        """What `config` is worth: the mean over its training seeds of the validation error at
        `epochs` (default: the maximum fidelity), apart from the luck of any one training."""
        epochs = self.max_fidelity if epochs is None else _whole("epochs", epochs, 1, self.max_fidelity)
        return float(self.config_errors([self.answering(config)], epochs)[0])

    @functools.cached_property
    def _final_worths(self) -> np.ndarray:
        final = self.table.final_errors()
        return final[np.isfinite(final)]

    @property
    def best_value(self) -> float:
        """The lowest worth over the collected configs (regret's zero)."""
        return float(self._final_worths.min())

    @property
    def worst_value(self) -> float:
        """The highest worth over the collected configs (normalised regret's one)."""
        return float(self._final_worths.max())

    def regret(self, config: Mapping[str, Any]) -> float:
        """`config`'s worth minus the best value: the report's regret of an incumbent."""
        return self.worth(config) - self.best_value

    def normalised_regret(self, config: Mapping[str, Any]) -> float:
        """Regret over (worst - best): 0 the best collected config, 1 the worst (the report's scale)."""
        return self.regret(config) / (self.worst_value - self.best_value)

    # -- input checks ---------------------------------------------------------------------------

    def _config(self, config: Mapping[str, Any]) -> dict[str, Any]:
        if not isinstance(config, Mapping):
            raise ConfigError(
                f"a config is a mapping of hyperparameter -> value, got {type(config).__name__}"
            )
        config = {k: _plain(v) for k, v in config.items()}
        self.space.validate(config)
        return config

    def _inputs(
        self, config: Mapping[str, Any], epochs: float | None, seed: int | None
    ) -> tuple[dict[str, Any], dict[str, Any], int, int]:
        asked = self._config(config)
        answering = self._answering(asked)
        epochs = self.max_fidelity if epochs is None else _whole("epochs", epochs, 1, self.max_fidelity)
        available = self.lookup.seeds_of(answering)
        if seed is None:
            seed = available[int(self.rng.integers(len(available)))]
        elif isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed not in available:
            raise ConfigError(f"seed={seed!r} is not cached for this config; accepted: {available}")
        return asked, answering, epochs, int(seed)

    def _fidelity(self, fidelity: Mapping[str, Any] | None) -> int | None:
        if fidelity is None:
            return None
        if not isinstance(fidelity, Mapping):
            raise ConfigError(f"fidelity must be a mapping like {{'{FIDELITY}': 5}}, got {fidelity!r}")
        unknown = sorted(set(fidelity) - {FIDELITY})
        if unknown:
            raise ConfigError(f"unknown fidelity {unknown[0]!r}; accepted: {FIDELITY}")
        return fidelity.get(FIDELITY)

    def _which(self, asked: dict[str, Any], answering: dict[str, Any]) -> dict[str, Any]:
        table = self.table
        i = table.by_key.get(config_key(answering))
        exact = config_key(asked) == config_key(answering)
        return {"config": answering, "config_id": None if i is None else table.config_ids[i], "exact": exact}


def _plain(value: Any) -> Any:
    """NumPy scalars (what ConfigSpace and Optuna hand out) as Python numbers, so keys match."""
    return value.item() if isinstance(value, np.generic) else value


def _whole(name: str, value: Any, low: int, high: int) -> int:
    """`value` as an int when it is a whole number in low..high (20.0 is 20); a ConfigError otherwise."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ConfigError(f"{name}={value!r}: accepted a whole number {low}..{high}")
    if not math.isfinite(value) or value != int(value) or not low <= int(value) <= high:
        raise ConfigError(f"{name}={value!r}: accepted a whole number {low}..{high}")
    return int(value)


def open_benchmark(
    model: str,
    mode: str = "tabular",
    cache_dir: str | Path | None = None,
    seed: int = 0,
    rng: np.random.Generator | None = None,
) -> BlackBox:
    """Open `model`'s benchmark from the cache (shipped + user, or `cache_dir`) in lookup `mode`;
    seeds left out of a call are drawn from `rng` (default: a Generator seeded with `seed`)."""
    return BlackBox.load(model, mode, cache_dir, rng=rng if rng is not None else np.random.default_rng(seed))
