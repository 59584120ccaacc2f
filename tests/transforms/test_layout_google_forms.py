"""The Google Forms layout on real response sheets (read in place), and its synthetic ids."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from surveyhouse.read import read_export
from transforms.layouts import (
    CELLS_SCHEMA,
    META_SCHEMA,
    detect_layout,
    google_forms,
    surveymonkey,
    typeform,
)

HOT_DOG = "DS-4002-spr24-survey-results - Form Responses 1.csv"
SALARY = "Ask A Manager Salary Survey 2021 (Responses) - Form Responses 1.head28.csv"
#: file -> (data rows, first Timestamp, answer columns)
REAL_FILES = {
    HOT_DOG: (91, datetime(2024, 1, 18, 14, 18, 57, tzinfo=UTC), 6),
    SALARY: (28, datetime(2021, 4, 27, 11, 2, 10, tzinfo=UTC), 17),
}


def parse_raw(frame: pl.DataFrame, header):
    parsed = google_forms.parse(frame.lazy(), header)
    return parsed.meta.collect(), parsed.columns, parsed.cells.collect()


@pytest.fixture(scope="module")
def forms_dir(real_fixtures) -> Path:
    return real_fixtures / "google_forms"


@pytest.mark.parametrize(("name", "expected"), sorted(REAL_FILES.items()))
def test_every_real_response_sheet_is_detected_and_parsed_to_the_contract(forms_dir, name, expected):
    rows, first_timestamp, n_columns = expected
    raw = read_export(forms_dir / name)
    layout = detect_layout(raw.header)
    assert (layout.name, layout.source_tool, layout.other_in_place) == ("google_forms", "google_forms", True)
    assert not surveymonkey.detect(raw.header) and not typeform.detect(raw.header)
    meta, columns, cells = parse_raw(raw.frame, raw.header)
    assert dict(meta.schema) == META_SCHEMA and dict(cells.schema) == CELLS_SCHEMA
    assert meta.height == rows == raw.frame.height - 1
    assert meta["submitted_at"][0] == first_timestamp and meta["submitted_at"].null_count() == 0
    assert meta.select("started_at", "duration_s", "language", "email", "ip_address").null_count().row(0) == (rows,) * 5
    assert meta["is_finished"].all()
    ids = meta["response_id"]
    assert ids.n_unique() == rows and ids.str.contains(r"^gf-[0-9a-f]{16}$").all()
    assert len(columns) == n_columns and columns[0].index == 1 and all(c.sub_label is None for c in columns)


def test_joined_checkbox_cell_and_other_in_place_are_kept_whole(forms_dir):
    raw = read_export(forms_dir / SALARY)
    meta, columns, cells = parse_raw(raw.frame, raw.header)
    race = next(c for c in columns if c.header == "Race")
    race_cells = cells.filter(pl.col("column") == race.index)
    assert race_cells.filter(pl.col("source_row") == 11)["value"].to_list() == [
        "Hispanic, Latino, or Spanish origin, White"
    ]
    industry = next(c for c in columns if c.header == "Industry")
    assert "Public Library" in cells.filter(pl.col("column") == industry.index)["value"].to_list()
    assert cells.filter((pl.col("source_row") == 2) & (pl.col("column") == 5))["value"].to_list() == ["55,000"]


def test_same_second_submissions_get_distinct_ids(forms_dir):
    raw = read_export(forms_dir / SALARY)
    meta, _, _ = parse_raw(raw.frame, raw.header)
    same = meta.filter(pl.col("submitted_at") == datetime(2021, 4, 27, 11, 3, 11, tzinfo=UTC))
    assert same.height == 2 and same["response_id"].n_unique() == 2


def test_ids_survive_a_cumulative_export_and_an_added_column(forms_dir):
    raw = read_export(forms_dir / SALARY)
    full, _, _ = parse_raw(raw.frame, raw.header)
    # Yesterday's export: the first 15 responses only.
    yesterday, _, _ = parse_raw(raw.frame.filter(pl.col("source_row") <= 16), raw.header)
    assert yesterday["response_id"].to_list() == full["response_id"].to_list()[:15]
    # The owner adds a notes column and corrects a cell: ids do not move.
    edited = raw.frame.with_columns(
        pl.when(pl.col("source_row") == 1).then(pl.lit("Notes")).otherwise(pl.lit("checked")).alias("c18"),
        pl.when(pl.col("source_row") == 2).then(pl.lit("Librarian")).otherwise(pl.col("c3")).alias("c3"),
    )
    header = [list(row) for row in edited.head(3).drop("source_row").iter_rows()]
    again, columns, _ = parse_raw(edited, header)
    assert again["response_id"].to_list() == full["response_id"].to_list()
    assert columns[-1].header == "Notes"


def test_email_and_score_columns_are_metadata_and_day_first_sheets_parse():
    frame = (
        pl.DataFrame(
            {
                "c0": ["Horodateur", "18/01/2024 14:18:57", "02/01/2024 09:05:01"],
                "c1": ["Adresse e-mail", "ana@example.fr", None],
                "c2": ["Score", "3 / 5", "4 / 5"],
                "c3": ["Quel est votre niveau de poste actuel ?", "Débutant", "Responsable / Manager"],
            }
        )
        .with_row_index("source_row", offset=1)
        .with_columns(pl.col("source_row").cast(pl.Int64))
    )
    header = [list(row) for row in frame.head(3).drop("source_row").iter_rows()]
    assert google_forms.detect(header)
    meta, columns, _ = parse_raw(frame, header)
    assert [c.index for c in columns] == [3]
    assert meta["email"].to_list() == ["ana@example.fr", None]
    assert meta["submitted_at"].to_list() == [
        datetime(2024, 1, 18, 14, 18, 57, tzinfo=UTC),
        datetime(2024, 1, 2, 9, 5, 1, tzinfo=UTC),
    ]


def test_detection_wants_a_timestamp_over_data():
    assert google_forms.detect([["Timestamp", "Q1"], ["1/18/2024 14:18:57", "Yes"]])
    assert google_forms.detect([["Timestamp", "Q1"]])  # no response yet
    assert not google_forms.detect([["Timestamp", "Q1"], ["Response", "Response"]])
    assert not google_forms.detect([["#", "Q1", "Submit Date (UTC)"], ["995106cd710ec2af0e371cbe5e1f68fb", "0", "x"]])


def _reference_hash(text: str) -> str:
    """The documented algorithm in plain Python (UInt64 wrapping arithmetic)."""
    mask = (1 << 64) - 1

    def mix(z: int) -> int:
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
        return z ^ (z >> 31)

    data = text.encode("utf-8")
    total = sum(mix(byte + 256 * position + 1) for position, byte in enumerate(data)) & mask
    return f"{mix((total + (len(data) + 1) * 0x9E3779B97F4A7C15) & mask):016x}"


def test_stable_hash_is_the_documented_algorithm_on_every_polars_version():
    """Ids rest on these digits: a library upgrade must not change them."""
    texts = ["", "a", "gf key\x1f0", "é", "2021-04-27T11:03:11Z\x1fana@example.com\x1f1"]
    out = pl.DataFrame({"text": texts}).select(google_forms.hex_digits(google_forms.stable_hash(pl.col("text"))))
    assert out.to_series().to_list() == [_reference_hash(text) for text in texts]
    assert out.to_series()[1] == "9914918c75058d8c"
