"""Item 17 of the hardening: a UTF-8 export with a few rows pasted from a Windows-1252 file
is read as UTF-8, row by row: only the rows that do not decode are quarantined (check
``encoding``, their spreadsheet row, an excerpt, never their raw bytes); the rest loads."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import polars as pl

from demo.exports.qualtrics import write_qualtrics
from demo.model import simulate_respondents
from schemas.codebook import codebook
from surveyhouse.read import read_export
from surveyhouse.staging import process_export
from tests.cases.make_exports import read_rows

PASTED = "cp1252"


def record_bytes(row: list[str], encoding: str) -> bytes:
    buffer = io.StringIO(newline="")
    csv.writer(buffer, lineterminator="\r\n").writerow(row)
    return buffer.getvalue().encode(encoding)


def french_export(tmp_path: Path) -> Path:
    """160 French respondents (accents in every row); respondent 5's comment on two lines."""
    people = simulate_respondents(n=160, seed=17).with_columns(language=pl.lit(1))
    people = people.with_columns(
        comment=pl.when(pl.col("respondent") == 5).then(pl.lit("Première ligne\nseconde ligne")).otherwise("comment")
    )
    path = tmp_path / "utf8.csv"
    write_qualtrics(people, path, language="fr", seed=3)
    return path


def staged(path: Path):
    return process_export(
        path, run_id="r", file_order=1, wave=2023, book=codebook(), key=b"k", max_quarantined_share=1.0
    )


def test_rows_pasted_in_cp1252_are_quarantined_and_the_utf8_rows_load(tmp_path):
    source = french_export(tmp_path)
    rows = read_rows(source)
    multiline = next(i for i, row in enumerate(rows) if any("Première ligne\n" in cell for cell in row))
    accented = [i for i, row in enumerate(rows[3:], start=3) if any(ord(c) > 127 for cell in row for c in cell)]
    pasted = sorted({multiline, *accented[20:160:16]})[:10]  # spreadsheet rows pasted[i] + 1
    assert len(pasted) == 10 and multiline in pasted
    mixed = tmp_path / "mixed.csv"
    mixed.write_bytes(b"".join(record_bytes(row, PASTED if i in pasted else "utf-8") for i, row in enumerate(rows)))

    base_record, base_accepted, _ = staged(source)
    record, accepted, quarantine = staged(mixed)
    assert (base_record["rows_read"], record["status"], record["rows_read"]) == (160, "loaded", 160)
    assert record["encoding"] == "utf-8 (invalid bytes replaced)"
    failed = quarantine.filter(pl.col("check") == "encoding")
    assert sorted(set(failed["source_row"].to_list())) == [i + 1 for i in pasted]
    assert set(accepted["source_row"]) == set(base_accepted["source_row"]) - {i + 1 for i in pasted}
    for case, message in failed.select("failure_case", "message").iter_rows():
        assert "\ufffd" in case and len(case) < 240 and "\ufffd" in message and len(message) < 600


def test_a_file_wholly_in_cp1252_is_still_read_as_cp1252(tmp_path):
    source = french_export(tmp_path)
    resaved = tmp_path / "resaved.csv"
    resaved.write_bytes(source.read_text(encoding="utf-8").encode(PASTED, errors="replace"))
    raw = read_export(resaved)
    assert raw.encoding == "cp1252" and raw.problems.is_empty()
    assert raw.frame.equals(read_export(source).frame)
