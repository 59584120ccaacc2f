"""Items 6, 9 and 16 (names) of the hardening: what the landing folder holds is read once,
only when it is a settled regular file, and named printably.

6   a file still being written is left for the next night, and what is hashed, archived
    and parsed are the same bytes;
9   a link (file or folder), a pipe or anything not a regular file is skipped, nothing of
    it read;
16  control characters in a file name never reach a message raw; hostile names load.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import duckdb
import pytest

from demo.exports.qualtrics import write_qualtrics
from schemas.codebook import codebook
from schemas.study import load_study
from surveyhouse.discover import discover_files
from surveyhouse.landing import NotTaken
from surveyhouse.night import Night, run_night, stage_file, state_for
from surveyhouse.rebuild import rebuild_warehouse
from surveyhouse.settings import load_settings
from surveyhouse.staging import stage_export
from tests.flows.test_nights import respondents

CASES = Path(__file__).resolve().parents[1] / "cases" / "exports"
SECRET = b"root:x:0:0:SECRET-LINE:/root:/bin/bash\n"


@pytest.fixture()
def landing(tmp_path):
    inbox = tmp_path / "landing"
    inbox.mkdir()
    return inbox, load_settings(inbox=str(inbox), warehouse=str(tmp_path / "w.duckdb"))


def archived_bytes(settings) -> list[bytes]:
    return [p.read_bytes() for p in state_for(settings).archive_dir.iterdir() if not p.name.endswith(".expired")]


def table(settings, sql: str) -> list[tuple]:
    with duckdb.connect(str(settings.warehouse), read_only=True) as connection:
        return connection.execute(sql).fetchall()


# Item 6 -------------------------------------------------------------------------------


def test_a_file_written_after_discovery_is_left_for_the_next_night_then_taken_whole(landing):
    inbox, settings = landing
    path = inbox / "export.csv"
    write_qualtrics(respondents(10), path, seed=3)
    book = codebook()
    found = discover_files(settings.inbox, state=state_for(settings), default_wave=book.wave, settle_s=0)
    write_qualtrics(respondents(11), path, seed=3)  # the tool was still writing: one more row
    left = stage_file(Night.of(load_study(), settings), found.new[0], run_id="r", file_order=1)
    assert isinstance(left, NotTaken) and not left.failed
    assert (
        left.message == "export.csv was left for the next night: it changed since it was found, may still be written."
    )
    assert state_for(settings).staged() == [] and not any(state_for(settings).archive_dir.glob("*.csv"))

    run = run_night(load_study(), settings)  # the next night: taken whole
    staged = state_for(settings).staged()[0]
    (archived,) = archived_bytes(settings)
    assert staged.record["file_sha256"] == hashlib.sha256(archived).hexdigest() == staged.sha256
    assert staged.record["rows_read"] == run.rows_read == 11 == archived.count(b"\n") - 3  # 3 header rows
    assert table(settings, "select count(*) from responses") == [(11,)]


def test_staging_archives_the_bytes_it_parsed(tmp_path):
    source = CASES / "surveymonkey_en.csv"
    staged = stage_export(
        source, staged_dir=tmp_path / "staged", archive_dir=tmp_path / "archive",
        run_id="t", file_order=1, wave=2023, book=codebook(), key=b"k",
    )  # fmt: skip
    archived = (tmp_path / "archive" / staged.record["archived_as"]).read_bytes()
    assert archived == source.read_bytes() and hashlib.sha256(archived).hexdigest() == staged.sha256


def test_a_file_modified_seconds_ago_is_left_for_the_next_night(landing, monkeypatch):
    inbox, _ = landing
    write_qualtrics(respondents(10), inbox / "export.csv", seed=3)
    monkeypatch.setenv("SURVEYHOUSE_SETTLE_S", "5")
    settings = load_settings(inbox=str(inbox), warehouse=str(inbox.parent / "w.duckdb"))
    assert settings.settle_s == 5
    run = run_night(load_study(), settings)
    assert run.files_new == 0 and run.files_failed == 0
    assert run.problems == ["export.csv was left for the next night: modified 0 s ago, may still be written."]
    monkeypatch.setenv("SURVEYHOUSE_SETTLE_S", "0")  # as if the next night came: the file has settled
    run = run_night(load_study(), load_settings(inbox=str(inbox), warehouse=str(settings.warehouse)))
    assert run.files_new == 1 and run.problems == []


# Item 9 -------------------------------------------------------------------------------


def test_links_and_pipes_in_the_landing_folder_are_skipped_and_nothing_of_them_is_read(landing, tmp_path):
    inbox, settings = landing
    secret = tmp_path / "passwd"
    secret.write_bytes(SECRET)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shutil.copy(CASES / "qualtrics_en_labels_joined.csv", elsewhere / "export.csv")
    (inbox / "export.csv").symlink_to(secret)
    (inbox / "2024").symlink_to(elsewhere, target_is_directory=True)
    os.mkfifo(inbox / "pipe.csv")  # opened, a pipe would hang the night
    write_qualtrics(respondents(10), inbox / "good.csv", seed=3)

    run = run_night(load_study(), settings)
    assert run.published and run.files_new == 1 and run.files_failed == 0
    assert run.problems == [
        "2024 was skipped, nothing of it read: it is a symbolic link. The landing folder takes files themselves; "
        "copy the export in (not a link to it).",
        "export.csv was skipped, nothing of it read: it is a symbolic link. The landing folder takes files "
        "themselves; copy the export in (not a link to it).",
        "pipe.csv was skipped, nothing of it read: it is not a regular file (a pipe, socket or device). The landing "
        "folder takes files themselves; copy the export in (not a link to it).",
    ]
    assert all(b"SECRET" not in content for content in archived_bytes(settings))
    assert table(settings, "select source_file, status from files") == [("good.csv", "loaded")]
    assert table(settings, "select count(*) from quarantine where message like '%SECRET%'") == [(0,)]


def test_a_folder_swapped_for_a_link_after_discovery_is_not_followed(landing, tmp_path):
    inbox, settings = landing
    (inbox / "2024").mkdir()
    shutil.copy(CASES / "qualtrics_en_labels_joined.csv", inbox / "2024" / "export.csv")
    found = discover_files(settings.inbox, state=state_for(settings), default_wave=codebook().wave, settle_s=0)
    elsewhere = tmp_path / "elsewhere"
    (inbox / "2024").rename(elsewhere)
    (inbox / "2024").symlink_to(elsewhere, target_is_directory=True)
    skipped = stage_file(Night.of(load_study(), settings), found.new[0], run_id="r", file_order=1)
    assert isinstance(skipped, NotTaken) and "symbolic link" in skipped.message
    assert not state_for(settings).archive_dir.exists() or not any(state_for(settings).archive_dir.iterdir())


# Item 16 (names) ----------------------------------------------------------------------

HOSTILE = "a\nb\x1b[31m.csv"


def test_control_characters_in_a_file_name_never_reach_a_message_raw(landing, tmp_path):
    inbox, settings = landing
    (inbox / HOSTILE).write_bytes(b"")  # empty: its record and quarantine row say so, naming it
    (inbox / ("link\x1b]0;x\x07.csv")).symlink_to(tmp_path)
    run = run_night(load_study(), settings)
    assert run.files_failed == 1
    assert run.problems[0].startswith("link\\x1b]0;x\\x07.csv was skipped")  # found by discovery, first
    assert run.problems[1].startswith("a\\nb\\x1b[31m.csv was not loaded: the file is empty.")
    messages = [m for (m,) in table(settings, "select message from files union all select message from quarantine")]
    assert messages and all(m.startswith("a\\nb\\x1b[31m.csv was not loaded") for m in messages)
    for text in [*run.problems, *messages]:
        assert not any(ord(c) < 32 or ord(c) == 127 for c in text), text
    assert table(settings, "select source_file from files") == [(HOSTILE,)]  # the data keeps the name as it is


@pytest.mark.parametrize(
    "names",
    [["[ab].csv", "*.csv", "with spaces .csv", "-rf.csv", "x" * 250 + ".csv"]],
    ids=["brackets-star-spaces-dash-long"],
)
def test_hostile_file_names_load_and_rebuild(landing, names):
    inbox, settings = landing
    for n, name in enumerate(names, start=8):
        write_qualtrics(respondents(n), inbox / name, seed=3)
    run = run_night(load_study(), settings)
    assert run.files_new == 5 and run.problems == []
    assert sorted(n for (n,) in table(settings, "select source_file from files")) == sorted(names)
    rebuilt = rebuild_warehouse(load_study(), settings)
    assert rebuilt.problems == [] and sorted(rebuilt.tables["files"]["source_file"]) == sorted(names)
