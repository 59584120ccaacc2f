"""A Google Forms sheet has no response id: the layout makes one from the submission second and the
respondent's email. Unkeyed, anyone holding a candidate email and a row's `submitted_at` could test a
guess against it; in the warehouse it is keyed under SURVEYHOUSE_SECRET, as `email_hash` is. Files
staged before (with the unkeyed ids) are keyed on the next night, once, and rebuilt without being
counted twice."""

from __future__ import annotations

import dataclasses
import json

import duckdb
import polars as pl

from demo.exports.google_forms import write_google_forms
from schemas.study import load_study
from surveyhouse.night import night_is_quiet, run_night, state_for
from surveyhouse.read import read_export
from surveyhouse.settings import load_settings
from surveyhouse.staging import KEYED_IDS, RECORD, keyed_staged_ids
from tests.flows.respondents import small_respondents
from transforms.layouts import detect_layout
from transforms.layouts.google_forms import hex_digits, stable_hash
from transforms.privacy import keyed_response_ids

SHEET = "AI in social media 2023 (Responses) - Form Responses 1.csv"


def _night(tmp_path, frame: pl.DataFrame, *, secret: str):
    inbox = tmp_path / "landing"
    inbox.mkdir(parents=True, exist_ok=True)
    write_google_forms(frame, inbox / SHEET)
    settings = load_settings(inbox=str(inbox), warehouse=str(tmp_path / "w.duckdb"))
    settings = dataclasses.replace(
        settings, secret=secret, settle_s=0, max_quarantined_share=0.9
    )  # some rows fail on purpose
    return settings, run_night(load_study(), settings, report=False)


def _ids(settings, table: str = "responses") -> list[str]:
    with duckdb.connect(str(settings.warehouse), read_only=True) as connection:
        return [i for (i,) in connection.execute(f"select response_id from {table} order by 1").fetchall() if i]


