"""Settings from the environment: per-source time zones and the rejected-file share reach staging."""

from pathlib import Path

import polars as pl
import pytest

from schemas.study import load_study
from surveyhouse.discover import NewFile
from surveyhouse.night import Night, stage_file
from surveyhouse.read import file_sha256
from surveyhouse.settings import load_settings

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
