"""Settings from the environment: per-source time zones and the rejected-file share reach staging."""

from pathlib import Path

import polars as pl
import pytest

from schemas.study import load_study
from surveyhouse.discover import NewFile
from surveyhouse.night import Night, stage_file
from surveyhouse.read import file_sha256
from surveyhouse.settings import Settings, SettingsError, load_settings

CASES = Path(__file__).parents[1] / "cases" / "exports"


def test_time_zones_and_the_rejected_share_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("SURVEYHOUSE_TIME_ZONES", "surveymonkey=Europe/Paris, google_forms=America/New_York")
    monkeypatch.setenv("SURVEYHOUSE_MAX_QUARANTINED_SHARE", "0.5")
    settings = load_settings(inbox="in", warehouse="w.duckdb")
    assert settings.time_zones == {"surveymonkey": "Europe/Paris", "google_forms": "America/New_York"}
    assert settings.max_quarantined_share == 0.5
    assert '"time_zones": {"google_forms": "America/New_York", "surveymonkey": "Europe/Paris"}' in settings.recorded()


@pytest.mark.parametrize(
    ("text", "says"),
    [("surveymonkey", "expected `tool=Area/City`"), ("surveymonkey=Mars/Olympus", "not an IANA time zone")],
)
def test_a_bad_time_zone_setting_says_what_is_wrong(monkeypatch, text, says):
    monkeypatch.setenv("SURVEYHOUSE_TIME_ZONES", text)
    with pytest.raises(ValueError, match=says):
        load_settings(inbox="in", warehouse="w.duckdb")


def test_staging_uses_the_rejected_share_and_reads_a_tools_local_times_in_its_zone(tmp_path, monkeypatch):
    export = CASES / "surveymonkey_fr.csv"
    monkeypatch.setenv("SURVEYHOUSE_SECRET", "settings-test")
    strict = load_settings(inbox=str(export.parent), warehouse=str(tmp_path / "strict" / "w.duckdb"))
    staged = stage_file(
        Night.of(load_study(), strict), NewFile(export, file_sha256(export), 2023), run_id="r", file_order=1
    )
    assert staged.record["status"] == "rejected"  # this file has more than a fifth of its rows failing
    monkeypatch.setenv("SURVEYHOUSE_MAX_QUARANTINED_SHARE", "0.5")
    submitted = {}
    for zones in ("", "surveymonkey=Europe/Paris"):
        monkeypatch.setenv("SURVEYHOUSE_TIME_ZONES", zones)
        settings = load_settings(
            inbox=str(export.parent),
            warehouse=str(tmp_path / (zones.split("=")[-1].replace("/", "-") or "utc") / "w.duckdb"),
        )
        staged = stage_file(
            Night.of(load_study(), settings), NewFile(export, file_sha256(export), 2023), run_id="r", file_order=1
        )
        assert staged.record["status"] == "loaded", staged.record
        submitted[zones] = pl.read_parquet(staged.responses).sort("source_row")["submitted_at"]
    shift = (submitted[""] - submitted["surveymonkey=Europe/Paris"]).dt.total_seconds()
    assert len(shift) > 0 and set(shift.to_list()) <= {3600, 7200}  # Paris is UTC+1 or +2


def test_the_hardening_limits_are_settings_with_defaults(monkeypatch):
    settings = load_settings(inbox="in", warehouse="w.duckdb")
    assert (settings.max_file_bytes, settings.max_cell_chars, settings.archive_days) == (2048 * 1024**2, 100_000, 365)
    monkeypatch.setenv("SURVEYHOUSE_MAX_FILE_MB", "1")
    monkeypatch.setenv("SURVEYHOUSE_MAX_CELL_CHARS", "50")
    monkeypatch.setenv("SURVEYHOUSE_SETTLE_S", "2.5")
    monkeypatch.setenv("SURVEYHOUSE_ARCHIVE_DAYS", "30")
    settings = load_settings(inbox="in", warehouse="w.duckdb")
    assert (settings.max_file_bytes, settings.max_cell_chars, settings.settle_s, settings.archive_days) == (
        1024**2,
        50,
        2.5,
        30,
    )


def test_settings_are_read_when_loaded_never_at_import(monkeypatch):
    import os
    import subprocess
    import sys

    code = "import surveyhouse.settings, cli.main, flows.serve, flows.prefect_server; print('imported')"
    env = os.environ | {"SURVEYHOUSE_CONFIDENCE": "95"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "imported", out.stderr
    monkeypatch.setenv("SURVEYHOUSE_CONFIDENCE", "95")
    with pytest.raises(SettingsError, match="SURVEYHOUSE_CONFIDENCE=95 is not valid"):
        load_settings()


def test_flags_win_over_the_environment_and_name_themselves_in_errors(monkeypatch):
    monkeypatch.setenv("SURVEYHOUSE_TIMEZONE", "Mars/Base")
    assert load_settings(timezone="Europe/Paris").timezone == "Europe/Paris"
    with pytest.raises(SettingsError, match=r"^SURVEYHOUSE_TIMEZONE=Mars/Base is not valid"):
        load_settings()
    with pytest.raises(SettingsError, match=r"^--cron='99 99 \* \* \*' is not valid"):
        load_settings(cron="99 99 * * *", timezone="UTC")


def test_settings_are_a_frozen_dataclass_that_replace_varies(tmp_path):
    import dataclasses

    settings = load_settings(warehouse=str(tmp_path / "w.duckdb"))
    varied = dataclasses.replace(settings, secret="key", minimum_base=5)
    assert isinstance(varied, Settings) and varied.secret == "key" and varied.crosstab.minimum_base == 5
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.secret = "x"
