"""The demo study's respondent model: determinism, shape, invariants, calibration, defects."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl
import pytest

from demo.model import (
    DEFECT_COUNTS,
    inject_defects,
    published_check,
    simulate_respondents,
)
from schemas.codebook import codebook

CB = codebook()
CONTRADICTED = "F28"  # "71% use AI" contradicts F08c (11% never use AI): the model follows F08c


@pytest.fixture(scope="module")
def clean() -> pl.DataFrame:
    return simulate_respondents()


@pytest.fixture(scope="module")
def spoiled(clean) -> tuple[pl.DataFrame, dict[str, int]]:
    return inject_defects(clean, seed=2023)


def test_same_seed_same_frame_other_seed_other_frame(clean):
    assert simulate_respondents(seed=2023).equals(clean)
    assert not simulate_respondents(seed=2024).equals(clean)
    first, counts = inject_defects(clean, seed=5)
    again, counts_again = inject_defects(clean, seed=5)
    assert first.equals(again) and counts == counts_again


def test_columns_and_types(clean):
    single = {q.code: pl.Utf8 for q in CB.single}
    multi = {q.code: pl.List(pl.Utf8) for q in CB.multi}
    expected = {
        "respondent": pl.Int64,
        "channel": pl.Utf8,
        "language": pl.Utf8,
        "started_at": pl.Datetime("us", "UTC"),
        "submitted_at": pl.Datetime("us", "UTC"),
        "email": pl.Utf8,
        "ip_address": pl.Utf8,
        **single,
        **multi,
        "industry_other": pl.Utf8,
        "ai_uses_other": pl.Utf8,
        "comment": pl.Utf8,
    }
    assert dict(clean.schema) == expected
    assert clean.height == 2334
    assert clean["respondent"].to_list() == list(range(1, 2335))


def test_answers_are_valid_codes_and_complete(clean):
    for q in CB.single:
        assert clean[q.code].null_count() == 0
        assert clean[q.code].is_in(q.option_codes).all(), q.code
    assert (clean["attention_check"] == CB.attention_check.expected).all()
    for q in CB.multi:
        lists = clean[q.code].to_list()
        assert all(lists), f"{q.code}: every respondent picks at least one option"
        assert all(picked == sorted(picked, key=q.option_codes.index) for picked in lists), "questionnaire order"
        assert all(len(set(picked)) == len(picked) for picked in lists)
        for code in q.exclusive_codes:
            assert not any(code in picked and len(picked) > 1 for picked in lists), f"{q.code}: {code} combined"


def test_metadata(clean):
    duration = (clean["submitted_at"] - clean["started_at"]).dt.total_seconds()
    assert (duration > 0).all()
    assert 360 <= duration.median() <= 480  # about 7 minutes
    assert clean["started_at"].min() >= datetime(2023, 10, 2, tzinfo=UTC)
    assert clean["submitted_at"].max() < datetime(2023, 11, 16, tzinfo=UTC)
    assert clean["started_at"].is_sorted()
    assert clean["email"].drop_nulls().is_unique().all()
    assert 0.45 <= clean["email"].is_not_null().mean() <= 0.55
    assert clean["email"].drop_nulls().str.contains(r"^[a-z]+\.[a-z]+\d*@example\.(com|org|net)$").all()
    assert clean["ip_address"].is_unique().all()
    assert clean["ip_address"].str.contains(r"^(192\.0\.2|198\.51\.100|203\.0\.113|10\.\d+\.\d+)\.\d+$").all()
    shares = clean["channel"].value_counts(normalize=True)
    expected = {
        "qualtrics_en": 0.38,
        "qualtrics_fr": 0.17,
        "surveymonkey": 0.17,
        "google_forms": 0.15,
        "typeform": 0.13,
    }
    assert {row["channel"]: round(row["proportion"], 2) for row in shares.iter_rows(named=True)} == expected
    assert ((clean["channel"] == "qualtrics_fr") == (clean["language"] == "fr")).all()


def test_free_text_follows_the_answers(clean):
    assert ((clean["industry"] == "other") == clean["industry_other"].is_not_null()).all()
    assert (clean["ai_uses"].list.contains("other") == clean["ai_uses_other"].is_not_null()).all()
    assert 0.17 <= clean["comment"].is_not_null().mean() <= 0.23
    french = clean.filter(pl.col("language") == "fr")["comment"].drop_nulls()
    assert french.str.contains(r"[éèàçê]|nous|pour|l'").mean() > 0.8


def test_model_structure_follows_the_report_narrative(clean):
    never = clean.filter(pl.col("ai_frequency") == "never")
    assert never["ai_uses"].list.contains("none").mean() > 0.75
    assert clean.filter(pl.col("ai_frequency") == "daily")["ai_uses"].list.contains("none").mean() < 0.02
    weekly_plus = pl.col("ai_frequency").is_in(["daily", "few_per_week", "weekly"]).mean()
    by_followers = clean.group_by("followers").agg(weekly_plus).sort("followers")
    small = by_followers.filter(pl.col("followers") == "lt_10k")["ai_frequency"].item()
    large = by_followers.filter(pl.col("followers") == "f1m_plus")["ai_frequency"].item()
    assert large > small + 0.2


def test_every_published_figure_within_3_points_but_the_contradiction(clean):
    check = published_check(clean)
    assert check.height == 71
    off = check.filter((pl.col("id") != CONTRADICTED) & (pl.col("diff").abs() > 3))
    assert off.is_empty(), off


def test_f28_is_the_contradiction(clean):
    check = {row["id"]: row for row in published_check(clean).iter_rows(named=True)}
    assert check["F28"]["computed_pct"] == pytest.approx(100 - check["F08c"]["computed_pct"])
    assert 87 <= check["F28"]["computed_pct"] <= 91
    assert abs(check["F28"]["diff"]) > 15  # published 71


@pytest.mark.parametrize("seed", [1, 7, 99])
def test_other_seeds_stay_within_3_5_points(seed):
    check = published_check(simulate_respondents(seed=seed)).filter(pl.col("id") != CONTRADICTED)
    assert check["diff"].abs().max() <= 3.5, check.sort(pl.col("diff").abs()).tail(3)


def test_published_figures_survive_the_defects(spoiled):
    frame, _ = spoiled
    off = published_check(frame).filter((pl.col("id") != CONTRADICTED) & (pl.col("diff").abs() > 3))
    assert off.is_empty(), off


def test_defect_counts_as_returned_and_visible(clean, spoiled):
    frame, counts = spoiled
    assert set(counts) == set(DEFECT_COUNTS)
    assert frame.height == clean.height and frame["respondent"].equals(clean["respondent"])
    visible = dict(frame["defect"].drop_nulls().value_counts().iter_rows())
    assert visible == counts
    assert 27 <= counts["speeder"] <= 33 and counts["duplicate"] in (1, 2) and counts["exclusive_conflict"] == 4
    assert frame.filter(pl.col("defect").is_not_null())["channel"].n_unique() >= 4
    copied = frame.filter(pl.col("defect") == "duplicate")["email"].implode()
    untouched = frame["defect"].is_null() & ~frame["email"].is_in(copied)  # an original may take a replaced row's place
    assert frame.filter(untouched).drop("defect").equals(clean.filter(untouched))


def test_each_defect_looks_like_its_name(spoiled):
    frame, _ = spoiled
    rows = {d: frame.filter(pl.col("defect") == d) for d in DEFECT_COUNTS}
    duration = (pl.col("submitted_at") - pl.col("started_at")).dt.total_seconds()
    assert rows["speeder"].select(duration.is_between(40, 80).all()).item()
    assert not rows["speeder"]["channel"].is_in(["google_forms"]).any()  # it records no start time
    grid = [q.code for q in CB.grid_items("opinions")]
    liners = rows["straightliner"].select(grid).rows()
    assert all(len(set(line)) == 1 for line in liners)
    assert {line[0] for line in liners} == {"disagree", "agree"}
    assert (rows["attention_failed"]["attention_check"] != "disagree").all()
    for row in rows["duplicate"].iter_rows(named=True):
        original = frame.filter((pl.col("email") == row["email"]) & (pl.col("respondent") != row["respondent"]))
        assert original.height == 1 and original["defect"].item() is None
        assert original["submitted_at"].item() < row["started_at"]
        answers = [q.code for q in CB.closed]
        assert original.select(answers).row(0) == tuple(row[a] for a in answers)
    single = [q.code for q in CB.single]
    for row in rows["invalid_answer"].iter_rows(named=True):
        assert sum(str(row[q]).startswith("!") for q in single) == 1
    for row in rows["missing_required"].iter_rows(named=True):
        assert sum(row[q.code] is None for q in CB.single) + sum(row[q.code] == [] for q in CB.multi) == 1
    for row in rows["exclusive_conflict"].iter_rows(named=True):
        assert any("none" in row[q.code] and len(row[q.code]) > 1 for q in CB.multi)
    pii = rows["pii_in_comment"]["comment"]
    assert pii.str.contains(r"@example\.org").any() and pii.str.contains(r"\+33 6 12 34 56 78").any()
    assert rows["gibberish"]["comment"].str.contains(r"^[a-z ]+$").all()


def test_published_check_excludes_the_defect_rows_that_leave_the_base(spoiled):
    frame, counts = spoiled
    from demo.model import _base_filter

    kept = frame.filter(_base_filter())
    excluded = {"speeder", "attention_failed", "duplicate", "invalid_answer", "missing_required", "exclusive_conflict"}
    assert kept["defect"].is_in(list(excluded)).sum() == 0
    agreeing_liners = counts["straightliner"] - counts["straightliner"] // 2  # they fail the attention check
    assert kept.height == frame.height - sum(counts[d] for d in excluded) - agreeing_liners


def test_wave_2024_runs_a_year_later_with_more_use():
    later = simulate_respondents(wave=2024)
    assert later["started_at"].min().year == 2024
    daily = {
        wave: frame["ai_frequency"].eq("daily").mean()
        for wave, frame in ((2023, simulate_respondents()), (2024, later))
    }
    assert daily[2024] > daily[2023] + 0.02
