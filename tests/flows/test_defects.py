"""Each defect alone, through the whole pipeline: the exact quarantine row or flag it produces.

Forty clean respondents are written as a Qualtrics export (three header rows: the first
respondent is spreadsheet row 4); one of them is then spoiled in one way.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import duckdb
import polars as pl
import pytest

from demo.exports.qualtrics import write_qualtrics
from schemas.study import load_study
from surveyhouse.night import run_night
from surveyhouse.settings import load_settings
from tests.flows.respondents import FULL, START

N = 40
SPOILED = 17  # index of the respondent each case spoils: spreadsheet row 21
ROW = SPOILED + 4


def clean_respondents() -> pl.DataFrame:
    rows = []
    for i in range(N):
        submitted = START + timedelta(hours=7 * i)
        rows.append({
            "respondent": i + 1, "started_at": submitted - timedelta(seconds=420 + 13 * (i % 9)), "submitted_at": submitted,
            "email": f"person{i}@example.com", "ip_address": f"203.0.113.{i + 1}", "language": "en", **FULL,
            "ai_threat": ["neutral", "agree", "strongly_disagree"][i % 3],
            "industry_other": None, "ai_uses_other": None, "comment": None,
        })  # fmt: skip
    multi = ("ai_uses", "uses_2025", "barriers")
    schema = {
        "respondent": pl.Int64, "started_at": pl.Datetime("us", "UTC"), "submitted_at": pl.Datetime("us", "UTC"),
        "email": pl.Utf8, "ip_address": pl.Utf8, "language": pl.Utf8,
        **{code: pl.List(pl.Utf8) if code in multi else pl.Utf8 for code in FULL},
        "industry_other": pl.Utf8, "ai_uses_other": pl.Utf8, "comment": pl.Utf8,
    }  # fmt: skip
    return pl.DataFrame(rows, schema=schema)


def spoil(frame: pl.DataFrame, **values) -> pl.DataFrame:
    at = pl.int_range(pl.len()) == SPOILED
    return frame.with_columns(
        [
            pl.when(at).then(pl.lit(value, dtype=frame.schema[column])).otherwise(pl.col(column)).alias(column)
            for column, value in values.items()
        ]
    )


def run(tmp_path, frame: pl.DataFrame):
    inbox = tmp_path / "landing"
    inbox.mkdir()
    write_qualtrics(frame, inbox / "export.csv", language="en", seed=1)
    settings = load_settings(inbox=str(inbox), warehouse=str(tmp_path / "w.duckdb"))
    run_night(load_study(), settings)
    with duckdb.connect(str(settings.warehouse), read_only=True) as connection:
        quarantine = connection.execute(
            "select source_row, column_name, check_name, failure_case, message from quarantine"
        ).pl()
        responses = connection.execute("select * from responses order by source_row").pl()
    return quarantine, responses


QUARANTINED = [
    ({"role": "!Intern"}, ("role", "valid_option", "Intern", "'Intern' is not an option of role")),
    ({"team_size": None}, ("team_size", "required_answered", None, "required question team_size has no answer")),
    (
        {"barriers": ["cost", "none"]},
        (
            "barriers",
            "exclusive_alone",
            '["cost","none"]',
            'barriers: an exclusive answer is combined with other answers (["cost","none"])',
        ),
    ),
    ({"uses_2025": []}, ("uses_2025", "required_answered", "[]", "required question uses_2025 has no answer")),
    (
        {"submitted_at": None},
        (
            "is_finished",
            "finished",
            "false",
            "the response is still in progress (not finished); it will be taken once the tool exports it complete",
        ),
    ),
]


@pytest.mark.parametrize(("change", "expected"), QUARANTINED, ids=[e[1] + ":" + e[0] for _, e in QUARANTINED])
def test_a_bad_row_gives_exactly_one_quarantine_row(tmp_path, change, expected):
    quarantine, responses = run(tmp_path, spoil(clean_respondents(), **change))
    assert quarantine.rows() == [(ROW, *expected)]
    assert responses.height == N - 1 and ROW not in responses["source_row"].to_list()


FLAGGED = [
    ({"started_at": START + timedelta(hours=7 * SPOILED, seconds=-40)}, {"is_speeder", "is_excluded"}),
    (
        {"ai_useful": "agree", "ai_threat": "agree", "attention_check": "agree"},
        {"is_straightliner", "is_attention_failed", "is_excluded"},
    ),
    ({"ai_useful": "disagree", "ai_threat": "disagree"}, {"is_straightliner"}),
    ({"attention_check": "strongly_agree"}, {"is_attention_failed", "is_excluded"}),
    ({"email": "person2@example.com"}, {"is_duplicate", "is_excluded"}),
    ({"comment": "asdfghjkl qwerty zxcvb"}, {"is_gibberish"}),
]


@pytest.mark.parametrize(
    ("change", "flags"),
    FLAGGED,
    ids=["speeder", "straightline_agree", "straightline_disagree", "attention", "duplicate", "gibberish"],
)
def test_a_screening_defect_flags_exactly_that_response(tmp_path, change, flags):
    quarantine, responses = run(tmp_path, spoil(clean_respondents(), **change))
    assert quarantine.is_empty()
    assert responses.height == N
    raised = {
        column
        for column in responses.columns
        if column.startswith("is_") and responses.filter(pl.col(column)).height > 0
    }
    assert raised == flags
    for flag in flags:
        assert responses.filter(pl.col(flag))["source_row"].to_list() == [ROW]


def test_personal_data_typed_into_a_comment_is_masked(tmp_path):
    change = {"comment": "Write to jane.doe@example.org or call +33 6 12 34 56 78"}
    _, responses = run(tmp_path, spoil(clean_respondents(), **change))
    assert responses.filter(pl.col("source_row") == ROW)["comment"].item() == "Write to [email] or call [phone]"


def outcome(tmp_path, files: list[pl.DataFrame]):
    """(accepted with flags, quarantined response ids) of a run over these exports."""
    inbox = tmp_path / "landing"
    inbox.mkdir(parents=True)
    for i, frame in enumerate(files):
        write_qualtrics(frame, inbox / f"export_{i}.csv", language="en", seed=1 + i)  # ids differ per export
    settings = load_settings(inbox=str(inbox), warehouse=str(tmp_path / "w.duckdb"))
    run_night(load_study(), dataclasses.replace(settings, secret="one deployment key"))  # same key: comparable hashes
    with duckdb.connect(str(settings.warehouse), read_only=True) as connection:
        # The writer draws response ids per file: compare responses by what the respondent did.
        accepted = connection.execute(
            "select columns(* exclude (response_id, source_file, source_row)) from responses order by submitted_at, email_hash"
        ).pl()
        quarantined = connection.execute(
            "select q.column_name, q.check_name, q.failure_case from quarantine q order by all"
        ).pl()
    return accepted, quarantined


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_shuffling_rows_or_splitting_the_file_never_changes_the_outcome(tmp_path, seed):
    frame = spoil(clean_respondents(), role="!Intern")
    frame = frame.with_columns(  # a mix of defects spread over the file
        attention_check=pl.when(pl.int_range(pl.len()) == 5).then(pl.lit("agree")).otherwise("attention_check"),
        email=pl.when(pl.int_range(pl.len()) == 30).then(pl.lit("person3@example.com")).otherwise("email"),
    )
    whole = outcome(tmp_path / "whole", [frame])
    shuffled = outcome(tmp_path / "shuffled", [frame.sample(fraction=1.0, shuffle=True, seed=seed)])
    cut = 7 + 9 * seed
    split = outcome(tmp_path / "split", [frame.head(cut), frame.tail(N - cut)])
    for other in (shuffled, split):
        assert other[0].equals(whole[0])
        assert other[1].equals(whole[1])
