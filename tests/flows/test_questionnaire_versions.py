"""Two waves of a questionnaire that changes (tests/cases/studies/versions): a question
added, one dropped, an option added, one dropped, one renamed, two merged into one.

Each wave's respondents are drawn here (their codes are the truth), exported as a Google
Forms sheet (labels, in the wave's wording) and a Qualtrics numeric export (options by
their position in the wave's list: 4 is DALL-E in 2023, Image tools in 2024), run through
the whole night, and the warehouse's crosstab and trend are held against counts computed
here from the truth.
"""

from __future__ import annotations

import dataclasses
import json
import random
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import polars as pl
import pytest

from schemas.study import load_study
from surveyhouse.night import run_night
from surveyhouse.settings import load_settings

STUDY = Path(__file__).resolve().parents[1] / "cases" / "studies" / "versions"
WAVES = (2023, 2024)
#: (wave, layout, language, respondents)
EXPORTS = ((2023, "google_forms", "en", 70), (2023, "qualtrics", "en", 60),
           (2024, "google_forms", "fr", 80), (2024, "qualtrics", "en", 65))  # fmt: skip


def _respondents(book, *, wave: int, n: int, rng: random.Random, prefix: str) -> list[dict]:
    """``n`` respondents of ``wave``: their answer codes to what that wave asked."""
    people = []
    for i in range(n):
        person = {"id": f"{prefix}{i:03d}", "submitted": datetime(wave, 10, 2) + timedelta(minutes=7 * i)}
        for question in book.closed:
            codes = question.option_codes
            if question.type == "single":
                person[question.code] = rng.choice(codes)
            else:
                person[question.code] = [c for c in codes if rng.random() < 0.4] or [rng.choice(codes)]
        people.append(person)
    return people


def _google_forms(book, people: list[dict], language: str, path: Path, *, invalid: str | None = None) -> None:
    """A Google Forms sheet: Timestamp, then one column per question headed by its text;
    ``invalid``, a label the wave does not offer, added to the first respondent's ai_tools."""
    header = ["Timestamp"] + [q.text[language] for q in book.questions]
    rows = []
    for index, person in enumerate(people):
        cells = [person["submitted"].strftime("%-m/%-d/%Y %-H:%M:%S")]
        for question in book.questions:
            chosen = person[question.code] if question.type == "multi" else [person[question.code]]
            labels = [o.labels[language] for o in question.options if o.code in chosen]
            if invalid and index == 0 and question.code == "ai_tools":
                labels.append(invalid)
            cells.append(", ".join(labels))
        rows.append(cells)
    pl.DataFrame([header, *rows], orient="row").write_csv(path, include_header=False)


_QUALTRICS_META = (("StartDate", "startDate"), ("EndDate", "endDate"), ("Status", "status"),
                   ("Duration (in seconds)", "duration"), ("Finished", "finished"),
                   ("RecordedDate", "recordedDate"), ("ResponseId", "_recordId"), ("UserLanguage", "userLanguage"))  # fmt: skip


def _qualtrics_numeric(book, people: list[dict], path: Path, *, invalid: str | None = None) -> None:
    """A Qualtrics export in numeric values: each option as its 1-based position in the wave's
    list (a multi-select joined by commas); ``invalid``, a position past the wave's last
    option, added to the first respondent's ai_tools."""
    ids = [c for c, _ in _QUALTRICS_META] + [f"Q{i}" for i, _ in enumerate(book.questions, start=1)]
    labels = [c for c, _ in _QUALTRICS_META] + [q.text["en"] for q in book.questions]
    imports = [json.dumps({"ImportId": i}) for _, i in _QUALTRICS_META]
    imports += [json.dumps({"ImportId": f"QID{i}"}) for i, _ in enumerate(book.questions, start=1)]
    rows = []
    for index, person in enumerate(people):
        end = person["submitted"].strftime("%Y-%m-%d %H:%M:%S")
        start = (person["submitted"] - timedelta(seconds=300)).strftime("%Y-%m-%d %H:%M:%S")
        cells = [start, end, "0", "300", "1", end, f"R_{person['id']}", "EN"]
        for question in book.questions:
            chosen = person[question.code] if question.type == "multi" else [person[question.code]]
            positions = [str(o.position) for o in question.options if o.code in chosen]
            if invalid and index == 0 and question.code == "ai_tools":
                positions.append(invalid)
            cells.append(",".join(positions))
        rows.append(cells)
    pl.DataFrame([ids, labels, imports, *rows], orient="row").write_csv(path, include_header=False)


