"""A model's curve cache as a Syne Tune tabular blackbox (optional extra `synetune`), for its simulator.

    from cache.frameworks.synetune import export_blackbox
    export_blackbox("lenet", "blackboxes/hpobench-lenet")      # Syne Tune's on-disk format

    from syne_tune.blackbox_repository.blackbox_tabular import deserialize
    blackbox = deserialize("blackboxes/hpobench-lenet")["lenet"]

The blackbox holds every collected config (its hyperparameters in the space's order), every
training seed, every epoch (the fidelity `epoch`, 1..max) and three objectives: `val_error`,
`test_error` and `elapsed_time`, the seconds of training from scratch to that epoch on the
cache's one clock (what Syne Tune's simulator advances its clock by). A tabular blackbox
answers only collected configs: for searchers that propose others, Syne Tune's
`add_surrogate(blackbox)` answers with the nearest collected config, as hpobench's nearest mode.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cache.lookup.blackbox import BlackBox, open_benchmark
from hpo.errors import ConfigError
from hpo.formats.synetune import INSTALL, synetune_module, to_synetune

__all__ = ["FIDELITY", "export_blackbox"]

FIDELITY = "epoch"
OBJECTIVES = ("val_error", "test_error", "elapsed_time")


def _tabular() -> Any:
    try:
        from syne_tune.blackbox_repository import blackbox_tabular
    except ImportError:
        raise ConfigError(
            INSTALL + " (with huggingface_hub and fastparquet, which its blackboxes need)"
        ) from None
    return blackbox_tabular


def to_blackbox(bench: BlackBox) -> Any:
    """`bench`'s collected curves as a `syne_tune.blackbox_repository.BlackboxTabular`.

    Syne Tune's tables are dense (every config has every seed): a cache where some config
    lacks a complete training of some seed is refused, naming how many.
    """
    table = bench.table
    missing = int((~table.complete).sum())
    if missing:
        raise ConfigError(
            f"the {bench.model} cache lacks {missing} (config, seed) curves; a Syne Tune table needs every "
            "seed of every config (collect them with bench collect --extend)"
        )
    seconds = np.cumsum(table.epoch_seconds.astype(np.float64), axis=2)
    objectives = np.stack([table.val_error, table.test_error, seconds], axis=-1).astype(np.float32)
    hyperparameters = pd.DataFrame(
        [[c[n] for n in bench.space.names] for c in table.configs], columns=list(bench.space.names)
    )
    return _tabular().BlackboxTabular(
        hyperparameters=hyperparameters,
        configuration_space=to_synetune(bench.space),
        fidelity_space={FIDELITY: synetune_module().randint(1, bench.max_fidelity)},
        objectives_evaluations=objectives,
        fidelity_values=np.arange(1, bench.max_fidelity + 1),
        objectives_names=list(OBJECTIVES),
    )


def export_blackbox(model: str, path: str | Path, cache_dir: str | Path | None = None) -> Path:
    """Write `model`'s cache to `path` in Syne Tune's blackbox format (one task, named `model`)."""
    bench = open_benchmark(model, "tabular", cache_dir)
    path = Path(path)
    try:
        _tabular().serialize(
            {model: to_blackbox(bench)},
            str(path),
            metadata={"source": "hpobench", "model": model, "cache_digest": bench.digest()},
        )
    except OSError as exc:
        raise ConfigError(f"cannot write the Syne Tune blackbox to {path}: {exc.strerror or exc}") from None
    return path
