"""Rows with more cells than the header: a cell past the header's width is never dropped
silently; its row is quarantined (``more_cells_than_header``), naming how many cells it
has against the header's. Cells past the header that are all empty (trailing delimiters,
an Excel or SurveyMonkey re-save) change nothing."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import polars as pl
import pytest

from schemas.codebook import codebook
from surveyhouse.read import read_export
from surveyhouse.staging import process_export

CASES = Path(__file__).resolve().parents[1] / "cases" / "exports"
EMAIL = "josé.garcía@example.test"


def staged(path: Path, **options) -> tuple[dict, pl.DataFrame, pl.DataFrame]:
    return process_export(
        path, run_id="r", file_order=1, wave=2023, book=codebook(), key=b"k", max_quarantined_share=1.0, **options
    )


def with_rows_changed(source: str, path: Path, tails: dict[int, str]) -> Path:
    """The export ``source`` of the cases with ``tails[row]`` added at the end of those (1-based) rows."""
    lines = (CASES / source).read_text(encoding="utf-8").split("\n")
    for row, tail in tails.items():
        lines[row - 1] += tail
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


@pytest.mark.parametrize("batch_bytes", [64 << 20, 3_000])
@pytest.mark.parametrize("source", ["typeform_en.csv", "qualtrics_en_labels_split.csv"])
def test_a_row_with_more_cells_than_the_header_is_quarantined_never_cut(tmp_path, source, batch_bytes):
    clean, _, clean_quarantine = staged(CASES / source)
    first = 2 if source.startswith("typeform") else 4  # the first data row
    tails = {first: f",call me at {EMAIL}", first + 1: ",,stray", first + 2: ",,,"}
    record, accepted, quarantine = staged(with_rows_changed(source, tmp_path / source, tails), batch_bytes=batch_bytes)

    past = quarantine.filter(pl.col("check") == "more_cells_than_header")
    assert past["source_row"].to_list() == [first, first + 1]
    width = pl.read_csv(CASES / source, has_header=False, infer_schema=False, n_rows=1).width
    one, two = past["message"].to_list()
    assert f"the row has {width + 1} cells, more than the {width} of the header row" in one
    assert f"the row has {width + 2} cells, more than the {width} of the header row" in two
    assert past["failure_case"].to_list() == ["call me at [email]", ",stray"]
    assert EMAIL not in str(quarantine.rows())
    # Every row read is accepted or quarantined: the two rows moved from accepted to quarantined.
    assert record["rows_read"] == 12
    assert set(quarantine["source_row"]) == set(clean_quarantine["source_row"]) | {first, first + 1}
    assert record["quarantined"] + accepted.height == record["rows_read"]


def test_cells_past_the_header_that_are_all_empty_change_nothing(tmp_path):
    source = "typeform_en.csv"
    header, *rows = csv.reader(io.StringIO((CASES / source).read_text(encoding="utf-8"), newline=""))
    padded = tmp_path / source
    with padded.open("w", encoding="utf-8", newline="") as out:
        csv.writer(out).writerows([header, *[[*row, "", "", ""] for row in rows]])  # the data rows padded
    assert read_export(padded).frame.equals(read_export(CASES / source).frame)
    record, accepted, quarantine = staged(padded)
    clean_record, clean_accepted, clean_quarantine = staged(CASES / source)
    assert accepted.equals(clean_accepted) and quarantine.equals(clean_quarantine)
    assert record["quarantined"] == clean_record["quarantined"]


def test_a_text_read_whole_quarantines_the_row_with_more_cells_too(tmp_path):
    path = with_rows_changed("typeform_en.csv", tmp_path / "export.csv", {3: ",café"})
    path.write_bytes(path.read_text(encoding="utf-8").encode("utf-16"))  # read whole, not in batches
    raw = read_export(path)
    assert raw.encoding == "utf-16"
    assert raw.problems.select("source_row", "check", "failure_case").rows() == [(3, "more_cells_than_header", "café")]
    assert raw.frame.width == pl.read_csv(CASES / "typeform_en.csv", has_header=False, n_rows=1).width + 1


def test_what_the_readers_quarantine_quotes_of_a_cell_is_masked(tmp_path):
    comment = "Saves us hours, but we review everything."  # respondent 1's comment, in every export of the cases
    path = tmp_path / "typeform_en.csv"
    text = (CASES / "typeform_en.csv").read_text(encoding="utf-8")
    path.write_text(text.replace(comment, f"write to {EMAIL} " + "y" * 150_000), encoding="utf-8")
    _, _, quarantine = staged(path)
    [row] = quarantine.filter(pl.col("check") == "cell_too_large").to_dicts()
    assert row["failure_case"].startswith("write to [email] yyy")
    assert "write to [email] yyy" in row["message"] and EMAIL not in str(row)