@pytest.fixture(scope="module")
def night(tmp_path_factory):
    """(truth: one row per respondent loaded, crosstab, trend, files) of a night over both waves."""
    folder = tmp_path_factory.mktemp("versions")
    study = load_study(STUDY)
    rng, truth = random.Random(16), []
    for wave, layout, language, n in EXPORTS:
        book = study.book_for(wave)
        people = _respondents(book, wave=wave, n=n, rng=rng, prefix=f"{wave}{layout[0]}")
        (folder / "landing" / str(wave)).mkdir(parents=True, exist_ok=True)
        path = folder / "landing" / str(wave) / f"{layout}_{wave}.csv"
        if layout == "google_forms":  # 2024: a label of an option dropped after 2023
            _google_forms(book, people, language, path, invalid="Bard" if wave == 2024 else None)
        else:  # 2024: position 5, which 2023's list has (Midjourney) and 2024's has not
            _qualtrics_numeric(book, people, path, invalid="5" if wave == 2024 else None)
        truth += [{"wave": wave, **p} for p in (people[1:] if wave == 2024 else people)]  # the first is quarantined
    settings = load_settings(inbox=str(folder / "landing"), warehouse=str(folder / "w.duckdb"))
    run_night(study, dataclasses.replace(settings, secret="k", settle_s=0), report=False)
    with duckdb.connect(str(folder / "w.duckdb"), read_only=True) as connection:
        tables = {name: connection.sql(f"select * from {name}").pl() for name in ("crosstab", "trend", "files")}
        tables["responses"] = connection.sql("select wave, is_excluded from responses").pl()
        tables["quarantine"] = connection.sql("select * from quarantine").pl()
    return pl.DataFrame(truth, infer_schema_length=None), tables


def _counts(truth: pl.DataFrame, wave: int, question: str) -> tuple[int, dict[str, int]]:
    """(base, count per answer) of a question in a wave, from the truth."""
    rows = truth.filter(pl.col("wave") == wave)
    values = rows[question].to_list()
    counts: dict[str, int] = {}
    for value in values:
        for code in value if isinstance(value, list) else [value]:
            counts[code] = counts.get(code, 0) + 1
    return len(values), counts


def _whole_sample(table: pl.DataFrame) -> pl.DataFrame:
    return table.filter(pl.col("segment") == "all")


def test_each_wave_s_exports_load_against_that_wave_s_questionnaire(night):
    truth, tables = night
    files = tables["files"].sort("source_file")
    assert files["status"].to_list() == ["loaded"] * 4, files.select("source_file", "status", "message")
    assert not tables["responses"]["is_excluded"].any()
    assert tables["responses"].group_by("wave").len().sort("wave")["len"].to_list() == [130, 143]
    # The 2024 files: a label and a position of no option of 2024's list are invalid answers.
    quarantined = tables["quarantine"].filter(pl.col("source_row").is_not_null())
    assert quarantined["check_name"].to_list() == ["valid_option"] * 2
    chosen = sorted(json.loads(case) for case in quarantined["failure_case"])
    assert sorted(case[-1] for case in chosen) == ["5", "Bard"]


