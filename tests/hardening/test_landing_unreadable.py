"""Item 14 of the hardening: an unreadable file (mode 000) is one failed file, not a failed night.

Root reads a mode-000 file, and the tests run as root here: the night then runs as the
unprivileged user ``nobody`` (``setpriv``), in a subprocess, over a world-writable
temporary folder, as a service account would. Run as any other user, it runs as that user.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import duckdb
import pytest

from demo.exports.qualtrics import write_qualtrics
from tests.flows.test_nights import respondents

ROOT = Path(__file__).resolve().parents[2]
NIGHT = """
import json, sys
from cli.night import verdict
from schemas.study import load_study
from surveyhouse.night import run_night
from surveyhouse.settings import load_settings
run = run_night(load_study(), load_settings(inbox=sys.argv[1], warehouse=sys.argv[2]))
print(json.dumps({"files_new": run.files_new, "files_failed": run.files_failed, "problems": run.problems}))
sys.exit(verdict(run))
"""


@pytest.fixture()
def shared_folder():
    folder = Path(tempfile.mkdtemp(prefix="surveyhouse-unreadable-"))
    folder.chmod(0o777)
    yield folder
    shutil.rmtree(folder)


def night_as_a_user(inbox: Path, warehouse: Path) -> subprocess.CompletedProcess:
    as_nobody = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"] if os.geteuid() == 0 else []
    if as_nobody and shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv (util-linux): cannot run the night as an unprivileged user")
    env = {
        "PATH": os.environ["PATH"], "PYTHONPATH": str(ROOT), "HOME": str(warehouse.parent), "PYTHONDONTWRITEBYTECODE": "1",
        "SURVEYHOUSE_SETTLE_S": "0",
    }  # fmt: skip
    command = [*as_nobody, sys.executable, "-c", NIGHT, str(inbox), str(warehouse)]
    return subprocess.run(command, capture_output=True, text=True, env=env, cwd=warehouse.parent, timeout=300)


def test_an_unreadable_file_fails_alone_and_the_rest_is_ingested(shared_folder):
    inbox = shared_folder / "landing"
    inbox.mkdir()
    inbox.chmod(0o777)
    write_qualtrics(respondents(10), inbox / "good.csv", seed=3)
    write_qualtrics(respondents(12), inbox / "locked.csv", seed=4)
    (inbox / "good.csv").chmod(0o644)
    (inbox / "locked.csv").chmod(0o000)
    warehouse = shared_folder / "w.duckdb"

    for _night in range(2):  # reported each night until fixed; the good file is in from the first
        done = night_as_a_user(inbox, warehouse)
        assert "Traceback" not in done.stderr, done.stderr
        assert done.returncode == 4, done.stderr
        run = json.loads(done.stdout.splitlines()[0])
        assert run["files_failed"] == 1 and run["problems"] == [
            "locked.csv was not loaded: the file cannot be read (Permission denied). The rest of the run went on. "
            "Give the user that runs surveyhouse read access to it (chmod a+r), or take it out of the landing "
            "folder; it is taken the next night."
        ]
        assert "locked.csv was not loaded" in done.stderr  # what the command line prints
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        assert connection.execute("select source_file, rows_read from files").fetchall() == [("good.csv", 10)]

    (inbox / "locked.csv").chmod(0o644)  # fixed: taken the next night
    done = night_as_a_user(inbox, warehouse)
    assert done.returncode == 0 and json.loads(done.stdout.splitlines()[0])["files_new"] == 1, done.stderr
