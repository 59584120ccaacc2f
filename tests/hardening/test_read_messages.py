"""Item 20 of the hardening: what a broken file or a failed check says is in the user's
terms and shows the value: an unterminated quote names the row and what to do (no parser
advice), a duplicated response id shows the id (an excerpt), not a ``{value!r}`` placeholder."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from schemas.codebook import codebook
from surveyhouse.read import UnreadableExport, read_export
from surveyhouse.staging import process_export

CASES = Path(__file__).resolve().parents[1] / "cases" / "exports"
SOURCE = CASES / "qualtrics_en_labels_split.csv"
COMMENT = "Saves us hours, but we review everything."  # respondent 1, spreadsheet row 4
FIRST_ID, SECOND_ID = "R_KcBs2cs7WlGCfPQ", "R_oVD7K95vZ6tWWqd"


def staged(path: Path):
    return process_export(
        path, run_id="r", file_order=1, wave=2023, book=codebook(), key=b"k", max_quarantined_share=1.0
    )


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "export.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_an_unterminated_quote_names_its_row_and_what_to_do_not_the_parsers_advice(tmp_path):
    text = SOURCE.read_text(encoding="utf-8").replace(f'"{COMMENT}"', f'"{COMMENT}')
    path = write(tmp_path, text)
    with pytest.raises(UnreadableExport) as refused:
        read_export(path)
    assert str(refused.value) == (
        'export.csv could not be read as CSV: row 4 opens a quoted cell (a cell beginning with ") that is never '
        "closed, so the rest of the file would be one cell"
    )
    record, _, _ = staged(path)
    assert record["status"] == "failed" and "row 4 opens a quoted cell" in record["message"]
    assert "Export the file again from the survey tool" in record["message"]
    for advice in ("infer_schema_length", "ignore_errors", "null_values", "schema_overrides"):
        assert advice not in record["message"]


def test_an_unterminated_quote_after_thousands_of_rows_is_counted_past_quoted_line_breaks(tmp_path):
    rows = ["id,text\r\n", '0,"two\r\nlines"\r\n'] + [f"{i},plain\r\n" for i in range(1, 1_300)]
    rows[1_204] = '1203,"never closed\r\n'
    rows.append('1300,"quoted"\r\n')
    path = write(tmp_path, "".join(rows))
    with pytest.raises(UnreadableExport, match=r"row 1,205 opens a quoted cell"):
        read_export(path)


def test_a_duplicated_response_id_is_shown_not_a_placeholder(tmp_path):
    path = write(tmp_path, SOURCE.read_text(encoding="utf-8").replace(SECOND_ID, FIRST_ID))
    _, _, quarantine = staged(path)
    messages = quarantine.filter(pl.col("check") == "response_id_unique")["message"].to_list()
    assert messages == [f"response id '{FIRST_ID}' appears more than once in this file"] * 2


def test_a_huge_duplicated_response_id_is_shown_as_an_excerpt(tmp_path):
    huge = "R_" + "x" * 5_000 + "\x1b[2J"
    text = SOURCE.read_text(encoding="utf-8").replace(SECOND_ID, huge).replace(FIRST_ID, huge)
    _, _, quarantine = staged(write(tmp_path, text))
    duplicated = quarantine.filter(pl.col("check") == "response_id_unique")
    assert duplicated.height == 2
    for case, message in duplicated.select("failure_case", "message").iter_rows():
        assert case.startswith("R_xxx") and case.endswith("more characters)") and len(case) < 240
        assert "\x1b" not in message and len(message) < 320
