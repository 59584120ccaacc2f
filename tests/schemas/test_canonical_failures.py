"""The contract's value checks made in one pass (``contract_failures``) report exactly what
pandera reports, row for row and in its order, on rows that fail every kind of check."""

from __future__ import annotations

from datetime import UTC, datetime

import pandera.polars as pa
import polars as pl
from pandera.config import ValidationDepth, config_context
from polars.testing import assert_frame_equal

from schemas.canonical import canonical_schema, contract_failures
from schemas.codebook import codebook
from surveyhouse.staging import _schema_failures, has_contract_types

BOOK = codebook()
START = datetime(2024, 11, 2, 9, 0, tzinfo=UTC)


def _valid_row(number: int) -> dict:
    row = {"source_row": number, "response_id": f"R_{number}", "started_at": START,
           "submitted_at": datetime(2024, 11, 2, 9, 5, tzinfo=UTC), "duration_s": 300.0, "is_finished": True,
           "language": "en", "email": f"p{number}@example.com", "ip_address": "198.51.100.7"}  # fmt: skip
    for question in BOOK.closed:
        first = question.option_codes[0]
        row[question.code] = first if question.type == "single" else [first]
    return row


def _hostile_frame() -> pl.DataFrame:
    """A row for each way a value can fail, a few rows failing several checks, valid rows between."""
    single = next(q for q in BOOK.closed if q.type == "single" and q.required)
    multi = next(q for q in BOOK.closed if q.type == "multi" and q.required and q.exclusive_codes)
    other = multi.option_codes[0] if multi.option_codes[0] not in multi.exclusive_codes else multi.option_codes[1]
    changes = [
        {}, {"response_id": "R_0"}, {"response_id": None}, {"response_id": ""}, {"response_id": None},
        {"duration_s": -5.0}, {"duration_s": float("nan")}, {"duration_s": None}, {"is_finished": False},
        {"is_finished": None}, {"language": "de"}, {"language": None}, {"started_at": datetime(2030, 1, 1, tzinfo=UTC)},
        {"submitted_at": None}, {single.code: "Stagiaire"}, {single.code: None}, {single.code: ""},
        {multi.code: None}, {multi.code: []}, {multi.code: ["zzz"]}, {multi.code: [multi.exclusive_codes[0], other]},
        {multi.code: [multi.exclusive_codes[0], "zzz"], single.code: "x", "language": "ja", "duration_s": -1.0},
        {multi.code: [None]}, {"email": "ada@example.com\x00", "response_id": "R_1"},
    ]  # fmt: skip
    rows = []
    for number, change in enumerate(changes):
        rows += [_valid_row(2 * number) | change, _valid_row(2 * number + 1)]
    schema = {name: column.dtype.type for name, column in canonical_schema(BOOK).columns.items()}
    return pl.DataFrame(rows, schema=schema | {"email": pl.Utf8, "ip_address": pl.Utf8})


def _pandera_failures(frame: pl.DataFrame) -> pl.DataFrame:
    try:
        canonical_schema(BOOK).validate(frame, lazy=True)
    except pa.errors.SchemaErrors as errors:
        return errors.failure_cases
    return pl.DataFrame()


def test_contract_failures_in_one_pass_are_pandera_s_on_every_kind_of_failure():
    frame = _hostile_frame()
    expected = _pandera_failures(frame)
    assert expected.height >= 25 and expected["check"].n_unique() >= 10
    assert_frame_equal(contract_failures(frame, BOOK), expected)
    assert_frame_equal(_schema_failures(frame, BOOK), expected)


def test_contract_failures_of_rows_that_all_pass_are_none():
    frame = pl.concat([_hostile_frame().head(1), _hostile_frame().slice(3, 1)])
    assert _pandera_failures(frame).is_empty() and contract_failures(frame, BOOK).is_empty()
    assert _schema_failures(frame, BOOK).shape == (0, 0)


def test_a_column_of_another_type_is_reported_by_pandera_itself():
    frame = _hostile_frame().with_columns(pl.col("duration_s").cast(pl.Utf8))
    assert_frame_equal(_schema_failures(frame, BOOK), _pandera_failures(frame))
    assert "dtype('Float64')" in _schema_failures(frame, BOOK)["check"].to_list()


def _pandera_finds_the_columns_and_types_right(frame: pl.DataFrame) -> bool:
    try:
        with config_context(validation_depth=ValidationDepth.SCHEMA_ONLY):
            canonical_schema(BOOK).validate(frame, lazy=True)
    except pa.errors.SchemaErrors:
        return False
    return True


def test_the_contracts_columns_and_types_are_told_right_as_pandera_tells_them():
    frame = _hostile_frame()
    single = next(q.code for q in BOOK.closed if q.type == "single")
    multi = next(q.code for q in BOOK.closed if q.type == "multi")
    frames = [
        frame,
        frame.drop("duration_s"),
        frame.with_columns(pl.col(single).cast(pl.Utf8)),
        frame.with_columns(pl.col(multi).cast(pl.List(pl.Categorical))),
        frame.with_columns(pl.col("started_at").dt.replace_time_zone(None)),
        frame.with_columns(pl.col("source_row").cast(pl.Int32)),
    ]
    told = [has_contract_types(one, canonical_schema(BOOK)) for one in frames]
    assert told == [_pandera_finds_the_columns_and_types_right(one) for one in frames]
    assert told == [True, False, False, False, False, False]


def test_a_slice_of_the_contracts_columns_and_types_is_checked_without_pandera(monkeypatch):
    calls = []
    validate = pa.DataFrameSchema.validate

    def counted(self, *args, **kwargs):  # (pandera still runs: only counted)
        calls.append(self.name)
        return validate(self, *args, **kwargs)

    monkeypatch.setattr(pa.DataFrameSchema, "validate", counted)
    failures = _schema_failures(_hostile_frame(), BOOK)
    assert calls == [] and not failures.is_empty()
    # A frame whose types pandera must see: pandera says what is wrong, as before.
    wrong = _schema_failures(_hostile_frame().with_columns(pl.col("source_row").cast(pl.Int32)), BOOK)
    assert calls and "dtype('Int64')" in wrong["check"].to_list()
