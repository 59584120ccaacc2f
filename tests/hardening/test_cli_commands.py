"""The command line's contract: examples in every help, one --debug, exit statuses, one-line errors."""

from __future__ import annotations

import subprocess
import sys

import pytest

from cli.main import COMMANDS, main


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_help_has_an_example(command, capsys):
    assert main([command, "--help"]) == 0
    out = capsys.readouterr().out
    assert "Examples:" in out and f"surveyhouse {command}" in out.split("Examples:")[1]


def test_debug_is_an_option_of_the_command_line_not_of_each_command(capsys):
    assert main(["--debug", "sql", "--help"]) == 0
    capsys.readouterr()
    assert main(["run", "--debug"]) == 2
    assert "No such option '--debug'" in capsys.readouterr().err


def test_debug_before_the_command_shows_the_traceback(tmp_path, monkeypatch):
    """`surveyhouse --debug CMD` raises the failure (the console script prints the traceback)."""
    from cli import night

    def broken(*_, **__):
        raise RuntimeError("the disk went away")

    (tmp_path / "landing").mkdir()
    monkeypatch.setattr(night, "_run_flow", broken)
    monkeypatch.setattr(night, "_prefect_server", _no_server)
    argv = ["run", "--inbox", str(tmp_path / "landing"), "--warehouse", str(tmp_path / "w.duckdb")]
    with pytest.raises(RuntimeError, match="the disk went away"):
        main(["--debug", *argv])
    assert main(argv) == 1


def _no_server(settings):
    import contextlib

    return contextlib.nullcontext(lambda: None)


def test_a_failed_run_prints_one_error_line_and_no_traceback(tmp_path, monkeypatch, capsys):
    from cli import night

    def broken(*_, **__):
        raise RuntimeError("the disk went away")

    (tmp_path / "landing").mkdir()
    monkeypatch.setattr(night, "_run_flow", broken)
    monkeypatch.setattr(night, "_prefect_server", _no_server)
    assert main(["run", "--inbox", str(tmp_path / "landing"), "--warehouse", str(tmp_path / "w.duckdb")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("Error: RuntimeError: the disk went away; the last published warehouse is unchanged")
    assert err.count("\n") == 1 and "Traceback" not in err


def test_a_run_holding_the_warehouse_exits_3_with_one_line(tmp_path, monkeypatch, capsys):
    from cli import night
    from surveyhouse.lock import RunInProgress

    def locked(*_, **__):
        raise RunInProgress("another run is in progress (pid 1); this run did nothing")

    (tmp_path / "landing").mkdir()
    monkeypatch.setattr(night, "_run_flow", locked)
    monkeypatch.setattr(night, "_prefect_server", _no_server)
    assert main(["run", "--inbox", str(tmp_path / "landing"), "--warehouse", str(tmp_path / "w.duckdb")]) == 3
    assert capsys.readouterr().err == "Error: another run is in progress (pid 1); this run did nothing\n"


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        (
            "SURVEYHOUSE_CONFIDENCE",
            "95",
            "SURVEYHOUSE_CONFIDENCE=95 is not valid: a number between 0 and 1 (e.g. 0.95)",
        ),
        ("SURVEYHOUSE_MINIMUM_BASE", "abc", "SURVEYHOUSE_MINIMUM_BASE=abc is not valid: a whole number"),
        ("SURVEYHOUSE_TIMEZONE", "Mars/Base", "SURVEYHOUSE_TIMEZONE=Mars/Base is not valid: an IANA time zone"),
        ("SURVEYHOUSE_CRON", "99 99 * * *", "SURVEYHOUSE_CRON='99 99 * * *' is not valid: a cron schedule"),
        ("SURVEYHOUSE_MAX_FILE_MB", "-1", "SURVEYHOUSE_MAX_FILE_MB=-1 is not valid: megabytes, more than 0"),
    ],
)
def test_a_bad_setting_exits_2_naming_the_variable_before_anything_starts(tmp_path, variable, value, says):
    (tmp_path / "landing").mkdir()
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "cli.main",
            "run",
            "--inbox",
            str(tmp_path / "landing"),
            "--warehouse",
            str(tmp_path / "w.duckdb"),
        ],
        env={**_environment(), variable: value},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2, out.stderr
    assert out.stderr.startswith(f"Error: {says}") and out.stderr.count("\n") == 1
    assert not (tmp_path / ".surveyhouse").exists(), "nothing was started or written"


def _environment() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if not k.startswith("SURVEYHOUSE_")} | {"SURVEYHOUSE_SETTLE_S": "0"}


def test_a_failed_flow_run_shows_no_traceback_and_its_log_keeps_it(tmp_path):
    """A real run that fails (the warehouse path is a folder): Prefect's own traceback lines stay
    off the terminal, the log in the state folder has them, and the error is one line."""
    (tmp_path / "landing").mkdir()
    (tmp_path / "landing" / "export.csv").write_text("a,b\n1,2\n")
    (tmp_path / "w.duckdb").mkdir()
    argv = ["run", "--inbox", str(tmp_path / "landing"), "--warehouse", str(tmp_path / "w.duckdb")]
    out = subprocess.run(
        [sys.executable, "-m", "cli.main", *argv], env=_environment(), capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 1, out.stderr
    assert "Traceback" not in out.stdout + out.stderr
    errors = [line for line in out.stderr.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1 and "Is a directory" in errors[0]
    assert "Traceback" in (tmp_path / ".surveyhouse" / "prefect" / "runs.log").read_text()


def test_the_entry_point_sets_the_allocator_and_the_package_import_does_not():
    """jemalloc reads _RJEM_MALLOC_CONF when Polars is first imported: the console script sets it
    first thing; importing surveyhouse changes no environment variable (no hidden global state)."""
    code = (
        "import os, surveyhouse, surveyhouse.settings; print(os.environ.get('_RJEM_MALLOC_CONF')); "
        "import cli.main; cli.main.main(['--help']); print(os.environ.get('_RJEM_MALLOC_CONF'))"
    )
    env = {k: v for k, v in _environment().items() if k != "_RJEM_MALLOC_CONF"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True, timeout=60)
    lines = out.stdout.splitlines()
    assert lines[0] == "None" and lines[-1] == "dirty_decay_ms:1000,muzzy_decay_ms:0"


def test_the_command_line_imports_no_polars_before_it_sets_the_allocator():
    code = "import sys, cli.main; print('polars' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "False"
