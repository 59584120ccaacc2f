"""The nightly job on the demo study, end to end (without Prefect: the flow test runs it with)."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import duckdb
import polars as pl
import pytest

from demo.study import demo_respondents
from schemas.figures import published_figures
from schemas.study import load_study
from surveyhouse.night import run_night

SEED = 2023
#: Defects that keep a response in the bases (flagged at most); the others are
#: quarantined (invalid, missing, exclusive conflict) or excluded (speeder, attention, duplicate).
IN_BASES = [None, "pii_in_comment", "gibberish"]


@pytest.fixture(scope="module")
def demo(demo_night):
    """The built-in demo (seed SEED), run once for the test run (tests/conftest.py): read it, or copy it."""
    return demo_night, None


def copied(settings, folder: Path):
    """The settings of a copy of the demo night's folder (landing, state, warehouse), with its key."""
    shutil.copytree(settings.warehouse.parent, folder)
    return dataclasses.replace(settings, inbox=folder / "landing", warehouse=folder / settings.warehouse.name)


def query(settings, sql, *params):
    with duckdb.connect(str(settings.warehouse), read_only=True) as connection:
        return connection.execute(sql, params).pl()


def test_every_published_figure_is_reproduced_within_3_points_except_the_contradiction(demo):
    settings, _ = demo
    claims = query(settings, "select id, published_pct, computed_pct, status from claims order by id")
    assert claims.height == published_figures().height
    off = claims.filter(pl.col("id") != "F28", (pl.col("computed_pct") - pl.col("published_pct")).abs() > 3)
    assert off.is_empty(), off
    f28 = claims.filter(pl.col("id") == "F28").row(0, named=True)
    assert f28["status"] == "contradicted" and f28["computed_pct"] == pytest.approx(89, abs=3)
    others = claims.filter(pl.col("id") != "F28").with_columns(
        off=(pl.col("computed_pct") - pl.col("published_pct")).abs()
    )
    expected = (
        pl.when(pl.col("off") <= 0.5)
        .then(pl.lit("reproduced"))
        .when(pl.col("off") <= 1)
        .then(pl.lit("within_tolerance"))
        .otherwise(pl.lit("not_reproduced"))
    )
    assert others.filter(pl.col("status") != expected).is_empty()


def test_crosstab_counts_equal_an_independent_count_of_the_model_respondents(demo, book):
    settings, _ = demo
    truth, _ = demo_respondents(seed=SEED)
    kept = truth.filter(pl.col("defect").is_null() | pl.col("defect").is_in(IN_BASES[1:]))
    kept = kept.filter(pl.col("attention_check") == "disagree")  # straight-liners on 'agree' fail the check
    straight = truth.filter(pl.col("defect") == "straightliner", pl.col("attention_check") == "disagree")
    untimed = truth.filter(
        pl.col("defect") == "speeder", pl.col("channel") == "google_forms"
    )  # Forms records no duration
    kept = pl.concat([kept, straight, untimed])
    crosstab = query(
        settings,
        "select question, answer, n, base_n from crosstab where wave = 2023 and segment = 'all' and answer_kind = 'option'",
    )
    for question in book.single:
        expected = kept.group_by(question.code).len().rename({question.code: "answer", "len": "expected"})
        got = crosstab.filter(pl.col("question") == question.code).join(expected, on="answer", how="left")
        assert (got["n"] == got["expected"].fill_null(0)).all(), (question.code, got)
    for question in book.multi:
        expected = kept.select(pl.col(question.code).explode().alias("answer")).group_by("answer").len()
        got = crosstab.filter(pl.col("question") == question.code).join(expected, on="answer", how="left")
        assert (got["n"] == got["len"].fill_null(0)).all(), (question.code, got)


def test_rows_read_equal_accepted_plus_quarantined_plus_superseded_for_every_file(demo):
    settings, _ = demo
    files = query(settings, "select * from files")
    assert files.height == 10 and files.filter(pl.col("wave") == 2023).height == 5
    assert (files["rows_read"] == files["accepted"] + files["quarantined"] + files["superseded"]).all()
    assert files.filter(pl.col("wave") == 2023)["rows_read"].sum() == 2334
    quarantined_rows = query(settings, "select count(distinct (source_file, source_row)) as n from quarantine")["n"][0]
    assert quarantined_rows == files["quarantined"].sum()


def test_known_defects_are_quarantined_or_flagged(demo):
    settings, _ = demo
    _, counts = demo_respondents(seed=SEED)
    checks = query(
        settings,
        'select check_name as "check", count(distinct (source_file, source_row)) as n from quarantine '
        "where source_file in (select source_file from files where wave = 2023) group by all",
    )
    by_check = dict(zip(checks["check"], checks["n"]))
    assert by_check.get("valid_option", 0) >= counts["invalid_answer"]
    assert by_check.get("exclusive_alone", 0) == counts["exclusive_conflict"]
    flags = query(
        settings,
        "select sum(is_speeder::int) s, sum(is_attention_failed::int) a, sum(is_duplicate::int) d, "
        "sum(is_straightliner::int) l, sum(is_gibberish::int) g from responses where wave = 2023",
    ).row(0, named=True)
    truth, _ = demo_respondents(seed=SEED)
    timed = truth.filter(
        pl.col("defect") == "speeder", pl.col("channel") != "google_forms"
    ).height  # Forms records no duration
    assert flags["s"] >= timed
    assert flags["d"] == counts["duplicate"]
    assert flags["l"] >= counts["straightliner"]
    assert flags["g"] >= counts["gibberish"]


