"""A stable identifier for a model's config: a hash of its canonical JSON form."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

__all__ = ["canonical", "config_id"]


def canonical(config: Mapping[str, Any]) -> str:
    """Sorted-key JSON with floats in their shortest round-trip form.

    Callers pass configs normalised by `hpo.models.validate_config` (ints as int, floats as
    float), so 256 and 256.0 never name the same batch size twice.
    """
    items = {}
    for key in sorted(config):
        value = config[key]
        if hasattr(value, "item"):  # numpy scalars
            value = value.item()
        items[key] = value
    return json.dumps(items, sort_keys=True, separators=(",", ":"), allow_nan=False)


def config_id(model: str, config: Mapping[str, Any]) -> str:
    """16 hex digits of SHA-256 over the model name and the canonical config."""
    digest = hashlib.sha256(f"{model}|{canonical(config)}".encode()).hexdigest()
    return digest[:16]
