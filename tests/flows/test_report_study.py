"""The report page from the study: its outline, the change since the previous wave, the
claims of every wave with published figures, weighted figures, labels in any study language.

The warehouse is the demo at full size, two waves (2023 with the published figures, 2024):
large enough for significant changes between the waves.
"""

from __future__ import annotations

import dataclasses
import re
import shutil
from pathlib import Path

import duckdb
import pytest

from cli.main import main
from demo.study import write_demo_study
from report import build_report
from report.strings import UI, ui
from schemas.study import load_study
from surveyhouse.night import run_night
from surveyhouse.rebuild import rebuild_warehouse
from surveyhouse.settings import load_settings

BUILTIN = Path(__file__).resolve().parents[2] / "schemas" / "data" / "questionnaire.yaml"


@pytest.fixture(scope="module")
def demo(demo_night):
    """2023 and 2024, seed 2023, as `surveyhouse demo`: run once for the test run (tests/conftest.py)."""
    return demo_night


@pytest.fixture(scope="module")
def page(demo) -> str:
    return build_report(demo.warehouse, lang="en")


def query(warehouse: Path, sql: str, parameters: list | None = None) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        return connection.execute(sql, parameters or []).fetchall()


def _figure(page: str, chart_id: str) -> str:
    return re.search(rf'<figure class="chart" id="chart-{re.escape(chart_id)}".*?</figure>', page, flags=re.DOTALL)[0]


def test_the_default_page_shows_every_question_of_the_outline_including_ai_threat(page):
    outline = load_study().outline
    assert "ai_threat" in outline.questions
    for question in outline.questions:
        assert f'id="chart-{question}"' in page, question
    assert ">AI tools are a threat to my job.</h3>" in page
    assert 'class="chart empty"' not in page


def test_the_default_page_shows_the_latest_wave_with_each_change_since_the_previous_and_its_significance(demo, page):
    assert '<span class="wave">Wave 2024</span>' in page
    assert "its change since wave 2023" in page and "Change since wave 2023 (* significant)" in page
    assert sum(map(int, re.findall(r'data-changes="(\d+)"', page))) > 100
    significant = query(
        demo.warehouse,
        "select question, answer, change_pts from trend where wave = 2024 and segment = 'all' and is_significant "
        "and question = 'ai_frequency' and answer in ('daily', 'weekly', 'few_per_month', 'rarely', 'never') ",
    )
    assert significant, "the full demo's 2024 wave uses AI significantly more often than 2023"
    figure = _figure(page, "ai_frequency")
    for _, _, change in significant:
        assert f"+{round(change)}\u00a0pts*<" in figure or f"−{abs(round(change))}\u00a0pts*<" in figure
    assert int(re.search(r'data-changes-significant="(\d+)"', figure)[1]) >= len(significant)
    steady = query(
        demo.warehouse,
        "select change_pts from trend where wave = 2024 and segment = 'all' and question = 'ai_interest' "
        "and answer = 'very' and not is_significant",
    )
    assert steady, "some change is not significant"
    assert re.search(r"\u00a0pts<", _figure(page, "ai_interest"))  # a change without its star


def test_the_default_page_lists_the_claims_of_2023_though_it_shows_2024(demo, page):
    claims = page[page.index('<section id="claims">') : page.index('<section id="quality">')]
    assert "Published figures of wave 2023" in claims
    for (fid,) in query(demo.warehouse, "select id from claims where wave = 2023"):
        assert f"<td>{fid}</td>" in claims, fid
    assert sum(map(int, re.findall(r'data-published="(\d+)"', page))) == 0  # no 2023 figure on a 2024 bar


