"""Hardening item 8: a new SURVEYHOUSE_SECRET would silently stop duplicates across runs
being seen (hashes of two keys never match). The run refuses, says how to re-key, and
`surveyhouse rebuild` re-hashes every archived file with the new key."""

from __future__ import annotations

import dataclasses
import json

import duckdb
import pytest

from cli.main import main
from demo.exports.qualtrics import write_qualtrics
from schemas.study import load_study
from surveyhouse.night import run_night, state_for
from surveyhouse.settings import SecretChanged, load_settings
from tests.flows.test_nights import respondents


@pytest.fixture()
def first_night(tmp_path):
    inbox = tmp_path / "landing"
    inbox.mkdir()
    write_qualtrics(respondents(5), inbox / "night1.csv", seed=1)
    settings = dataclasses.replace(
        load_settings(inbox=str(inbox), warehouse=str(tmp_path / "w.duckdb")), secret="the first key"
    )
    run_night(load_study(), settings)
    return settings


def _fingerprints(settings) -> list[str]:
    with duckdb.connect(str(settings.warehouse), read_only=True) as connection:
        rows = connection.execute("select settings from runs where status <> 'failed' order by started_at").fetchall()
    return [json.loads(row[0])["key_fingerprint"] for row in rows]


def test_a_run_with_another_secret_refuses_and_says_how_to_rekey(first_night):
    write_qualtrics(respondents(7), first_night.inbox / "night2.csv", seed=2)
    published = first_night.warehouse.read_bytes()
    other = dataclasses.replace(first_night, secret="another key")
    with pytest.raises(SecretChanged, match=r"SURVEYHOUSE_SECRET .* `surveyhouse rebuild`") as refused:
        run_night(load_study(), other)
    assert "another key" not in str(refused.value) and "the first key" not in str(refused.value)
    assert first_night.warehouse.read_bytes() == published, "nothing was done"
    assert len(state_for(first_night).runs.published_runs()) == 1


def test_the_secret_fingerprint_is_recorded_and_never_the_secret(first_night):
    (fingerprint,) = _fingerprints(first_night)
    assert len(fingerprint) == 12 and "first key" not in first_night.recorded()


def test_the_command_line_exits_2_on_another_secret_and_rebuild_rekeys(first_night, monkeypatch, capsys):
    monkeypatch.setenv("SURVEYHOUSE_SECRET", "another key")
    warehouse = str(first_night.warehouse)
    assert main(["run", "--inbox", str(first_night.inbox), "--warehouse", warehouse]) == 2
    assert "SURVEYHOUSE_SECRET is not the key" in capsys.readouterr().err
    assert main(["rebuild", "--warehouse", warehouse]) == 0
    rekeyed = dataclasses.replace(first_night, secret="another key")
    assert _fingerprints(first_night)[-1] == rekeyed.key_fingerprint() != first_night.key_fingerprint()
    write_qualtrics(respondents(7), first_night.inbox / "night2.csv", seed=2)
    assert run_night(load_study(), rekeyed).published
