"""Item 12 of the hardening: the state folder (raw exports with names, emails, IP addresses,
locations) is private, and raw files are kept ``archive_days``; a rebuild then takes the
staged, masked result of an expired file."""

from __future__ import annotations

import os
import stat
import time

import pytest

from demo.exports.qualtrics import write_qualtrics
from schemas.study import load_study
from surveyhouse.lock import run_lock
from surveyhouse.night import run_night, state_for
from surveyhouse.rebuild import rebuild_warehouse
from surveyhouse.settings import load_settings
from tests.flows.snapshots import assert_same, snapshot
from tests.flows.test_nights import respondents


@pytest.fixture()
def usual_umask():
    previous = os.umask(0o022)  # what a service account usually has: files 0644, folders 0755
    yield
    os.umask(previous)


def modes(folder) -> dict[str, str]:
    """Every path below ``folder`` (and itself) -> its permission bits, octal."""
    found = {".": oct(stat.S_IMODE(folder.stat().st_mode))}
    for path in folder.rglob("*"):
        found[str(path.relative_to(folder))] = oct(stat.S_IMODE(path.lstat().st_mode))
    return found


def test_the_state_folder_is_0700_and_every_file_in_it_0600(tmp_path, usual_umask):
    inbox = tmp_path / "landing"
    inbox.mkdir()
    settings = load_settings(inbox=str(inbox), warehouse=str(tmp_path / "w.duckdb"))
    settings.state_dir.mkdir(mode=0o755)  # as an older version, or `configure_prefect`, left it
    write_qualtrics(respondents(10), inbox / "export.csv", seed=3)
    (inbox / "empty.csv").write_bytes(b"")
    assert run_night(load_study(), settings).files_new == 2
    found = modes(settings.state_dir)
    names = {name.rsplit("/", 1)[-1] for name in found}
    assert {"archive", "secret.key", "w.runs.jsonl", "w.file-hashes.json", "w.lock", "responses.parquet"} <= names
    assert {"quarantine.parquet", "file.json"} <= names
    wrong = {
        name: mode
        for name, mode in found.items()
        if mode != ("0o700" if (settings.state_dir / name).is_dir() else "0o600")
    }
    assert wrong == {}


def test_raw_files_archived_longer_than_archive_days_are_deleted_and_a_rebuild_takes_their_staged_result(
    tmp_path, monkeypatch
):
    inbox = tmp_path / "landing"
    inbox.mkdir()
    write_qualtrics(respondents(10), inbox / "first.csv", seed=3)
    settings = load_settings(inbox=str(inbox), warehouse=str(tmp_path / "w.duckdb"))
    run_night(load_study(), settings)
    (old,) = state_for(settings).archive_dir.iterdir()
    long_ago = time.time() - 400 * 86400
    os.utime(old, (long_ago, long_ago))

    monkeypatch.setenv("SURVEYHOUSE_ARCHIVE_DAYS", "365")
    settings = load_settings(inbox=str(inbox), warehouse=str(tmp_path / "w.duckdb"))
    assert settings.archive_days == 365
    write_qualtrics(respondents(12), inbox / "second.csv", seed=4)
    assert run_night(load_study(), settings).files_new == 1
    assert not old.exists() and old.with_name(old.name + ".expired").is_file()
    assert len(list(state_for(settings).archive_dir.glob("*.csv"))) == 1  # the second file's, a night old
    assert all(staged.responses.is_file() for staged in state_for(settings).staged())  # masked: they stay

    before = snapshot(settings.warehouse, drop=())
    rebuilt = rebuild_warehouse(load_study(), settings)
    assert rebuilt.problems == [] and rebuilt.tables["files"].height == 2
    assert_same(snapshot(settings.warehouse, drop=()), before, "rebuilt with an expired raw file")


def test_a_state_setting_pointing_at_another_folder_leaves_that_folder_alone(tmp_path, usual_umask):
    folder = tmp_path / "srv"
    folder.mkdir(mode=0o755)
    (folder / "someone-elses.txt").write_text("x")
    with run_lock(folder / "w.lock"):
        pass
    assert modes(folder) == {".": "0o755", "someone-elses.txt": "0o644", "w.lock": "0o600"}
