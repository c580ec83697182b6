"""Search spaces: typed parameters, seeded sampling and a log-aware unit-cube encoding."""

from __future__ import annotations

import functools
import json
import math
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hpo.errors import ConfigError

__all__ = ["Parameter", "SearchSpace", "config_key"]


def config_key(config: Mapping[str, Any]) -> tuple:
    """A hashable key of a config: its identity wherever a config is compared or looked up."""
    return tuple(sorted(config.items()))


KINDS = ("uniform", "loguniform", "int", "logint", "choice")


@dataclass(frozen=True)
class Parameter:
    """One hyperparameter: a kind from KINDS and its bounds (or values for 'choice')."""

    name: str
    kind: str
    low: float | None = None
    high: float | None = None
    values: tuple[Any, ...] | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ConfigError(
                f"parameter {self.name!r}: unknown type {self.kind!r}; accepted: {', '.join(KINDS)}"
            )
        if self.kind == "choice":
            if not self.values:
                raise ConfigError(f"parameter {self.name!r}: a choice needs a non-empty list of values")
            return
        if self.low is None or self.high is None:
            raise ConfigError(f"parameter {self.name!r}: {self.kind} needs 'low' and 'high'")
        for bound in (self.low, self.high):
            if not isinstance(bound, (int, float)) or isinstance(bound, bool) or not math.isfinite(bound):
                raise ConfigError(f"parameter {self.name!r}: bounds must be finite numbers, got {bound!r}")
        if self.is_int and (self.low != int(self.low) or self.high != int(self.high)):
            raise ConfigError(
                f"parameter {self.name!r}: {self.kind} bounds must be integers, got {self.low}..{self.high}"
            )
        if self.low >= self.high:
            raise ConfigError(
                f"parameter {self.name!r}: low must be < high, got low={self.low}, high={self.high}"
            )
        if self.is_log and self.low <= 0:
            raise ConfigError(f"parameter {self.name!r}: {self.kind} needs low > 0, got low={self.low}")

    @property
    def is_log(self) -> bool:
        """Whether the unit-cube encoding is logarithmic."""
        return self.kind in ("loguniform", "logint")

    @property
    def is_int(self) -> bool:
        """Whether values are integers."""
        return self.kind in ("int", "logint")

    @functools.cached_property
    def _edges(self) -> tuple[float, float]:
        # Integers own the interval [k - 0.5, k + 0.5] so that uniform unit values decode
        # to every integer with equal probability (or log-equal for logint).
        low, high = float(self.low), float(self.high)
        if self.is_int:
            low, high = low - 0.5, high + 0.5
        if self.is_log:
            return math.log(low), math.log(high)
        return low, high

    def __getstate__(self) -> dict[str, Any]:
        # the coders are closures, made again on first use: a pickled parameter carries its fields
        return {k: v for k, v in self.__dict__.items() if k not in ("encoder", "decoder")}

    def to_unit(self, value: Any) -> float:
        """Encode one value into [0, 1]."""
        return self.encoder(value)

    def from_unit(self, u: float) -> Any:
        """Decode a unit value into a valid value (integers rounded, clipped to the bounds)."""
        return self.decoder(float(u))

    @functools.cached_property
    def encoder(self) -> Callable[[Any], float]:
        """`to_unit` as one closure over this parameter's constants (the replay calls it per trial)."""
        if self.kind == "choice":
            values, n = self.values, len(self.values)
            return lambda value: (values.index(value) + 0.5) / n
        lo, hi = self._edges
        span = hi - lo
        if self.is_log:
            log = math.log
            return lambda value: min(max((log(value) - lo) / span, 0.0), 1.0)
        return lambda value: min(max((float(value) - lo) / span, 0.0), 1.0)

    @functools.cached_property
    def decoder(self) -> Callable[[float], Any]:
        """`from_unit` of a Python float as one closure over this parameter's constants (the
        replay's random search calls it per trial)."""
        if self.kind == "choice":
            values, last = self.values, len(self.values) - 1
            return lambda u: values[min(int(min(max(u, 0.0), 1.0) * (last + 1)), last)]
        lo, hi = self._edges
        span, low, high, exp = hi - lo, self.low, self.high, math.exp
        if self.is_int and self.is_log:
            return lambda u: int(min(max(round(exp(lo + min(max(u, 0.0), 1.0) * span)), low), high))
        if self.is_int:
            return lambda u: int(min(max(round(lo + min(max(u, 0.0), 1.0) * span), low), high))
        if self.is_log:
            return lambda u: float(min(max(exp(lo + min(max(u, 0.0), 1.0) * span), low), high))
        return lambda u: float(min(max(lo + min(max(u, 0.0), 1.0) * span, low), high))

    def contains(self, value: Any) -> bool:
        """Whether `value` is a valid value of this parameter."""
        if self.kind == "choice":
            return value in self.values
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            return False
        if self.is_int and value != int(value):
            return False
        return self.low <= value <= self.high

    def to_dict(self) -> dict[str, Any]:
        """The declarative form of this parameter."""
        if self.kind == "choice":
            return {"type": "choice", "values": list(self.values)}
        low, high = (int(self.low), int(self.high)) if self.is_int else (self.low, self.high)
        return {"type": self.kind, "low": low, "high": high}


