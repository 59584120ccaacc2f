"""The build's tables in memory are checked in one pass over their values (issue 18): pandera
checks the columns and their types, every value check of every table is one Polars expression
(`schemas.checks`), and a failing value makes pandera run in full, so that a table fails exactly
as pandera alone fails it; a check no expression stands for is still run, by pandera."""

from __future__ import annotations

import subprocess
import sys

import pandera.polars as pa
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from schemas.checks import value_checks
from schemas.study import load_study
from schemas.tables import warehouse_schemas
from surveyhouse.build import _validated
from tests.flows.builds import full_build, published_demo_night


@pytest.fixture(scope="module")
def frames(tmp_path_factory) -> dict[str, pl.DataFrame]:
    """Every table of a full build of the demo, as a frame."""
    night = published_demo_night(tmp_path_factory.mktemp("one-pass"))
    built = full_build(night)
    built.pop("_loaded").discard()
    schemas = warehouse_schemas(load_study().book)
    return {
        name: (t.lazy() if isinstance(t, pl.DataFrame) else t.lazy()).select(list(schemas[name].columns)).collect()
        for name, t in built.items()
        if name in schemas
    }


def _pandera_alone(frame: pl.DataFrame, schema) -> pl.DataFrame | pa.errors.SchemaErrors:
    try:
        return schema.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as errors:
        return errors


def _bad_values(series: pl.Series) -> list[pl.Series]:
    """Values one of which fails a check of a column like ``series``: a null, an unknown text, numbers
    out of any range, a list naming its first option twice."""
    dtype = series.dtype
    values: list = [None]
    if dtype == pl.Utf8:
        values += ["not-a-known-value"]
    elif dtype.is_numeric():
        values += [-1, 10**6] if dtype.is_integer() else [-1.0, 1e12, float("nan")]
    elif isinstance(dtype, pl.List):
        first = series.explode().drop_nulls()
        values += [[first[0], first[0]]] if first.len() else []
    return [pl.Series(series.name, [value], dtype=dtype) for value in values]


def _broken(frame: pl.DataFrame, column: str, value: pl.Series) -> pl.DataFrame:
    """``frame`` with ``value`` in its first row's ``column``."""
    return pl.concat([frame.head(1).with_columns(value), frame.slice(1)])


def _failing_frames(frame: pl.DataFrame, schema) -> dict[str, pl.DataFrame]:
    """For each check pandera makes of ``schema``'s values, a copy of ``frame`` with one value that
    fails it (pandera alone tells which), by the check's name and column."""
    found: dict[str, pl.DataFrame] = {}
    for name, column in schema.columns.items():
        wanted = {f"{name}:{c.name}" for c in column.checks} | (
            {f"{name}:not_nullable"} if not column.nullable else set()
        )
        for value in _bad_values(frame[name]):
            broken = _broken(frame, name, value)
            outcome = _pandera_alone(broken, schema)
            if isinstance(outcome, pa.errors.SchemaErrors):
                checks = outcome.failure_cases.filter(pl.col("column") == name)["check"].to_list()
                for check in wanted - set(found):
                    if any(c == check.split(":")[1] or c.startswith(check.split(":")[1] + "(") for c in checks):
                        found[check] = broken
        if column.unique and frame.height > 1:
            found[f"{name}:field_uniqueness"] = pl.concat([frame.head(1), frame.head(1), frame.slice(2)])
    if schema.unique:
        found["multiple_fields_uniqueness"] = pl.concat([frame, frame.head(1)])
    return found


def test_every_check_of_every_warehouse_table_is_one_expression():
    schemas = warehouse_schemas(load_study().book)
    for name, schema in schemas.items():
        types = pl.Schema({c: column.dtype.type for c, column in schema.columns.items()})
        _, untranslated = value_checks(schema, types)
        assert untranslated == [], name


def test_a_good_table_is_returned_as_pandera_returns_it(frames):
    schemas = warehouse_schemas(load_study().book)
    for name, frame in frames.items():
        assert frame.height > 1, name
        assert_frame_equal(_validated(frame, schemas[name]), schemas[name].validate(frame, lazy=True))


def test_one_bad_value_of_any_check_fails_the_table_as_pandera_alone_fails_it(frames):
    schemas = warehouse_schemas(load_study().book)
    tried = 0
    for name, frame in frames.items():
        schema = schemas[name]
        failing = _failing_frames(frame, schema)
        checked = {f"{c}:{check.name}" for c, column in schema.columns.items() for check in column.checks}
        assert checked <= set(failing), (name, checked - set(failing))
        for check, broken in failing.items():
            expected = _pandera_alone(broken, schema)
            with pytest.raises(pa.errors.SchemaErrors) as raised:
                _validated(broken, schema)
            assert str(raised.value) == str(expected), (name, check)
            assert_frame_equal(raised.value.failure_cases, expected.failure_cases)
            tried += 1
    assert tried > 100


def test_a_check_that_is_no_expression_is_still_run_by_pandera():
    """A check made of more than one select (here a row-by-row check) is run by pandera itself."""
    schema = pa.DataFrameSchema(
        {
            "share": pa.Column(pl.Float64, checks=[pa.Check.in_range(0, 1)]),
            "code": pa.Column(pl.Utf8, checks=[pa.Check(lambda code: code.isupper(), element_wise=True, name="upper")]),
        }
    )
    _, untranslated = value_checks(schema, pl.Schema({"share": pl.Float64, "code": pl.Utf8}))
    assert [(column, check.name) for column, check in untranslated] == [("code", "upper")]
    good = pl.DataFrame({"share": [0.5, 1.0], "code": ["A", "B"]})
    assert_frame_equal(_validated(good, schema), good)
    with pytest.raises(pa.errors.SchemaErrors) as raised:
        _validated(good.with_columns(code=pl.Series(["A", "b"])), schema)
    assert raised.value.failure_cases.select("column", "check", "failure_case").rows() == [("code", "upper", "b")]


PROBE = """
import sys
import polars as pl
import surveyhouse.night, surveyhouse.build, surveyhouse.staging
from schemas.tables import LABELS
before = set(sys.modules)
LABELS.validate(pl.DataFrame({"question": ["q"], "code": ["a"], "language": ["en"], "label": ["A"],
                              "position": pl.Series([1], dtype=pl.Int32), "kind": ["option"]}), lazy=True)
print(sorted(set(sys.modules) - before))
"""


def test_a_nights_first_validation_imports_nothing_new():
    """pandera registers its Polars backends (and imports its data-synthesis strategies, and all of
    Hypothesis where installed) at its first validation, unless they are registered: the schemas'
    modules register them when imported, outside the night's work."""
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.strip() == "[]", out.stdout
