"""The result files' schema: every column `bench` writes and `reports` reads, with its type.

A result file (Parquet) holds one row per finished job of one run, in the order the results
came back:

- the run's identity (EXPERIMENT_COLUMNS), the same on every row;
- the job (JOB_COLUMNS): the engine's `hpo.tuner.Row`, field for field and in its order;
- the config once more as JSON (CONFIG) and one `hp_<name>` column per hyperparameter;
- what the run's kind adds: a comparison's replay CONFIG_ERROR, an agreement's live run
  CACHE_ERROR.

Gathering a comparison's runs, `bench` adds the setting of each (SETTING_COLUMNS) and a table of
how its workers were used (USAGE_COLUMNS); beside them go the records of failed replays
(FAILURE_FIELDS) and a sample of the cache's learning curves (CURVE_COLUMNS). These names are
spelled here and nowhere else.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = [
    "ALGORITHM",
    "BACKEND",
    "BUDGET_TRAININGS",
    "CACHE_ERROR",
    "CONFIG",
    "CONFIG_ERROR",
    "CONFIG_ID",
    "CONFIG_RANK",
    "CURVE_COLUMNS",
    "EPOCH",
    "EPOCHS",
    "EXHAUSTED",
    "EXPERIMENT_COLUMNS",
    "EXPERIMENT_ID",
    "FAILURE_FIELDS",
    "FULL_TRAININGS",
    "HP_PREFIX",
    "JOB_COLUMNS",
    "MESSAGE",
    "METADATA_KEY",
    "MODEL",
    "RESUME_FROM",
    "SEED",
    "SETTING_COLUMNS",
    "STATUS",
    "TEST_ERROR",
    "TRIAL_ID",
    "T_END",
    "T_START",
    "USAGE_COLUMNS",
    "UTILISATION",
    "VAL_ERROR",
    "WORKER",
    "WORKERS",
    "hp_column",
    "result_table",
]

# -- the run's identity --------------------------------------------------------------------
EXPERIMENT_ID: Final = "experiment_id"  # 12 hex digits of the run's spec
MODEL: Final = "model"
ALGORITHM: Final = "algorithm"
BACKEND: Final = "backend"  # live or replay
SEED: Final = "seed"  # the experiment seed
EXPERIMENT_COLUMNS: Final = (EXPERIMENT_ID, MODEL, ALGORITHM, BACKEND, SEED)

# -- the job: hpo.tuner.Row ------------------------------------------------------------------
TRIAL_ID: Final = "trial_id"
CONFIG: Final = "config"  # in the file: the config as JSON with sorted keys
EPOCHS: Final = "epochs"  # trained to
RESUME_FROM: Final = "resume_from"  # continued from
VAL_ERROR: Final = "val_error"  # finite: a diverged or failed job reads the worst error
TEST_ERROR: Final = "test_error"
STATUS: Final = "status"  # ok, diverged or failed
WORKER: Final = "worker"
T_START: Final = "t_start"  # seconds since the run started, real or simulated
T_END: Final = "t_end"
JOB_COLUMNS: Final = (
    TRIAL_ID,
    CONFIG,
    EPOCHS,
    RESUME_FROM,
    VAL_ERROR,
    TEST_ERROR,
    STATUS,
    WORKER,
    T_START,
    T_END,
)

HP_PREFIX: Final = "hp_"

# -- what a run's kind adds ------------------------------------------------------------------
CONFIG_ERROR: Final = "config_error"  # a comparison's replay: what the row's config is worth at r_max
CACHE_ERROR: Final = "cache_val_error"  # an agreement's live run: the cache's answer for the row

# -- what bench adds when it gathers a comparison's runs --------------------------------------
WORKERS: Final = "workers"
BUDGET_TRAININGS: Final = "budget_trainings"  # the budget in trainings to r_max
SETTING_COLUMNS: Final = (MODEL, WORKERS, BUDGET_TRAININGS)
UTILISATION: Final = "utilisation"  # busy worker-seconds over workers x makespan
FULL_TRAININGS: Final = "full_trainings"  # jobs that reached r_max
EXHAUSTED: Final = "exhausted"  # whether the replay used up the table
USAGE_COLUMNS: Final = (UTILISATION, FULL_TRAININGS, EXHAUSTED)

# -- a failed replay's record (bench compare keeps one per failure, the report counts them) ------
MESSAGE: Final = "message"
FAILURE_FIELDS: Final = (MODEL, ALGORITHM, WORKERS, BUDGET_TRAININGS, SEED, MESSAGE)

# -- the sample of learning curves a comparison report draws -----------------------------------
CONFIG_ID: Final = "config_id"
CONFIG_RANK: Final = "config_rank"  # 0 for the best config's curve
EPOCH: Final = "epoch"
CURVE_COLUMNS: Final = (MODEL, CONFIG_ID, CONFIG_RANK, EPOCH, VAL_ERROR)

#: the Parquet metadata key under which a result file keeps its run's record (spec, command, versions)
METADATA_KEY: Final = b"hpobench_results"


def hp_column(name: str) -> str:
    """The column of hyperparameter `name`."""
    return HP_PREFIX + name


def result_table(columns: Mapping[str, Sequence[Any]]) -> pa.Table:
    """Columns of Python values as a result table, each typed as the files have always had it."""
    import pyarrow as pa  # here: the names above are read by commands that must start fast

    return pa.table({name: _typed(values) for name, values in columns.items()})


def _typed(values: Sequence[Any]) -> pa.Array:
    # the types pandas gave these columns when the files were first written: NaN as null, large
    # strings, an integer column with a missing value as floats
    import pyarrow as pa

    array = pa.array(values, from_pandas=True)
    if pa.types.is_string(array.type):
        return array.cast(pa.large_string())
    if pa.types.is_integer(array.type) and array.null_count:
        return array.cast(pa.float64())
    return array
