"""The first night may find the landing folder empty: an empty warehouse is published
(every table, no rows), and the next night with a file loads it. Also: a file seen
before is recognised from what the file system says of it, not read again, and a file
rewritten in place is read again."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import duckdb

from demo.exports.qualtrics import write_qualtrics
from schemas.study import load_study
from surveyhouse.night import run_night
from surveyhouse.settings import load_settings
from tests.flows.test_nights import respondents

CASES = Path(__file__).resolve().parents[1] / "cases" / "exports"


def count(warehouse: Path, table: str) -> int:
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        return connection.execute(f"select count(*) from {table}").fetchone()[0]


def test_an_empty_landing_folder_publishes_an_empty_warehouse_then_a_file_loads(tmp_path):
    inbox = tmp_path / "landing"
    inbox.mkdir()
    settings = load_settings(inbox=str(inbox), warehouse=str(tmp_path / "surveyhouse.duckdb"))
    first = run_night(load_study(), settings)
    assert first.published and first.files_new == 0
    assert [count(settings.warehouse, t) for t in ("responses", "answers", "crosstab", "files")] == [0, 0, 0, 0]
    write_qualtrics(respondents(10), inbox / "export.csv", seed=9)
    second = run_night(load_study(), settings)
    assert second.published and second.files_new == 1 and count(settings.warehouse, "responses") == 10


def test_a_known_file_is_not_read_again_and_a_rewritten_one_is(tmp_path, monkeypatch):
    inbox = tmp_path / "landing"
    inbox.mkdir()
    path = inbox / "export.csv"
    shutil.copy(CASES / "qualtrics_en_labels_joined.csv", path)
    settings = load_settings(inbox=str(inbox), warehouse=str(tmp_path / "surveyhouse.duckdb"))
    assert run_night(load_study(), settings).files_new == 1

    import surveyhouse.discover

    hashed: list[Path] = []
    real = surveyhouse.discover.landed_sha256
    monkeypatch.setattr(surveyhouse.discover, "landed_sha256", lambda p, **kw: hashed.append(p) or real(p, **kw))
    assert run_night(load_study(), settings).files_new == 0 and hashed == []

    stat = path.stat()
    path.write_bytes((CASES / "qualtrics_en_labels_split.csv").read_bytes())
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # even with its old modification time
    assert run_night(load_study(), settings).files_new == 1 and hashed == [path]
