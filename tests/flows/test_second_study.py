"""A second study, of its own (city transit riders, English and Spanish: a grid, a
multi-select with an exclusive "none", an ordered segment, NETs, a derived segment), runs
through the whole command line with ``--study`` and no code change, by the commands the
README's "Use it for your own survey" gives: every crosstab cell's
base and count equal those counted here, in plain Python, from the generator's truth.

The exports (Google Forms, SurveyMonkey, Typeform, SPSS, Qualtrics numeric) are written from a seeded truth
frame by the demo's writers, given this study's questionnaire.
"""

from __future__ import annotations

import random
import re
import shlex
import shutil
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import polars as pl
import pytest

from cli.main import main
from demo.exports.google_forms import write_google_forms
from demo.exports.qualtrics import write_qualtrics
from demo.exports.spss import write_spss
from demo.exports.surveymonkey import write_surveymonkey
from demo.exports.typeform import write_typeform
from schemas.study import load_study
from surveyhouse.night import run_night
from surveyhouse.settings import load_settings

STUDY = Path(__file__).resolve().parents[1] / "cases" / "studies" / "city_transit"
#: file name -> (source_tool the pipeline names, language, writer)
EXPORTS = {
    "transit_google_forms_en.csv": ("google_forms", "en", lambda f, p, book: write_google_forms(f, p, book=book)),
    "transit_surveymonkey_es.csv": (
        "surveymonkey",
        "es",
        lambda f, p, book: write_surveymonkey(f, p, seed=3, book=book),
    ),
    "transit_typeform_en.csv": ("typeform", "en", lambda f, p, book: write_typeform(f, p, seed=5, book=book)),
    "transit_spss_es.sav": ("spss", "es", lambda f, p, book: write_spss(f, p, language="es", seed=7, book=book)),
    "transit_qualtrics_es.csv": (
        "qualtrics",
        "es",
        lambda f, p, book: write_qualtrics(f, p, language="es", numeric=True, multi="split", seed=9, book=book),
    ),
}
PER_FILE = 70