class SearchSpace:
    """An ordered set of parameters with seeded sampling and unit-cube encoding."""

    def __init__(self, parameters: Iterable[Parameter]) -> None:
        self.parameters: tuple[Parameter, ...] = tuple(parameters)
        if not self.parameters:
            raise ConfigError("a search space needs at least one parameter")
        names = [p.name for p in self.parameters]
        if len(set(names)) != len(names):
            raise ConfigError(f"duplicate parameter names in search space: {names}")

    @property
    def names(self) -> tuple[str, ...]:
        """Parameter names in order."""
        return tuple(p.name for p in self.parameters)

    @property
    def dim(self) -> int:
        """Number of dimensions of the unit-cube encoding."""
        return len(self.parameters)

    def __getitem__(self, name: str) -> Parameter:
        for p in self.parameters:
            if p.name == name:
                return p
        raise KeyError(name)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SearchSpace) and self.parameters == other.parameters

    def __hash__(self) -> int:
        return hash(self.parameters)

    def __repr__(self) -> str:
        return f"SearchSpace({self.to_dict()})"

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k not in ("_decoders", "_encoders")}

    def sample(self, rng: np.random.Generator) -> dict[str, Any]:
        """One config drawn from the space with `rng`."""
        return self.from_unit(rng.random(self.dim))

    def sample_many(self, rng: np.random.Generator, n: int) -> list[dict[str, Any]]:
        """`n` configs drawn with `rng`: the same configs, in order, as `n` calls of `sample`
        (a generator's doubles come out in one sequence, whatever the shape asked for)."""
        return [self._decode(values) for values in rng.random((n, self.dim)).tolist()]

    def to_unit(self, config: Mapping[str, Any]) -> np.ndarray:
        """Encode a config as a point of the unit cube (log-aware)."""
        return np.array(self.unit_values(config), dtype=float)

    def unit_values(self, config: Mapping[str, Any]) -> list[float]:
        """`to_unit` as a list of Python floats (a lookup's key, without an array)."""
        return [encode(config[name]) for name, encode in self._encoders]

    def from_unit(self, point: np.ndarray) -> dict[str, Any]:
        """Decode a point of the unit cube into a config (integers rounded)."""
        if type(point) is not np.ndarray or point.ndim != 1 or point.dtype != np.float64:
            point = np.asarray(point, dtype=float).reshape(-1)
        # tolist(): Python floats, several times faster than numpy scalars in the decoders' arithmetic
        values = point.tolist()
        if len(values) != len(self.parameters):
            raise ValueError(f"expected a point of dimension {self.dim}, got {len(values)}")
        return self._decode(values)

    def _decode(self, values: list[float]) -> dict[str, Any]:
        names, decoders = self._decoders
        return {name: decode(u) for name, decode, u in zip(names, decoders, values)}  # noqa: B905

    @functools.cached_property
    def _decoders(self) -> tuple[tuple[str, ...], tuple[Callable[[float], Any], ...]]:
        return self.names, tuple(p.decoder for p in self.parameters)

    @functools.cached_property
    def _encoders(self) -> tuple[tuple[str, Callable[[Any], float]], ...]:
        return tuple((p.name, p.encoder) for p in self.parameters)

    def contains(self, config: Mapping[str, Any]) -> bool:
        """Whether `config` has exactly this space's names, each with a valid value."""
        return set(config) == set(self.names) and all(p.contains(config[p.name]) for p in self.parameters)

    def validate(self, config: Mapping[str, Any]) -> None:
        """Raise ConfigError naming the first missing, unknown or out-of-range value."""
        unknown = sorted(set(config) - set(self.names))
        if unknown:
            raise ConfigError(f"unknown hyperparameter {unknown[0]!r}; accepted: {', '.join(self.names)}")
        for p in self.parameters:
            if p.name not in config:
                raise ConfigError(f"missing hyperparameter {p.name!r}; required: {', '.join(self.names)}")
            value = config[p.name]
            if p.kind != "choice" and (
                isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating))
            ):
                raise ConfigError(
                    f"{p.name}={value!r} is a {type(value).__name__}, not a number: {_describe(p)}"
                )
            if p.is_int and math.isfinite(value) and value != int(value):
                raise ConfigError(f"{p.name}={value!r} is not an integer: {_describe(p)}")
            if not p.contains(value):
                raise ConfigError(f"{p.name}={value!r} is outside the space: {_describe(p)}")

    def to_dict(self) -> dict[str, dict[str, Any]]:
        """The declarative (JSON/TOML) form of the space."""
        return {p.name: p.to_dict() for p in self.parameters}

    def to_json(self) -> str:
        """The declarative form as a JSON string."""
        return json.dumps(self.to_dict(), sort_keys=False)

    @classmethod
    def from_dict(cls, spec: Mapping[str, Mapping[str, Any]]) -> SearchSpace:
        """Build a space from the declarative form {name: {type, low, high | values}}."""
        if not isinstance(spec, Mapping) or not spec:
            raise ConfigError("a search space must be a non-empty mapping of parameter name -> definition")
        params = []
        for name, definition in spec.items():
            if not isinstance(definition, Mapping) or "type" not in definition:
                raise ConfigError(f"parameter {name!r}: expected a table with a 'type' key")
            extra = set(definition) - {"type", "low", "high", "values"}
            if extra:
                raise ConfigError(f"parameter {name!r}: unknown keys {sorted(extra)}")
            values = definition.get("values")
            params.append(
                Parameter(
                    name=name,
                    kind=definition["type"],
                    low=definition.get("low"),
                    high=definition.get("high"),
                    values=tuple(values) if values is not None else None,
                )
            )
        return cls(params)

    @classmethod
    def from_file(cls, path: str | Path) -> SearchSpace:
        """Read the declarative form from a .toml or .json file."""
        path = Path(path)
        try:
            text = path.read_text()
        except OSError as exc:
            raise ConfigError(f"cannot read search space file {path}: {exc.strerror}") from None
        try:
            if path.suffix.lower() == ".toml":
                spec = tomllib.loads(text)
            elif path.suffix.lower() == ".json":
                spec = json.loads(text)
            else:
                raise ConfigError(f"search space file {path}: expected a .toml or .json file")
        except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
            raise ConfigError(f"search space file {path}: {exc}") from None
        try:
            return cls.from_dict(spec)
        except ConfigError as exc:
            raise ConfigError(f"search space file {path}: {exc}") from None

    @classmethod
    def from_scipy(cls, distributions: Mapping[str, Any]) -> SearchSpace:
        """Build a space from frozen scipy.stats distributions (loguniform, randint, uniform)."""
        params = []
        for name, dist in distributions.items():
            family = getattr(getattr(dist, "dist", None), "name", None)
            if family is None or not hasattr(dist, "support"):
                raise ConfigError(
                    f"parameter {name!r}: expected a frozen scipy.stats distribution, got {dist!r}"
                )
            # support() accounts for loc and scale; .a/.b do not (wrong for uniform(loc, scale)).
            low, high = (float(b) for b in dist.support())
            if family in ("loguniform", "reciprocal"):
                params.append(Parameter(name, "loguniform", low, high))
            elif family == "uniform":
                params.append(Parameter(name, "uniform", low, high))
            elif family == "randint":
                params.append(Parameter(name, "int", int(low), int(high)))
            else:
                raise ConfigError(
                    f"parameter {name!r}: unsupported distribution {family!r}; accepted: loguniform, uniform, randint"
                )
        return cls(params)


def _describe(p: Parameter) -> str:
    if p.kind == "choice":
        return f"one of {list(p.values)}"
    low, high = (int(p.low), int(p.high)) if p.is_int else (p.low, p.high)
    return f"{p.kind} {low}..{high}"