def test_the_claims_command_takes_a_wave(demo, capsys):
    assert main(["claims", "--warehouse", str(demo.warehouse), "--wave", "2023"]) == 0
    out = capsys.readouterr().out
    assert f"of {query(demo.warehouse, 'select count(*) from claims where wave = 2023')[0][0]};" in out
    assert main(["claims", "--warehouse", str(demo.warehouse), "--wave", "2024"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("Error: wave 2024 has no published figures") and "(waves with figures: 2023)" in err


REPORT_YAML = """\
title: {en: "Two charts only"}
sections:
  - key: tools
    title: {en: "Tools", fr: "Outils"}
    questions:
      - {question: ai_frequency, nets: []}
      - {question: uses_2025, by: role}
  - title: {en: "Threat"}
    questions:
      - {question: ai_threat, answer: top2, by: ai_frequency, chart: by_segment}
segments: {ai_frequency: {en: "how often one uses AI"}}
nets: {ai_threat: {top2: {en: "Feels threatened"}}}
"""


def _study(tmp_path: Path, report_yaml: str) -> Path:
    folder = tmp_path / "study"
    folder.mkdir()
    shutil.copy(BUILTIN, folder / "questionnaire.yaml")
    (folder / "report.yaml").write_text(report_yaml, encoding="utf-8")
    return folder


def test_a_study_with_a_report_yaml_gets_exactly_its_sections_charts_and_words(demo, tmp_path):
    page = build_report(demo.warehouse, lang="en", study=load_study(_study(tmp_path, REPORT_YAML)))
    assert "<title>Two charts only</title>" in page
    sections = re.findall(r'<section id="([^"]+)"><h2>([^<]+)</h2>', page)
    assert sections == [("tools", "Tools"), ("section-2", "Threat"), ("claims", "The published figures, recomputed"),
                        ("quality", "Data quality")]  # fmt: skip
    assert re.findall(r'<figure class="chart" id="chart-([^"]+)"', page) == [
        "ai_frequency",
        "uses_2025-panels-by-role",
        "ai_threat-top2-by-ai_frequency",
    ]
    assert "Answer: Feels threatened · by how often one uses AI" in page
    assert "Once a week or more" not in _figure(page, "ai_frequency")  # nets: [] leaves the NETs out


@pytest.mark.parametrize(
    ("text", "line", "says"),
    [
        ("sections:\n  - title: {en: A}\n    questions: [role]\n    colour: red\n", 4, "unknown key `colour`"),
        ("sections:\n  - title: {en: A}\n    questions:\n      - comment\n", 4, "'comment' is no closed question"),
        ("sections:\n  - title: {en: A}\n    questions:\n      - {question: role, by: shoe_size}\n", 4, "needs `by:`"),
        ("sections:\n  - title: {en: A}\n    questions:\n      - {question: role, nets: [top2]}\n", 4, "no NET 'top2'"),
        ("title: {en: A}\n", 1, "`sections:` is missing"),
        ("sections:\n  - key: quality\n    title: {en: A}\n    questions: [role]\n", 2, "key 'quality' is taken"),
        ("sections:\n\t- title: A\n", 2, "not valid YAML"),
    ],
)
def test_a_mistake_in_report_yaml_is_one_line_naming_the_file_and_line(tmp_path, text, line, says):
    folder = _study(tmp_path, text)
    with pytest.raises(ValueError) as error:  # OutlineError, or the StudyError that carries it
        load_study(folder)
    message = str(error.value)
    assert message.startswith(f"{folder / 'report.yaml'}, line {line}: ") and says in message, message
    assert "\n" not in message


def test_without_report_yaml_the_outline_is_every_closed_question_by_section_else_grid(tmp_path):
    text = BUILTIN.read_text(encoding="utf-8")
    text = text.replace("  - code: industry\n", "  - code: industry\n    section: profile\n")
    text = text.replace("  - code: team_size\n", "  - code: team_size\n    section: profile\n")
    text = text.replace(
        "questions:\n  - code: role",
        'sections:\n  profile: {en: "About you", fr: "Votre profil"}\n\nquestions:\n  - code: role',
    )
    folder = tmp_path / "study"
    folder.mkdir()
    (folder / "questionnaire.yaml").write_text(text, encoding="utf-8")
    outline = load_study(folder).outline
    keys = [(s.key, s.title.get("en"), [c.question for c in s.charts]) for s in outline.sections]
    assert keys[:3] == [
        ("role", "What is your current role level?", ["role"]),
        ("profile", "About you", ["industry", "team_size"]),
        ("followers", "How many followers does your company have across social networks?", ["followers"]),
    ]
    assert ("opinions", "How much do you agree with each statement?", ["ai_useful", "ai_threat"]) in keys
    closed = [q.code for q in load_study(folder).book.closed if q.code != "attention_check"]
    assert outline.questions == closed


def test_a_section_of_one_question_does_not_repeat_its_title_as_the_charts_heading(demo, tmp_path):
    folder = tmp_path / "study"
    folder.mkdir()
    shutil.copy(BUILTIN, folder / "questionnaire.yaml")  # no report.yaml: a section per question or grid
    page = build_report(demo.warehouse, lang="en", study=load_study(folder))
    role = page[page.index('<section id="role">') : page.index('<section id="industry">')]
    assert (
        role.count("What is your current role level?") == 3
    )  # the section's title, the chart's aria-label and <title>
    assert "<h3>" not in role
    opinions = page[page.index('<section id="opinions">') :]
    assert "<h3>AI tools are a threat to my job.</h3>" in opinions  # a grid's items keep their headings


def test_a_study_in_english_and_spanish_has_spanish_labels_and_english_page_words(demo, tmp_path):
    text = (
        BUILTIN.read_text(encoding="utf-8")
        .replace(" fr: ", " es: ")
        .replace("languages: [en, fr]", "languages: [en, es]")
    )
    text = text.replace('es: "Vice-président ou plus"', 'es: "Vicepresidente o superior"')
    text = text.replace('es: "Tous les jours"', 'es: "Todos los días"')
    folder = tmp_path / "study-es"
    folder.mkdir()
    (folder / "questionnaire.yaml").write_text(text, encoding="utf-8")
    try:
        study = load_study(folder)
    except KeyError as missing:  # the codebook reads en and fr only before the study folder work (issue 16.1)
        pytest.skip(f"this codebook cannot read a questionnaire in en and es yet (no {missing} label)")
    page = build_report(demo.warehouse, lang="es", study=study)
    assert '<html lang="es">' in page
    assert "Vicepresidente o superior" in page and "Todos los días" in page
    assert "How to read the charts" in page and "Data quality" in page  # the page's own words: English


def test_a_weighted_run_shows_weighted_figures_and_says_so(demo, tmp_path):
    targets = tmp_path / "weights.yaml"
    targets.write_text("role: {vp: 0.1, senior_director: 0.3, manager: 0.4, entry: 0.2}\n", encoding="utf-8")
    copy = tmp_path / "copy"
    shutil.copytree(demo.warehouse.parent, copy)
    weighted = dataclasses.replace(
        demo, inbox=copy / "landing", warehouse=copy / "surveyhouse.duckdb", weights_file=targets
    )
    run_night(load_study(), weighted)
    page = build_report(weighted.warehouse, lang="en")
    assert "The figures are weighted to the population targets" in page and "weighted figures</li>" in page
    figure = _figure(page, "role")
    for share in ("10%", "30%", "40%", "20%"):  # the raked shares, not the sample's
        assert f">{share} " in figure, share
    columns = [row[0] for row in query(weighted.warehouse, "select column_name from (describe trend)")]
    trend_weighted = (
        "is_weighted" in columns and query(weighted.warehouse, "select bool_or(is_weighted) from trend")[0][0]
    )
    says = "are weighted too." if trend_weighted else "are on unweighted figures."
    assert f"The changes since the previous wave and their tests {says}" in page
    unweighted = build_report(demo.warehouse, lang="en")
    assert "The figures are weighted" not in unweighted


def test_rebuild_writes_the_report_page_of_the_rebuilt_warehouse(tmp_path):
    write_demo_study(tmp_path / "landing", seed=7, waves=((2023, 300),))
    settings = load_settings(inbox=str(tmp_path / "landing"), warehouse=str(tmp_path / "surveyhouse.duckdb"))
    run_night(load_study(), settings)
    run = rebuild_warehouse(load_study(), settings)
    assert run.report == settings.report_file
    assert f"(run {run.run_id})" in settings.report_file.read_text(encoding="utf-8")


def test_the_page_words_fall_back_to_english_in_a_language_they_are_not_written_in():
    assert ui("es", "how_to_read") == UI["en"]["how_to_read"]
    assert ui("fr", "how_to_read") == "Comment lire les graphiques"
