"""Fitted surrogates kept on disk, so that a replay loads a slow fit instead of redoing it.

A GP over sgd's 512 configs x 12 seeds takes more than a minute to fit, and `bench compare --mode
surrogate` used to refit it in every process and every run. A fit that took longer than
`SLOW_FIT_SECONDS` is pickled under the user's cache dir, named by a fingerprint of
everything it depends on: the curves, the space, the regressor, its seed, and the sklearn and
numpy versions (a pickle is only read back by the versions that wrote it). The files are the
user's own, written by this code, as trusted as the code itself; a damaged or unreadable one is
refitted and replaced. Loaded or refitted, the surrogate predicts the same values. Every new
collection changes the fingerprint, so only the `KEEP_PER_REGRESSOR` most recently used files of
each model and regressor are kept (a GP's file holds its Cholesky factor per seed: 20-35 MB).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import pickle
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import sklearn

from cache.lookup.curves import CurveTable
from cache.lookup.surrogate import Surrogate
from cache.names import preferred_regressor
from hpo.files import UnsafeFileError, atomic_write_bytes, check_private, private_dir, user_cache_dir

__all__ = [
    "KEEP_PER_REGRESSOR",
    "SLOW_FIT_SECONDS",
    "load_or_fit",
    "log",
    "prune",
    "surrogate_dir",
    "surrogate_path",
]

log = logging.getLogger(__name__)


SLOW_FIT_SECONDS = 5.0
KEEP_PER_REGRESSOR = 3
_FORMAT = 5  # 2: GP kernel hyperparameters shared by the seeds; 3: the noise scale as an input; 4: forest leaves of 3; 5: the GP's output warp and per-config noise


def surrogate_dir() -> Path:
    """Where fitted surrogates are kept: <user cache dir>/surrogates."""
    return user_cache_dir() / "surrogates"


def fingerprint(table: CurveTable, regressor: str, seed: int) -> str:
    """A digest of everything a fitted surrogate depends on."""
    digest = hashlib.sha256()
    header = {
        "format": _FORMAT,
        "model": table.model,
        "regressor": regressor,
        "seed": seed,
        "space": table.space.to_dict(),
        "configs": table.config_ids,
        "seeds": table.seeds,
        "sklearn": sklearn.__version__,
        "numpy": np.__version__,
    }
    digest.update(json.dumps(header, sort_keys=True).encode())
    for array in (table.val_error, table.test_error, table.epoch_seconds, table.complete):
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()[:24]


def _prefix(model: str, regressor: str) -> str:
    return f"{model}-{regressor}-"


def surrogate_path(table: CurveTable, regressor: str, seed: int) -> Path:
    """The file a fit of `table` by `regressor` is kept in."""
    return surrogate_dir() / f"{_prefix(table.model, regressor)}{fingerprint(table, regressor, seed)}.pkl"


def prune(model: str, regressor: str, keep: int = KEEP_PER_REGRESSOR) -> list[Path]:
    """Delete all but the `keep` most recently used fits of `model` by `regressor`; return the deleted."""
    prefix = _prefix(model, regressor)
    # the exact name shape, so that "a-b" never prunes the files of a model "a" and regressor "b-..."
    used = []
    for path in surrogate_dir().glob(f"{prefix}*.pkl"):
        digest = path.stem[len(prefix) :]
        if len(digest) == 24 and all(c in "0123456789abcdef" for c in digest):
            with contextlib.suppress(OSError):  # another process may have removed it meanwhile
                used.append((path.stat().st_mtime, path))
    used.sort(reverse=True)
    removed = []
    for _, path in used[keep:]:
        with contextlib.suppress(OSError):  # another process may have removed it first
            path.unlink()
            removed.append(path)
    return removed


def _load(path: Path) -> Surrogate | None:
    try:
        check_private(path)  # unpickling runs code: only the user's own files, others cannot write
    except UnsafeFileError as exc:
        log.warning("refitting the surrogate: %s", exc)
        return None
    except OSError:
        return None
    try:
        with path.open("rb") as fh:
            surrogate = pickle.load(fh)
    except Exception:  # missing, damaged, truncated or from an incompatible library: refit instead
        return None
    return surrogate if isinstance(surrogate, Surrogate) else None


def load_or_fit(
    table: CurveTable,
    regressor: str | None = None,
    seed: int = 0,
    config_subset: Sequence[int] | None = None,
) -> Surrogate:
    """`Surrogate.fit(table, ...)`, read from disk when an identical slow fit was kept."""
    if config_subset is not None:  # cross-validation folds: fitted once each, never reused
        return Surrogate.fit(table, regressor, seed, config_subset)
    regressor = regressor or preferred_regressor(table.model)
    path = surrogate_path(table, regressor, seed)
    surrogate = _load(path)
    if surrogate is not None:
        with contextlib.suppress(OSError):  # marks it recently used, for prune(); read-only is fine
            os.utime(path)
        return surrogate
    started = time.perf_counter()
    surrogate = Surrogate.fit(table, regressor, seed)
    if time.perf_counter() - started >= SLOW_FIT_SECONDS:
        try:
            private_dir(path.parent)
            data = pickle.dumps(surrogate, protocol=pickle.HIGHEST_PROTOCOL)
            atomic_write_bytes(path, data, mode=0o600)  # loaded only if no one else can write it
            prune(table.model, regressor)
        except OSError:  # a read-only cache dir costs the next run a refit, nothing else
            pass
    return surrogate
