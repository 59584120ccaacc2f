"""A command imports only what it uses: `surveyhouse sql` starts without Prefect, pandera or Polars."""

from __future__ import annotations

import os
import subprocess
import sys

import duckdb

PROBE = """
import sys
from cli.main import main
try:
    status = main(["sql", "--warehouse", sys.argv[1], "--format", "csv", "select answer from responses"])
except SystemExit as stop:
    status = stop.code
heavy = sorted(name for name in ("prefect", "pandera", "polars", "pandas") if name in sys.modules)
print("status", status, "heavy", ",".join(heavy) or "none")
"""


def test_sql_imports_neither_prefect_nor_pandera_nor_polars(tmp_path):
    warehouse = tmp_path / "w.duckdb"
    with duckdb.connect(str(warehouse)) as connection:
        connection.execute("create table responses as select 42 as answer")
    out = subprocess.run(
        [sys.executable, "-c", PROBE, str(warehouse)], capture_output=True, text=True, check=True, timeout=60
    )
    assert "42" in out.stdout
    assert out.stdout.strip().splitlines()[-1] == "status 0 heavy none", out.stdout + out.stderr


DEMO_PROBE = """
import sys
from pathlib import Path
from cli.night import _demo_writer
write = _demo_writer()
before = "demo.study" in sys.modules
written = write(Path(sys.argv[1]), seed=2023)
print("imported before writing", before, "files", len(written))
"""


def test_the_demo_generator_is_imported_when_it_writes_the_demo_not_when_checked(tmp_path):
    """`surveyhouse demo` checks that the generator is there, starts the server, then imports and
    runs the generator (seconds of imports and writing that overlap the server's start)."""
    out = subprocess.run(
        [sys.executable, "-c", DEMO_PROBE, str(tmp_path / "landing")], capture_output=True, text=True, timeout=120
    )
    assert out.stdout.strip().splitlines()[-1] == "imported before writing False files 10", out.stdout + out.stderr


ENDING = """
import atexit, sys
from cli.main import end_process

class Teardown:
    def __del__(self):
        print("torn down")

kept = Teardown()
atexit.register(lambda: print("exit handler ran"))
print("last line", end="; ")
print("on stderr", end="", file=sys.stderr)
end_process(4)
"""


def test_the_command_process_ends_after_its_exit_handlers_without_pythons_teardown():
    """A night's process took 0.8-3 s after its last line to tear down its objects and modules;
    it now ends once its exit handlers ran and its output is flushed, with the command's status."""
    out = subprocess.run([sys.executable, "-c", ENDING], capture_output=True, text=True, timeout=60)
    assert (out.returncode, out.stdout, out.stderr) == (4, "last line; exit handler ran\n", "on stderr")


IMPORTING = """
import gc
from cli.night import _importing
collections_before = gc.get_stats()[0]["collections"]
with _importing():
    import polars
    during = gc.isenabled()
print(during, gc.isenabled(), gc.get_stats()[0]["collections"] == collections_before, gc.get_freeze_count() > 10_000)
"""


def test_a_nights_modules_are_imported_without_garbage_collections_and_frozen_after():
    """Collecting while Prefect, pandera and Polars are imported was a fifth of their CPU time."""
    out = subprocess.run([sys.executable, "-c", IMPORTING], capture_output=True, text=True, timeout=60)
    assert out.stdout.split() == ["False", "True", "True", "True"], out.stdout + out.stderr


FIRST_NIGHT_PROBE = """
import sys
import flows.prefect_server


def launched(port, log_path):
    print("imported when the server starts:", sorted(m for m in ("duckdb", "polars", "prefect") if m in sys.modules))
    raise SystemExit(0)


flows.prefect_server._launch = launched
from cli.main import main
main(["run", "--inbox", "landing", "--warehouse", "w.duckdb"])
"""


def test_a_first_night_starts_its_prefect_server_before_importing_duckdb_polars_or_prefect(tmp_path):
    """The server's start (seconds of CPU) is a night's critical path: it is launched before the
    command imports anything heavy, which it then imports while the server starts."""
    (tmp_path / "landing").mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "SURVEYHOUSE_"))}
    out = subprocess.run(
        [sys.executable, "-c", FIRST_NIGHT_PROBE], capture_output=True, text=True, timeout=60, cwd=tmp_path, env=env
    )
    assert out.stdout.strip() == "imported when the server starts: []", out.stdout + out.stderr[-2000:]
