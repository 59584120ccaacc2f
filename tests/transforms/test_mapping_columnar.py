"""The columnar mapping (``canonical_from_wide``, what ingestion takes) gives, on every
case export, what a plain Python reading of the cells gives (``plain_canonical_rows`` in
tests/transforms/reference.py, which shares no code with ``transforms.mapping``): every
layout and language, split and joined multi-selects, numeric codes, "Other" boxes and
texts written in place, broken rows."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from surveyhouse.read import read_export
from tests.transforms.reference import canonical_responses, plain_canonical_rows, split_joined
from transforms.headers import resolve_columns
from transforms.layouts import detect_layout
from transforms.mapping import canonical_from_wide, map_cells, resolved_frame

CASES = Path(__file__).resolve().parents[1] / "cases" / "exports"
FILES = sorted(p.name for p in CASES.iterdir() if p.is_file()) + [
    "broken/missing_required_question.csv",
    "broken/too_many_failed_rows.csv",
]


def _parsed(book, name):
    raw = read_export(CASES / name)
    layout = detect_layout(raw.header, kind=raw.kind)
    parsed = layout.parse(raw.frame.lazy(), raw.header)
    resolved, _ = resolve_columns(parsed.columns, book=book)
    return layout, parsed, resolved


@pytest.mark.parametrize("name", FILES)
def test_the_columnar_mapping_equals_a_plain_reading_of_the_cells(book, name):
    layout, parsed, resolved = _parsed(book, name)
    meta = parsed.meta.collect()
    columnar = canonical_from_wide(
        meta.lazy(), parsed.wide, resolved, book=book, other_in_place=layout.other_in_place, header_language="en"
    ).collect()
    expected = plain_canonical_rows(
        parsed.cells.collect(), resolved, meta, book=book, other_in_place=layout.other_in_place, header_language="en"
    )
    assert columnar.select(*expected[0]).to_dicts() == expected


@pytest.mark.parametrize("name", ["qualtrics_fr_labels_joined.csv", "typeform_en.csv", "excel_fr_typeform_fr.csv"])
def test_the_columnar_mapping_equals_the_cell_mapping(book, name):
    layout, parsed, resolved = _parsed(book, name)
    meta = parsed.meta.collect().lazy()
    answers, texts = map_cells(parsed.cells, resolved_frame(resolved), book=book, other_in_place=layout.other_in_place)
    by_cells = canonical_responses(meta, answers, texts, book=book, header_language="en").collect()
    columnar = canonical_from_wide(
        meta, parsed.wide, resolved, book=book, other_in_place=layout.other_in_place, header_language="en"
    )
    assert columnar.collect().equals(by_cells)


def test_the_plain_reading_splits_joined_labels_longest_first_and_keeps_the_rest():
    spellings = ["marketing & pr", "marketing", "retail", "1", "10"]
    assert split_joined("Marketing & PR, Retail;  Space tourism", spellings) == [
        "marketing & pr",
        "retail",
        "Space tourism",
    ]
    assert split_joined("1,10,210", spellings) == ["1", "10", "210"]


def test_a_response_takes_the_key_of_its_combination_of_answer_columns():
    from transforms.headers import ResolvedColumn
    from transforms.mapping import _combination_keys

    data = pl.DataFrame(
        {"1": ["a", None, "b", "a", "c"], "2": ["x", None, None, "y", "x"]},
        schema={"1": pl.Categorical, "2": pl.Utf8},
    )
    # One answer column: looked up value by value; a value not among the combinations, or none, has no key.
    one = [ResolvedColumn(1, "q1", None, "answer", None)]
    found = pl.DataFrame({"1": ["b", "a"], "_key": [7, 8]}, schema={"1": pl.Categorical, "_key": pl.Int64})
    assert _combination_keys(data, found, one).to_list() == [8, None, 7, 8, None]
    # An answer column and an "Other" box: the combination of the value and whether the box is filled.
    two = [ResolvedColumn(1, "q2", None, "answer", None), ResolvedColumn(2, "q2", None, "other_text", None)]
    found = pl.DataFrame(
        {"1": ["a", "b", "c", "a"], "_box2": [True, False, True, False], "_key": [0, 1, 2, 3]},
        schema={"1": pl.Categorical, "_box2": pl.Boolean, "_key": pl.Int64},
    )
    assert _combination_keys(data, found, two).to_list() == [0, None, 1, 0, 2]