def test_no_email_or_ip_of_the_input_reaches_the_warehouse(demo):
    settings, _ = demo
    truth, _ = demo_respondents(seed=SEED)
    wave_2024, _ = demo_respondents(seed=SEED + 1, n=2412, wave=2024)
    truth = pl.concat([truth, wave_2024])
    secrets_in = truth["email"].drop_nulls().to_list() + truth["ip_address"].drop_nulls().to_list()
    comments = (
        truth["comment"].drop_nulls().str.extract_all(r"[\w.+-]+@[\w-]+\.[\w.]+").explode().drop_nulls().to_list()
    )
    blob = settings.warehouse.read_bytes()
    leaked = [value for value in secrets_in + comments if value.encode("utf-8") in blob]
    assert not leaked, leaked[:5]
    masked = query(settings, "select count(*) n from responses where comment like '%[email]%'")["n"][0]
    assert masked >= 1


def test_a_second_run_with_nothing_new_leaves_the_warehouse_identical(demo, tmp_path):
    settings = copied(demo[0], tmp_path / "copy")
    before = settings.warehouse.read_bytes()
    tables = {
        t: query(settings, f"select * from {t}")
        for t in ("responses", "answers", "crosstab", "trend", "quarantine", "files")
    }
    run = run_night(load_study(), settings)
    assert run.files_new == 0 and not run.published
    assert settings.warehouse.read_bytes() == before
    for table, frame in tables.items():
        assert query(settings, f"select * from {table}").equals(frame), table


def test_a_cumulative_export_supersedes_instead_of_counting_twice(demo, tmp_path):
    settings, _ = demo
    again = copied(settings, tmp_path / "copy")
    inbox = again.inbox
    cumulative = inbox / "AI+in+social+media+2023_cumulative.csv"
    original = next(inbox.glob("AI+in+social+media+2023_November*"))
    cumulative.write_bytes(original.read_bytes().replace(b"\r\n", b"\n"))  # same responses, re-exported
    before = query(settings, "select count(*) n from responses")["n"][0]
    run = run_night(load_study(), again)
    assert run.files_new == 1 and run.published
    assert query(again, "select count(*) n from responses")["n"][0] == before
    files = query(again, "select * from files order by file_order")
    assert (files["rows_read"] == files["accepted"] + files["quarantined"] + files["superseded"]).all()
    assert files.filter(pl.col("source_file") == original.name)["superseded"][0] > 0


def test_the_second_wave_shows_the_trend_the_model_was_shifted_towards(demo):
    settings, _ = demo
    daily = query(
        settings, "select * from trend where question = 'ai_frequency' and answer = 'daily' and segment = 'all'"
    )
    row = daily.row(0, named=True)
    assert (row["wave"], row["previous_wave"]) == (2024, 2023)
    assert row["change_pts"] > 3 and row["is_significant"]
    assert row["pct"] == pytest.approx(100 * row["n"] / row["base_n"])


def test_weighting_targets_rake_the_bases_to_the_population(demo, tmp_path):
    settings, _ = demo
    targets = tmp_path / "weights.yaml"
    targets.write_text("role: {vp: 0.1, senior_director: 0.3, manager: 0.4, entry: 0.2}\n", encoding="utf-8")
    weighted = dataclasses.replace(copied(settings, tmp_path / "copy"), weights_file=targets)
    run = run_night(load_study(), weighted)
    assert run.published  # new settings, same files: the warehouse is rebuilt
    rows = query(
        weighted,
        "select segment, answer, pct, weighted_pct, effective_base, base_n from crosstab "
        "where wave = 2023 and question = 'role' and segment = 'all'",
    )
    shares = dict(zip(rows["answer"], rows["weighted_pct"]))
    assert shares == pytest.approx({"vp": 10, "senior_director": 30, "manager": 40, "entry": 20}, abs=1e-6)
    # A raking margin's weighted shares are fixed by the raking: no design variance, no interval.
    assert rows["effective_base"].is_null().all()
    design = query(
        weighted,
        "select effective_base, base_n, weighted_ci_low, weighted_pct, weighted_ci_high from crosstab "
        "where wave = 2023 and question = 'ai_frequency' and segment = 'role'",
    )
    assert (design["effective_base"] > 0).all()
    assert (design["weighted_ci_low"] < design["weighted_pct"]).all()
    assert (design["weighted_pct"] < design["weighted_ci_high"]).all()
    weights = query(
        weighted,
        "select avg(weight) m, count(weight) n, count(*) filter (where is_excluded and weight is not null) x "
        "from responses where wave = 2023",
    ).row(0, named=True)
    assert weights["m"] == pytest.approx(1) and weights["x"] == 0
    # Trend and claims read the weighted figures too, and say so.
    claims = query(
        weighted,
        "select c.is_weighted, c.computed_pct, x.weighted_pct from claims c join crosstab x on x.wave = c.wave "
        "and x.question = c.question and x.answer = c.answer and x.segment = c.segment_name "
        "and x.segment_value = c.segment_value",
    )
    assert claims.height > 0 and claims["is_weighted"].all()
    assert (claims["computed_pct"] == claims["weighted_pct"]).all()
    trend = query(weighted, "select count(*) n, count(*) filter (where not is_weighted) plain from trend").row(
        0, named=True
    )
    assert trend["n"] > 0 and trend["plain"] == 0