def _truth(book, *, seed: int) -> pl.DataFrame:
    """One row per respondent, every answer as an option code (multi: a list), its file and
    language; clean data (unique emails and addresses, unhurried), so that no response is excluded."""
    rng = random.Random(seed)
    rows = []
    start = datetime(2025, 3, 3, 8, tzinfo=UTC)
    for index in range(PER_FILE * len(EXPORTS)):
        file, (tool, language, _) = list(EXPORTS.items())[index // PER_FILE]
        row = {"file": file, "source_tool": tool, "language": language}
        for question in book.closed:
            codes = question.option_codes
            if question.type == "single":
                row[question.code] = rng.choice(codes)
            else:
                chosen = [code for code in codes if code not in question.exclusive_codes and rng.random() < 0.4]
                row[question.code] = chosen or question.exclusive_codes
        started = start + timedelta(hours=index * 3 + rng.random())
        row["started_at"] = started
        row["submitted_at"] = started + timedelta(seconds=rng.uniform(400, 700))
        row["email"] = f"rider{index}@example.org" if rng.random() < 0.5 else None
        row["ip_address"] = f"10.16.{index // 250}.{index % 250 + 1}"
        row["comment"] = rng.choice([None, "More night buses.", "Más trenes por la noche."])
        rows.append(row)
    schema = {q.code: (pl.List(pl.Utf8) if q.type == "multi" else pl.Utf8) for q in book.closed}
    started = {"started_at": pl.Datetime("us", "UTC"), "submitted_at": pl.Datetime("us", "UTC")}
    return pl.DataFrame(rows, schema_overrides=schema | started, infer_schema_length=None)


def _expected_cells(truth: pl.DataFrame, book) -> dict[tuple, tuple[int, int]]:
    """(question, answer, segment, segment_value) -> (base, count), counted respondent by respondent."""
    derived = {d.code: (d.source, {m: g for g, ms in d.groups.items() for m in ms}) for d in book.derived_segments}
    bases: Counter = Counter()
    counts: Counter = Counter()
    for row in truth.iter_rows(named=True):
        segments = {"all": "all", "language": row["language"], "source_tool": row["source_tool"]}
        segments |= {q.code: row[q.code] for q in book.segment_questions}
        segments |= {code: groups[row[source]] for code, (source, groups) in derived.items()}
        for question in book.closed:
            chosen = set(row[question.code] if question.type == "multi" else [row[question.code]])
            answers = {code for code in question.option_codes if code in chosen}
            answers |= {net for net, members in question.nets.items() if chosen & set(members)}
            for segment, value in segments.items():
                bases[(question.code, segment, value)] += 1
                for answer in answers:
                    counts[(question.code, answer, segment, value)] += 1
    return {
        (question.code, answer, segment, value): (base, counts[(question.code, answer, segment, value)])
        for (code, segment, value), base in bases.items()
        for question in [book.question(code)]
        for answer in question.answer_codes
    }


def readme_commands() -> list[list[str]]:
    """The commands of the README's "Use it for your own survey" (its console block), as argument lists."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Use it for your own survey", 1)[1].split("\n## ", 1)[0]
    block = section.split("```console\n", 1)[1].split("```", 1)[0]
    return [
        shlex.split(line.removeprefix("$ "))[1:] for line in block.splitlines() if line.startswith("$ surveyhouse ")
    ]


@pytest.fixture(scope="module")
def second_study_run(tmp_path_factory):
    """The second study copied to ``my-study``, its exports landed in ``my-study/landing``, then the
    README's commands (study check, ``run --study my-study``, sql) run from its parent folder:
    (truth, warehouse)."""
    root = tmp_path_factory.mktemp("second_study")
    shutil.copytree(STUDY, root / "my-study")
    book = load_study(STUDY).book
    truth = _truth(book, seed=16)
    landing = root / "my-study" / "landing"
    landing.mkdir()
    for file, (_, _, write) in EXPORTS.items():
        write(truth.filter(pl.col("file") == file).drop("file", "source_tool"), landing / file, book)
    commands = readme_commands()
    assert ["run", "--study", "my-study", "--inbox", "my-study/landing", "--warehouse", "my-study.duckdb"] in commands
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)
        for argv in commands:
            assert main(argv) == 0, argv
    return truth, root / "my-study.duckdb"


def test_a_second_study_runs_with_study_and_every_crosstab_cell_matches_the_truth(second_study_run):
    truth, warehouse = second_study_run
    book = load_study(STUDY).book
    expected = _expected_cells(truth, book)
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        rows = connection.execute(
            "select question, answer, segment, segment_value, base_n, n from crosstab where wave = 2025"
        ).fetchall()
    built = {tuple(map(str, row[:4])): (row[4], row[5]) for row in rows}
    assert len(built) == len(rows), "one crosstab row per cell"
    wrong = {cell: (built.get(cell), want) for cell, want in expected.items() if built.get(cell) != want}
    assert not wrong, f"{len(wrong)} cells differ (built, expected), e.g. {sorted(wrong.items())[:5]}"
    extra = set(built) - set(expected)
    assert not extra, f"cells the truth has no respondent for: {sorted(extra)[:5]}"
    assert {segment for _, _, segment, _ in built} == {"all", "language", "source_tool", *book.segments}
    assert (
        sum(base for (q, _, s, _), (base, _) in built.items() if q == "modes" and s == "all")
        == len(book.question("modes").answer_codes) * truth.height
    )


def test_the_second_study_loads_every_row_of_its_five_layouts_in_both_languages(second_study_run):
    truth, warehouse = second_study_run
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        files = dict(connection.execute("select source_tool, accepted from files").fetchall())
        languages = dict(connection.execute("select language::varchar, count(*) from responses group by 1").fetchall())
        settings = connection.execute("select settings from runs order by run_id desc limit 1").fetchone()[0]
    assert files == {tool: PER_FILE for tool, _, _ in EXPORTS.values()}
    assert languages == dict(Counter(truth["language"].to_list()))
    assert f'"study": "{warehouse.parent / "my-study"}"' in settings
    assert '"district": {"east": 0.25' in settings  # the study's weights.yaml, in effect and recorded


def test_a_study_in_one_language_other_than_english_without_figures_or_weights_runs(tmp_path):
    """The second study in German only, with its questionnaire alone: every row loaded, in `de`."""
    folder = tmp_path / "nur-deutsch"
    folder.mkdir()
    text = (STUDY / "questionnaire.yaml").read_text(encoding="utf-8")
    text = re.sub(r',\s*es: "[^"]*"', "", text).replace("en: ", "de: ").replace("[en, es]", "[de]")
    (folder / "questionnaire.yaml").write_text(text, encoding="utf-8")
    study = load_study(folder)
    assert study.languages == ("de",) and study.figures.is_empty() and study.weighting_targets is None
    truth = _truth(study.book, seed=4).with_columns(language=pl.lit("de")).drop("file", "source_tool")
    (tmp_path / "landing").mkdir()
    write_google_forms(truth.head(PER_FILE), tmp_path / "landing" / "umfrage.csv", book=study.book)
    write_surveymonkey(truth.slice(PER_FILE, PER_FILE), tmp_path / "landing" / "umfrage_sm.csv", book=study.book)
    settings = load_settings(inbox=str(tmp_path / "landing"), warehouse=str(tmp_path / "w.duckdb"), study=str(folder))
    run = run_night(study, settings, report=False)
    assert run.problems == []
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as connection:
        assert connection.execute("select language::varchar, count(*) from responses group by 1").fetchall() == [
            ("de", 2 * PER_FILE)
        ]
        assert connection.execute("select count(*) from claims").fetchone() == (0,)
