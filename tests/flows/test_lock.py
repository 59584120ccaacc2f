import subprocess
import sys

import pytest

from flows.lock import RunInProgress, run_lock
from flows.pipeline import run_once
from flows.settings import load_settings


def test_a_second_run_while_one_holds_the_lock_does_nothing_and_says_why(tmp_path):
    settings = load_settings(inbox=str(tmp_path), warehouse=str(tmp_path / "w.duckdb"))
    with run_lock(settings.lock_file):
        with pytest.raises(RunInProgress, match="another run is in progress .pid"):
            run_once(settings)
    assert not settings.warehouse.exists()


def test_the_lock_dies_with_its_process(tmp_path):
    lock = tmp_path / "w.lock"
    code = f"import os; from flows.lock import run_lock; from pathlib import Path\nwith run_lock(Path({str(lock)!r})): os._exit(9)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 9
    with run_lock(lock):
        pass
