"""What a cache's manifest lets a collection add to it (no training: the checks come first)."""

from __future__ import annotations

import pytest

from cache.collect.collection import CollectSpec, check_manifest, plan
from cache.store.shards import CurveStore
from hpo.errors import ConfigError
from hpo.models import get_model


def _stored(tmp_path, spec: CollectSpec, **entry_changes) -> CurveStore:
    store = CurveStore(tmp_path)
    manifest = check_manifest(spec, store, command="first")
    manifest["collections"][0].update(entry_changes)
    manifest["collections"][0] = {k: v for k, v in manifest["collections"][0].items() if v is not None}
    store.write_manifest(spec.model, manifest)
    return store


def test_the_manifest_records_the_model_revision(tmp_path) -> None:
    spec = CollectSpec(model="svm", n_configs=2, epochs=1)
    manifest = check_manifest(spec, CurveStore(tmp_path), command="c")
    assert manifest["collections"][0]["model_revision"] == get_model("svm").revision == 2


def test_curves_of_another_model_revision_are_never_added_to(tmp_path) -> None:
    """Catches SVM curves measured on the last iterate mixed with ones measured on the average."""
    spec = CollectSpec(model="svm", n_configs=2, epochs=1)
    store = _stored(tmp_path, spec, model_revision=1)
    for attempt in (spec, CollectSpec(model="svm", n_configs=2, epochs=1, extend=True)):
        with pytest.raises(ConfigError, match="revision 1 of its training.*today's revision 2.*--cache-dir"):
            check_manifest(attempt, store, command="again")


def test_a_manifest_without_revisions_holds_revision_one(tmp_path) -> None:
    """Caches collected before revisions existed (softmax's, say) stay usable as they are."""
    spec = CollectSpec(model="softmax", n_configs=2, epochs=1)
    store = _stored(tmp_path, spec, model_revision=None)
    assert "model_revision" not in store.manifest("softmax")["collections"][0]
    manifest = check_manifest(CollectSpec(model="softmax", n_configs=4, epochs=1), store, command="more")
    assert manifest["collections"][0]["configs"] == 4


def test_a_shipped_cache_of_another_revision_is_not_reused(tmp_path) -> None:
    svm = CollectSpec(model="svm", n_configs=2, epochs=1)
    tasks = plan(svm, CurveStore(tmp_path / "mine")).tasks
    for revision, missing in ((1, tasks), (2, [])):
        shipped = _stored(tmp_path / f"shipped{revision}", svm, model_revision=revision)
        shipped.done_keys = lambda model: {(t.config_id, t.train_seed) for t in tasks}  # holds every training
        assert plan(svm, CurveStore(tmp_path / "mine"), reuse=(shipped,)).missing == missing
