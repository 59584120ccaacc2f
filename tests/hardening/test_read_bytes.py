"""Item 6 of the hardening (the reader's part): the reader parses the very bytes the caller
hashed and archived; given them, it never opens the path, which only names the file."""

from __future__ import annotations

import dataclasses
import stat
import tempfile
from pathlib import Path

import pytest

from schemas.codebook import codebook
from surveyhouse.read import ReadLimits, _private_copy, read_export
from surveyhouse.staging import process_export

CASES = Path(__file__).resolve().parents[1] / "cases" / "exports"
SOURCES = ["qualtrics_fr_labels_split.csv", "excel_fr_typeform_fr.csv", "surveymonkey_fr.xlsx", "spss_fr_zero.sav"]


@pytest.mark.parametrize("source", SOURCES)
def test_given_its_bytes_the_reader_never_opens_the_path(tmp_path, source):
    data = (CASES / source).read_bytes()
    absent = tmp_path / "gone" / f"Survey export [final]{Path(source).suffix}"  # no such file
    raw = read_export(absent, data=data)
    assert raw.path == absent
    assert raw.frame.equals(read_export(CASES / source).frame)


def test_given_its_bytes_the_reader_reads_them_not_what_the_file_holds_now(tmp_path):
    path = tmp_path / "export.csv"
    path.write_bytes((CASES / "qualtrics_en_labels_split.csv").read_bytes()[:-400])  # the file as it is being written
    whole = (CASES / "qualtrics_en_labels_split.csv").read_bytes()
    assert read_export(path, data=whole).frame.height == 15


def test_an_spss_file_given_as_bytes_leaves_no_copy_behind():
    before = set(Path(tempfile.gettempdir()).glob("surveyhouse-spss-copy-*"))
    read_export(Path("export.sav"), data=(CASES / "spss_en_missing.sav").read_bytes())
    assert set(Path(tempfile.gettempdir()).glob("surveyhouse-spss-copy-*")) == before


def test_the_private_copy_an_spss_reader_opens_is_readable_by_its_owner_only():
    with _private_copy(b"$FL2 bytes", suffix=".sav") as copy:
        assert stat.S_IMODE(copy.stat().st_mode) == 0o600 and copy.read_bytes() == b"$FL2 bytes"
    assert not copy.exists()


def test_read_limits_are_frozen_with_defaults_of_2_gib_and_100_000_characters():
    limits = ReadLimits()
    assert (limits.max_bytes, limits.max_cell_chars) == (2 * 1024**3, 100_000)
    with pytest.raises(dataclasses.FrozenInstanceError):
        limits.max_bytes = 1  # type: ignore[misc]


def test_a_file_gone_before_it_is_read_is_unreadable_not_a_traceback(tmp_path):
    record, _, quarantine = process_export(
        tmp_path / "gone.csv", run_id="r", file_order=1, wave=2023, book=codebook(), key=b"k"
    )
    assert record["status"] == "failed" and quarantine["check"].to_list() == ["file_readable"]
    assert record["message"].startswith("gone.csv was not loaded: the file could not be opened: No such file")
