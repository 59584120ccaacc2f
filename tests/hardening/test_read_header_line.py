"""A file whose header is not on its first line (empty lines above it, as a person saving it
again may leave) is not loaded, and the message says why and what to do, not an empty list
of "first header cells"."""

from __future__ import annotations

from schemas.codebook import codebook
from surveyhouse.staging import process_export


def test_empty_lines_above_the_header_are_said_not_an_empty_list_of_header_cells(tmp_path):
    export = tmp_path / "responses.csv"
    export.write_text("\n\nTimestamp,What is your current role level?\n10/2/2023 13:05:09,Manager\n", encoding="utf-8")
    record, accepted, _ = process_export(export, run_id="r", file_order=1, wave=2023, book=codebook(), key=b"k")
    assert record["status"] == "failed" and accepted.is_empty()
    assert record["message"].startswith(
        "responses.csv was not loaded: its first line is empty, and every tool writes its header there: delete the "
        "empty lines above the header (or drop the tool's own export in the landing folder)."
    ), record["message"]
    assert "first header cells: ." not in record["message"]