def _unkeyed(frame: pl.DataFrame) -> set[str]:
    """The ids the layout makes before they are keyed (``google_forms.response_ids``): of these
    rows (each its own second and email), what anyone could compute from a guess."""
    submitted = frame.filter(pl.col("submitted_at").is_not_null())
    second = submitted["submitted_at"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    person = submitted["email"].str.strip_chars().str.to_lowercase().fill_null("")
    keys = pl.DataFrame({"key": second + "\x1f" + person + "\x1f0"})
    return set(keys.select((pl.lit("gf-") + hex_digits(stable_hash(pl.col("key")))).alias("id"))["id"])


def test_google_forms_ids_in_the_warehouse_are_keyed_and_a_guess_cannot_be_tested(tmp_path):
    frame = small_respondents()
    settings, run = _night(tmp_path / "a", frame, secret="key one")
    ids = _ids(settings)
    quarantined = _ids(settings, "quarantine")
    assert quarantined and all(i.startswith("gfk-") for i in quarantined)  # the quarantine's ids too
    assert run.published and ids and all(i.startswith("gfk-") and len(i) == 20 for i in ids)
    assert not set(ids) & _unkeyed(frame)  # what a guess of second and email gives is not in the warehouse
    other, _ = _night(tmp_path / "b", frame, secret="key two")
    assert not set(_ids(other)) & set(ids)  # another key, other ids
    again, _ = _night(tmp_path / "c", frame, secret="key one")
    assert _ids(again) == ids  # the same key, the same ids


def test_a_cumulative_google_forms_export_still_supersedes_its_keyed_rows(tmp_path):
    frame = small_respondents()
    settings, _ = _night(tmp_path, frame.head(frame.height - 3), secret="k")
    before = set(_ids(settings))
    settings, second = _night(tmp_path, frame, secret="k")  # the same sheet, three more rows
    ids = _ids(settings)
    whole, _ = _night(tmp_path / "whole", frame, secret="k")  # the full sheet on its own
    assert second.published and len(ids) == len(set(ids)) and set(ids) == set(_ids(whole))
    assert before < set(ids)  # the old rows kept their ids: the new versions superseded them


def _stage_as_an_earlier_version_did(settings) -> None:
    """The staged Google Forms files as an earlier version left them: unkeyed ids, no ``response_ids`` in the record."""
    for staged in state_for(settings).staged():
        record_path = staged.folder / RECORD
        record = json.loads(record_path.read_text(encoding="utf-8"))
        if record["layout"] != "google_forms":
            continue
        record.pop("response_ids")
        record_path.write_text(json.dumps(record), encoding="utf-8")
        raw = read_export(settings.inbox / SHEET)
        unkeyed = detect_layout(raw.header).parse(raw.frame.lazy(), raw.header).meta.select("source_row", "response_id")
        back = pl.read_parquet(staged.responses)
        back = back.drop("response_id").join(unkeyed.collect(), on="source_row", how="left", maintain_order="left")
        back.select(pl.read_parquet_schema(staged.responses).names()).write_parquet(staged.responses)


def test_files_staged_with_unkeyed_ids_are_keyed_once_and_the_warehouse_rebuilt(tmp_path):
    frame = small_respondents()
    settings, _ = _night(tmp_path, frame.head(frame.height - 3), secret="k")
    _stage_as_an_earlier_version_did(settings)
    state = state_for(settings)
    old = set(pl.read_parquet([s.responses for s in state.staged()])["response_id"])
    assert all(i.startswith("gf-") for i in old)
    assert not night_is_quiet(load_study(), settings)  # the keying is work: not a quiet night
    write_google_forms(frame, settings.inbox / SHEET)  # a cumulative re-export arrives the same night
    run = run_night(load_study(), settings, report=False)
    assert run.published and any("keyed now" in note for note in run.notes)
    ids = _ids(settings)
    assert ids and all(i.startswith("gfk-") for i in ids) and len(ids) == len(set(ids))
    whole, _ = _night(tmp_path / "whole", frame, secret="k")  # the full sheet on its own, keyed from the start
    assert set(ids) == set(_ids(whole))  # the old versions superseded, not counted twice
    assert all(i.startswith("gfk-") for i in _ids(settings, "choices"))
    assert all(s.record.get("response_ids") == KEYED_IDS for s in state.staged())


def test_keying_staged_ids_again_after_a_kill_changes_nothing(tmp_path):
    settings, _ = _night(tmp_path, small_respondents(), secret="k")
    _stage_as_an_earlier_version_did(settings)
    state = state_for(settings)
    key = settings.hashing_key()
    staged = next(s for s in state.staged() if s.record["layout"] == "google_forms")
    unkeyed = pl.read_parquet(staged.responses)["response_id"]
    # Killed after the responses were rewritten, before the record: the next call finds keyed ids, unmarked.
    pl.read_parquet(staged.responses).with_columns(
        keyed_response_ids(unkeyed, key=key).alias("response_id")
    ).write_parquet(staged.responses)
    assert [s.sha256 for s in keyed_staged_ids(state.staged_dir, key=key)] == [staged.sha256]
    assert pl.read_parquet(staged.responses)["response_id"].to_list() == keyed_response_ids(unkeyed, key=key).to_list()
    assert keyed_staged_ids(state.staged_dir, key=key) == []  # marked now: nothing to do


def test_keyed_response_ids_leave_other_ids_and_nulls_and_key_equal_ids_equally():
    ids = pl.Series(
        "response_id", ["gf-00000000000000ff", "R_abc", None, "gf-00000000000000ff", "gfk-0123456789abcdef"]
    )
    keyed = keyed_response_ids(ids, key=b"k").to_list()
    assert keyed[1:3] == ["R_abc", None] and keyed[4] == "gfk-0123456789abcdef"
    assert keyed[0] == keyed[3] and keyed[0].startswith("gfk-") and keyed[0] != ids[0]
