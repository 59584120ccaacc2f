"""Item 15 of the hardening (the reader's part): what a file can make the pipeline hold,
print and store is bounded. A file past ``max_bytes`` (a workbook: unpacked) or packed like
a zip bomb is unreadable, saying which file, which limit and which setting; a cell past
``max_cell_chars`` is never stored: its row is quarantined (``cell_too_large``) and the
rest of the file loads."""

from __future__ import annotations

import random
import shutil
import string
import zipfile
from collections.abc import Iterable
from pathlib import Path

import polars as pl
import pytest

from schemas.codebook import codebook
from schemas.study import load_study
from surveyhouse.night import run_night
from surveyhouse.read import ReadLimits, UnreadableExport, read_export
from surveyhouse.settings import load_settings
from surveyhouse.staging import process_export

CASES = Path(__file__).resolve().parents[1] / "cases" / "exports"
COMMENT = "Saves us hours, but we review everything."  # respondent 1's comment, in every export of the cases
MB = 1 << 20


def workbook_with(source: Path, path: Path, chunks: Iterable[str]) -> Path:
    """``source`` (a workbook of the cases) with respondent 1's comment replaced by ``chunks``, deflated."""
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for info in original.infolist():
            text = original.read(info).decode("utf-8")
            if COMMENT not in text:
                out.writestr(info.filename, text)
                continue
            before, after = text.split(COMMENT, 1)
            with out.open(info.filename, "w", force_zip64=True) as part:
                part.write(before.encode())
                for chunk in chunks:
                    part.write(chunk.encode())
                part.write(after.encode())
    return path


def random_text(chars: int) -> str:
    return "".join(random.Random(3).choices(string.ascii_letters + " ", k=chars))


def staged(path: Path, **options) -> tuple[dict, pl.DataFrame, pl.DataFrame]:
    """The dozen respondents of the cases have 5 that fail a check, on purpose."""
    return process_export(
        path, run_id="r", file_order=1, wave=2023, book=codebook(), key=b"k", max_quarantined_share=1.0, **options
    )


def test_a_zip_bomb_workbook_is_refused_and_the_run_outputs_stay_small(tmp_path, capfd):
    inbox = tmp_path / "landing"
    inbox.mkdir()
    bomb = workbook_with(CASES / "surveymonkey_en.xlsx", inbox / "bomb.xlsx", ("x" * MB for _ in range(200)))
    assert bomb.stat().st_size < 400_000  # a 200 MB cell, packed in a few hundred KB
    shutil.copy(CASES / "typeform_en.csv", inbox / "typeform_en.csv")
    warehouse = tmp_path / "w.duckdb"
    run = run_night(load_study(), load_settings(inbox=str(inbox), warehouse=str(warehouse)))
    out, err = capfd.readouterr()
    assert run.files_new == 2 and run.files_failed == 2  # the typeform file: 5 of 12 rows fail, on purpose
    refused = next(problem for problem in run.problems if problem.startswith("bomb.xlsx"))
    assert "unpacks 1,0" in refused and "times larger than it is stored" in refused and len(refused) < 800
    outputs = sum(p.stat().st_size for p in tmp_path.rglob("*") if p.is_file() and p.parent != inbox)
    assert outputs < 30 * MB, f"{outputs:,} bytes of outputs"
    assert len(out) + len(err) < 100_000


def test_a_workbook_that_unpacks_past_the_limit_is_refused_naming_the_limit_and_its_setting(tmp_path):
    path = workbook_with(CASES / "surveymonkey_en.xlsx", tmp_path / "Big [final].xlsx", [random_text(5_000)])
    with pytest.raises(UnreadableExport) as refused:
        read_export(path, limits=ReadLimits(max_bytes=20_000))
    assert str(refused.value) == (
        "Big [final].xlsx is too large: unpacked, 0.02 MB, more than the 0.02 MB a file may have "
        "(setting SURVEYHOUSE_MAX_FILE_MB)"
    )


