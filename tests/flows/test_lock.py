import subprocess
import sys

import pytest

from schemas.study import load_study
from surveyhouse.lock import RunInProgress, run_lock
from surveyhouse.night import run_night, state_for
from surveyhouse.settings import load_settings


def _hold_lock(path):
    """Another process that holds the lock until its standard input closes."""
    code = f"import sys; from pathlib import Path; from surveyhouse.lock import run_lock\nwith run_lock(Path({str(path)!r})):\n    print('held', flush=True); sys.stdin.read()"
    holder = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    return holder


def test_a_second_run_while_one_holds_the_lock_does_nothing_and_says_why(tmp_path):
    settings = load_settings(inbox=str(tmp_path), warehouse=str(tmp_path / "w.duckdb"))
    holder = _hold_lock(state_for(settings).lock_file)
    try:
        with pytest.raises(RunInProgress, match="another run is in progress .pid"):
            run_night(load_study(), settings)
    finally:
        holder.communicate("")
    assert not settings.warehouse.exists()


def test_the_lock_is_reentrant_in_its_own_process_and_released_by_the_last_holder(tmp_path):
    lock = tmp_path / "w.lock"
    with run_lock(lock), run_lock(lock):  # the command line's, then the flow's
        pass
    holder = _hold_lock(lock)  # released: another process takes it
    holder.communicate("")


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
        run_night(load_study(), settings)
    assert not settings.warehouse.exists()
    monkeypatch.undo()
    run_night(load_study(), settings)
    with duckdb.connect(str(settings.warehouse), read_only=True) as connection:
        runs = connection.execute("select status, message from runs order by started_at").fetchall()
    assert [status for status, _ in runs] == ["failed", "ok"]
    assert "disk full" in runs[0][1] and "previous warehouse stayed live" in runs[0][1]
