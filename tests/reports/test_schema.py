"""The result schema: the engine's row and the file agree, and no other module spells a column."""

from __future__ import annotations

import ast
import math
from pathlib import Path

import pyarrow as pa
import pytest

import reports.schema as schema
from bench.experiment import ReplayOptions, RunSpec, run_replay
from bench.results import rows_table, run_record
from hpo.tuner import ROW_FIELDS, Budget, Row

ROOT = Path(__file__).resolve().parents[2]

#: every name the schema spells
COLUMNS = {getattr(schema, name) for name in schema.__all__ if isinstance(getattr(schema, name), str)}

#: the result table's own columns: no other name in bench means them (the generic ones, model,
#: seed, workers..., are also the keys of the stored specs, which `RunSpec.to_dict` owns)
TABLE_ONLY = {
    schema.EXPERIMENT_ID,
    schema.TRIAL_ID,
    schema.RESUME_FROM,
    schema.VAL_ERROR,
    schema.TEST_ERROR,
    schema.T_START,
    schema.T_END,
    schema.CONFIG_ERROR,
    schema.CACHE_ERROR,
    schema.UTILISATION,
    schema.FULL_TRAININGS,
    schema.EXHAUSTED,
    schema.CONFIG_RANK,
}

#: a stored spec, plan or failure record is read by its own keys, not by column names
RECORDS = {"spec", "plan", "record", "run", "meta", "stored", "failure"}


def test_the_job_columns_are_the_engine_rows_fields() -> None:
    # a field added to hpo.tuner.Row (or renamed) without the schema would be written under a
    # name that reports does not read
    assert schema.JOB_COLUMNS == ROW_FIELDS


def test_a_replay_result_table_has_the_schema_columns_and_types() -> None:
    spec = RunSpec("softmax", "asha", Budget(trials=8), where=ReplayOptions(workers=2))
    table = rows_table(run_replay(spec).outcome.rows, spec)
    names = [
        *schema.EXPERIMENT_COLUMNS,
        *(c for c in schema.JOB_COLUMNS if c != schema.CONFIG),
        schema.CONFIG,
    ]
    assert table.column_names == [*names, *(schema.hp_column(n) for n in spec.search_space.names)]
    types = dict(zip(table.column_names, table.schema.types, strict=True))
    assert types[schema.MODEL] == types[schema.CONFIG] == types[schema.STATUS] == pa.large_string()
    assert types[schema.TRIAL_ID] == types[schema.EPOCHS] == types[schema.WORKER] == pa.int64()
    assert types[schema.VAL_ERROR] == types[schema.T_END] == pa.float64()


def test_a_nan_is_null_and_an_integer_column_with_a_gap_is_float() -> None:
    table = schema.result_table({"a": [1.0, math.nan], "b": [1, None], "c": ["x", None]})
    assert table.column("a").null_count == 1
    assert table.schema.field("b").type == pa.float64()
    assert table.schema.field("c").type == pa.large_string()


def test_rows_with_a_nan_test_error_are_written() -> None:
    spec = RunSpec("softmax", "random", Budget(trials=2), where=ReplayOptions())
    rows = [Row(0, {"learning_rate": 0.1, "batch_size": 64}, 1, 0, 0.5, math.nan, "diverged", 0, 0.0, 1.0)]
    table = rows_table(rows, spec)
    assert table.column(schema.TEST_ERROR).null_count == 1 and table.num_rows == 1


def _column_literals(source: str, where: str, names: set[str]) -> list[str]:
    """`names` read by their spelling in `source`: a string literal as a subscript, a call's
    argument or the left of an `in` test.

    Left alone: a stored record's keys (`spec["workers"]`: the record's own format), a dict
    literal's keys (a column written under an old name fails loudly where the schema's name is
    read) and axis labels (`ax.set_xlabel("workers")`: words for a reader).
    """
    tree = ast.parse(source)
    spared: set[int] = set()
    spots: list[ast.AST] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Subscript):
            if isinstance(node.value, ast.Name) and node.value.id in RECORDS:
                spared.update(id(sub) for sub in ast.walk(node.slice))
            spots.append(node.slice)
        elif isinstance(node, ast.Dict):
            spared.update(id(key) for key in node.keys if key is not None)
        elif isinstance(node, ast.Call):
            if isinstance(node.func, ast.Attribute) and node.func.attr.startswith("set_"):
                spared.update(id(sub) for arg in node.args for sub in ast.walk(arg))
            spots += [*node.args, *(k.value for k in node.keywords)]
        elif isinstance(node, ast.Compare):
            spots.append(node.left)
    found, seen = [], set(spared)
    for spot in spots:
        for sub in ast.walk(spot):
            if isinstance(sub, ast.Constant) and sub.value in names and id(sub) not in seen:
                seen.add(id(sub))
                found.append(f"{where}:{sub.lineno}: {sub.value!r}")
    return found


def test_no_module_of_reports_but_the_schema_spells_a_column() -> None:
    # a column renamed in the schema must not leave a reader behind that looks for the old name
    found = [
        spot
        for path in sorted((ROOT / "reports").glob("*.py"))
        if path.name != "schema.py"
        for spot in _column_literals(path.read_text(), str(path.relative_to(ROOT)), COLUMNS)
    ]
    assert not found, "\n".join(found)


def test_no_module_of_bench_spells_a_result_table_column() -> None:
    # bench/commands/cache prints the curve cache, whose columns cache.store.schema names
    found = [
        spot
        for path in sorted((ROOT / "bench").rglob("*.py"))
        if "cache" not in path.relative_to(ROOT / "bench").parts[:-1]
        for spot in _column_literals(path.read_text(), str(path.relative_to(ROOT)), TABLE_ONLY)
    ]
    assert not found, "\n".join(found)


@pytest.mark.parametrize(
    "source", ['x = rows["val_error"]', 'x = frame.groupby(["algorithm", "seed"])', 'x = "t_end" in rows']
)
def test_the_scan_finds_a_spelled_column(source) -> None:
    # the two tests above pass on a clean tree; this shows they would see a column spelled out
    assert _column_literals(source, "probe.py", COLUMNS)


def test_the_scan_leaves_a_stored_spec_and_a_label_alone() -> None:
    source = 'w = spec["workers"]\nax.set_xlabel("workers")\nrecord = {"val_error": 0.1}\n'
    assert not _column_literals(source, "probe.py", COLUMNS)


def test_a_column_beside_the_rows_keeps_nan_as_nan() -> None:
    # a comparison's CONFIG_ERROR has always been written with NaN as NaN (the rows' own float
    # columns read NaN as null); the stored bytes of a config without a worth must not change
    spec = RunSpec("softmax", "random", Budget(trials=3), where=ReplayOptions())
    done = run_replay(spec)
    worth = [math.nan] + [0.2] * (len(done.outcome.rows) - 1)
    table, _ = run_record(spec, done, "bench compare", "compare-replay", {schema.CONFIG_ERROR: worth})
    column = table.column(schema.CONFIG_ERROR)
    assert column.null_count == 0 and math.isnan(column[0].as_py())
