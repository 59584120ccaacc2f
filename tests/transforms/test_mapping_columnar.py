"""The columnar mapping (``canonical_from_wide``, what ingestion takes) gives exactly the
frame of the cell path (``map_cells`` + ``canonical_responses``), on every case export:
every layout and language, split and joined multi-selects, numeric codes, "Other" boxes
and texts written in place, broken rows."""

from pathlib import Path

import pytest
from polars.testing import assert_frame_equal

from surveyhouse.read import read_export
from transforms.headers import resolve_columns
from transforms.layouts import detect_layout
from tests.transforms.reference import canonical_responses
from transforms.mapping import canonical_from_wide, map_cells, resolved_frame

CASES = Path(__file__).resolve().parents[1] / "cases" / "exports"
FILES = sorted(p.name for p in CASES.iterdir() if p.is_file()) + [
    "broken/missing_required_question.csv",
    "broken/too_many_failed_rows.csv",
]


@pytest.mark.parametrize("name", FILES)
def test_the_columnar_mapping_equals_the_cell_mapping(book, name):
    raw = read_export(CASES / name)
    layout = detect_layout(raw.header, kind=raw.kind)
    parsed = layout.parse(raw.frame.lazy(), raw.header)
    assert parsed.wide is not None
    meta = parsed.meta.collect().lazy()
    resolved, _ = resolve_columns(parsed.columns, book=book)
    answers, texts = map_cells(parsed.cells, resolved_frame(resolved), book=book, other_in_place=layout.other_in_place)
    by_cells = canonical_responses(meta, answers, texts, book=book, header_language="en").collect()
    columnar = canonical_from_wide(
        meta, parsed.wide, resolved, book=book, other_in_place=layout.other_in_place, header_language="en"
    )
    assert_frame_equal(columnar.collect(), by_cells)
