import subprocess
import sys

import pytest

from surveyhouse.lock import RunInProgress, run_lock
from surveyhouse.night import run_once
from surveyhouse.settings import load_settings


def test_a_second_run_while_one_holds_the_lock_does_nothing_and_says_why(tmp_path):
    settings = load_settings(inbox=str(tmp_path), warehouse=str(tmp_path / "w.duckdb"))
    with run_lock(settings.lock_file):
        with pytest.raises(RunInProgress, match="another run is in progress .pid"):
            run_once(settings)
    assert not settings.warehouse.exists()


def test_the_lock_dies_with_its_process(tmp_path):
    lock = tmp_path / "w.lock"
    code = f"import os; from surveyhouse.lock import run_lock; from pathlib import Path\nwith run_lock(Path({str(lock)!r})): os._exit(9)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 9
    with run_lock(lock):
        pass


def test_a_failed_run_publishes_nothing_and_is_listed_by_the_next_run(tmp_path, monkeypatch):
    import duckdb

    import surveyhouse.night as pipeline
    from demo.study import write_demo_study

    inbox = tmp_path / "landing"
    write_demo_study(inbox, waves=((2023, 300),))
    settings = load_settings(inbox=str(inbox), warehouse=str(tmp_path / "w.duckdb"))

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(pipeline, "publish", broken)
    with pytest.raises(OSError):
        run_once(settings)
    assert not settings.warehouse.exists()
    monkeypatch.undo()
    run_once(settings)
    with duckdb.connect(str(settings.warehouse), read_only=True) as connection:
        runs = connection.execute("select status, message from runs order by started_at").fetchall()
    assert [status for status, _ in runs] == ["failed", "ok"]
    assert "disk full" in runs[0][1] and "previous warehouse stayed live" in runs[0][1]
