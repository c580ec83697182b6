"""Where caches live: the one shipped inside the package, and the user's own."""

from __future__ import annotations

from pathlib import Path

from cache.store.shards import CurveStore
from hpo.files import user_cache_dir

__all__ = ["SHIPPED_ROOT", "stores", "writable_store"]

SHIPPED_ROOT = Path(__file__).resolve().parents[1] / "shipped"


def user_root() -> Path:
    """The user's curve cache, where `bench collect` writes without --cache-dir."""
    return user_cache_dir() / "curves"


def stores(cache_dir: str | Path | None = None) -> list[CurveStore]:
    """The stores to read: `cache_dir` alone if given, else the shipped cache then the user's."""
    if cache_dir is not None:
        return [CurveStore(cache_dir)]
    return [CurveStore(SHIPPED_ROOT), CurveStore(user_root())]


def writable_store(cache_dir: str | Path | None = None) -> CurveStore:
    """The store `bench collect` writes to."""
    return CurveStore(cache_dir if cache_dir is not None else user_root())