@pytest.mark.parametrize("given", [False, True])
def test_a_text_file_past_the_limit_is_refused_before_it_is_read(tmp_path, given):
    path = tmp_path / "export.csv"
    shutil.copy(CASES / "typeform_en.csv", path)
    data = path.read_bytes() if given else None
    with pytest.raises(UnreadableExport, match=r"^export\.csv is too large: .*\(setting SURVEYHOUSE_MAX_FILE_MB\)$"):
        read_export(path, data=data, limits=ReadLimits(max_bytes=1_000))


@pytest.mark.parametrize("source", ["qualtrics_en_labels_split.csv", "surveymonkey_en.xlsx"])
def test_a_cell_too_large_is_never_stored_its_row_quarantined_and_the_rest_loaded(tmp_path, source):
    huge = random_text(150_000)
    path = tmp_path / source
    if source.endswith(".xlsx"):
        workbook_with(CASES / source, path, [huge])
    else:
        path.write_text((CASES / source).read_text(encoding="utf-8").replace(COMMENT, huge), encoding="utf-8")
    record, accepted, quarantine = staged(path)
    assert (record["status"], record["rows_read"], record["quarantined"], accepted.height) == ("loaded", 12, 6, 6)
    [row] = quarantine.filter(pl.col("check") == "cell_too_large").to_dicts()
    assert row["column"] == "Anything else you would like to share about AI in social media?"
    assert row["failure_case"].startswith(huge[:200]) and len(row["failure_case"]) < 240
    assert "150,000 characters, more than the 100,000" in row["message"] and len(row["message"]) < 600
    stored = pl.concat([accepted.select(pl.col(pl.Utf8)).unpivot()["value"], quarantine.unpivot()["value"]])
    assert stored.str.len_chars().max() < 1_000


def test_the_cell_limit_is_a_limit_of_the_reader(tmp_path):
    path = tmp_path / "export.csv"
    text = (CASES / "typeform_en.csv").read_text(encoding="utf-8").replace(COMMENT, "y" * 300)
    path.write_text(text, encoding="utf-8")
    raw = read_export(path, limits=ReadLimits(max_cell_chars=250))
    assert raw.problems.select("check", "failure_case").rows() == [
        ("cell_too_large", "y" * 200 + "... (100 more characters)")
    ]
    assert raw.frame.select(pl.max_horizontal(pl.col("^c\\d+$").str.len_chars().max())).item() <= 250


@pytest.mark.parametrize(
    ("header", "check"),
    [
        (["x" * 90_000 + "\x1b[2J", "id"], "layout_known"),  # no tool's header
        (["Timestamp", *(f"Question {i} " + "y" * 90_000 + "\x1b[2J" for i in range(4))], "questionnaire_matched"),
    ],
)
def test_what_a_file_says_reaches_its_messages_as_excerpts(tmp_path, header, check):
    path = tmp_path / "export\x1b[31m.csv"
    rows = [header, ["1/18/2024 14:18:57", *(["a"] * (len(header) - 1))]]
    path.write_text("\r\n".join(",".join(row) for row in rows) + "\r\n", encoding="utf-8")
    record, _, quarantine = staged(path)
    assert (record["status"], quarantine["check"].to_list()) == ("failed", [check])
    shown = [record["message"], record["columns_ignored"] or "", *quarantine["message"].to_list()]
    assert all("\x1b" not in text and len(text) < 5_000 for text in shown), [len(text) for text in shown]
    assert record["message"].startswith("export\\x1b[31m.csv was not loaded: ")


def test_a_compressed_spss_file_that_unpacks_past_the_limit_is_refused_before_it_is_unpacked(tmp_path):
    import pyreadstat

    path = tmp_path / "export.zsav"
    pyreadstat.write_sav(
        pl.DataFrame({f"v{i}": [0.0] * 20_000 for i in range(20)}).to_pandas(), str(path), compress=True
    )
    assert path.stat().st_size < 200_000  # 20,000 rows x 20 numbers: 3.2 MB unpacked
    assert read_export(path).frame.height == 20_002
    with pytest.raises(
        UnreadableExport, match=r"^export\.zsav is too large: unpacked, 3\.05 MB, more than the 1\.00 MB"
    ):
        read_export(path, limits=ReadLimits(max_bytes=1 * MB))