def test_the_crosstab_of_each_wave_holds_what_that_wave_asked_counted_from_the_truth(night):
    truth, tables = night
    crosstab = _whole_sample(tables["crosstab"])
    study = load_study(STUDY)
    for wave in WAVES:
        book = study.book_for(wave)
        of_wave = crosstab.filter(pl.col("wave") == wave)
        assert set(of_wave["question"]) == {q.code for q in book.closed}
        for question in book.closed:
            base, counts = _counts(truth, wave, question.code)
            rows = of_wave.filter(pl.col("question") == question.code).sort("answer_order")
            assert rows["answer"].to_list() == question.option_codes, (wave, question.code)
            assert set(rows["base_n"]) == {base}
            assert rows["n"].to_list() == [counts.get(code, 0) for code in question.option_codes], (wave, question.code)
    # And in each role: the segment's cells from the truth of its respondents alone.
    by_role = tables["crosstab"].filter(pl.col("segment") == "role")
    for (wave, role), people in truth.group_by("wave", "role"):
        for question in study.book_for(wave).closed:
            base, counts = _counts(people, wave, question.code)
            rows = by_role.filter(
                (pl.col("wave") == wave) & (pl.col("segment_value") == role) & (pl.col("question") == question.code)
            ).sort("answer_order")
            assert set(rows["base_n"]) == {base}
            assert rows["n"].to_list() == [counts.get(code, 0) for code in question.option_codes], (wave, role)
    # Not asked, not offered: no rows (rather than a zero percentage).
    assert crosstab.filter((pl.col("wave") == 2023) & (pl.col("question") == "agents")).is_empty()
    assert crosstab.filter((pl.col("wave") == 2024) & pl.col("answer").is_in(["bard", "dalle", "budget"])).is_empty()


def test_the_trend_compares_only_what_both_waves_asked_and_says_why_not(night):
    truth, tables = night
    trend = _whole_sample(tables["trend"]).filter(pl.col("wave") == 2024)
    row = {(q, a): r for q, a, r in zip(trend["question"], trend["answer"], trend.iter_rows(named=True))}
    base23, tools23 = _counts(truth, 2023, "ai_tools")
    base24, tools24 = _counts(truth, 2024, "ai_tools")
    for answer in ("chatgpt", "copilot"):
        compared = row[("ai_tools", answer)]
        assert (compared["n"], compared["previous_n"]) == (tools24.get(answer, 0), tools23.get(answer, 0))
        assert (compared["base_n"], compared["previous_base_n"]) == (base24, base23)
        assert compared["reason"] is None
        assert compared["change_pts"] == pytest.approx(100 * (compared["n"] / base24 - compared["previous_n"] / base23))
    assert row[("ai_tools", "copilot")]["note"] == (
        "question wording changed since 2023; answer wording changed since 2023"
    )
    assert row[("role", "lead")]["reason"] is None and row[("role", "lead")]["note"] is None
    # Merged: Image tools against DALL-E or Midjourney, each 2023 respondent counted once.
    images = row[("ai_tools", "images")]
    either = truth.filter((pl.col("wave") == 2023) & pl.col("ai_tools").list.eval(
        pl.element().is_in(["dalle", "midjourney"])).list.any()).height  # fmt: skip
    assert either < tools23["dalle"] + tools23["midjourney"]  # some chose both: a sum would count them twice
    assert (images["n"], images["previous_n"], images["previous_base_n"]) == (tools24["images"], either, base23)
    assert images["reason"] is None
    assert images["note"] == "question wording changed since 2023; compared with dalle|midjourney in 2023"
    expected = {
        ("ai_tools", "gemini"): ("answer added in 2024", tools24["gemini"], None),
        ("ai_tools", "bard"): ("answer dropped after 2023", None, tools23["bard"]),
        ("ai_tools", "dalle"): ("answer merged into images in 2024", None, tools23["dalle"]),
        ("agents", "often"): ("question not asked in 2023", _counts(truth, 2024, "agents")[1]["often"], None),
        ("budget", "funded"): ("question not asked in 2024", None, _counts(truth, 2023, "budget")[1]["funded"]),
    }
    for key, (reason, n, previous_n) in expected.items():
        assert (row[key]["reason"], row[key]["n"], row[key]["previous_n"]) == (reason, n, previous_n), key
        assert row[key]["change_pts"] is None and row[key]["p_value"] is None and not row[key]["is_significant"]
