"""`surveyhouse export --format xlsx`: one workbook, a banner sheet per wave and question
(labels in the chosen language, bases, percentages, marks and column letters), then a sheet
per table; `--format csv --labels LANG` labels the codes."""

from __future__ import annotations

import csv
import re

import duckdb
import fastexcel

from cli.main import main
from schemas.study import load_study
from warehouse.workbook import SHEET_NAME_CHARS, sheet_names

CELL = re.compile(r"^\d+%( [▲▼])?( [A-Z]+)*( †)?$")


def test_sheet_names_keep_within_excels_31_characters_and_are_unique():
    names = sheet_names(["figure_f23_want_more_ai_by_followers", "figure_f23_want_more_ai_by_followers_x", "A", "a"])
    assert all(len(name) <= SHEET_NAME_CHARS for name in names)
    assert len({name.lower() for name in names}) == 4
    assert names[0] == "figure_f23_want_more_ai_by_foll" and names[1].endswith("~2") and names[3] == "a~2"


def test_the_workbook_has_a_labelled_banner_sheet_per_question_with_bases_and_letters(demo_warehouse, tmp_path):
    out = tmp_path / "xlsx"
    assert main(["export", "--warehouse", str(demo_warehouse), str(out), "--format", "xlsx", "--lang", "fr"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["surveyhouse.xlsx"]
    book = fastexcel.read_excel(out / "surveyhouse.xlsx")
    study = load_study()
    banners = [f"2023 {q.code}" for q in study.book.closed]
    assert book.sheet_names[: len(banners)] == banners
    assert set(book.sheet_names) >= {"crosstab", "labels", "column_tests", "quarantine", "responses"}
    assert all(len(name) <= SHEET_NAME_CHARS for name in book.sheet_names)
    rows = book.load_sheet("2023 ai_interest", header_row=None).to_polars().rows()
    question = study.book.question("ai_interest")
    assert rows[0][0] == f"{question.text['fr']} (2023)"
    role = study.book.question("role")
    assert rows[1][1] == "Total" and role.text["fr"] in rows[1]
    headers = [h for h in rows[2] if h]
    assert f"{role.options[0].labels['fr']} (A)" in headers and f"{role.options[1].labels['fr']} (B)" in headers
    assert rows[3][0] == "Base" and float(rows[3][1]) > 500
    assert [row[0] for row in rows[4 : 4 + len(question.options)]] == [o.labels["fr"] for o in question.options]
    cells = [cell for row in rows[4:-2] for cell in row[2:] if cell]
    assert cells and all(CELL.match(cell) for cell in cells), [c for c in cells if not CELL.match(c)][:5]
    assert any(re.search(r" [A-Z]( †)?$", cell) for cell in cells), "some cell is higher than another column"
    assert any(cell.endswith(" †") for cell in cells), "low bases are marked"


def test_the_banner_letters_are_those_of_the_column_tests(demo_warehouse):
    with duckdb.connect(str(demo_warehouse), read_only=True) as connection:
        banner = connection.execute(
            "select question, answer, segment, segment_value, letter, higher_than, cell from banner "
            "where language = 'en' and higher_than is not null"
        ).fetchall()
        beaten = connection.execute(
            "select question, answer, segment, higher, string_agg(case when higher = value_a then letter_b "
            "else letter_a end, ' ' order by length(case when higher = value_a then letter_b else letter_a end), "
            "case when higher = value_a then letter_b else letter_a end) "
            "from column_tests where is_significant group by all"
        ).fetchall()
        languages = [row[0] for row in connection.execute("select distinct language from banner").fetchall()]
    assert sorted(languages) == sorted(load_study().languages)
    assert {(q, a, s, v): h for q, a, s, v, _, h, _ in banner} == {(q, a, s, v): h for q, a, s, v, h in beaten}
    assert all(cell.removesuffix(" †").endswith(" " + higher) for *_, higher, cell in banner)


def test_a_csv_export_with_labels_adds_label_columns_in_that_language(demo_warehouse, tmp_path):
    out = tmp_path / "csv"
    assert main(["export", "--warehouse", str(demo_warehouse), str(out), "--format", "csv", "--labels", "fr"]) == 0
    with open(out / "crosstab.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    vp = next(r for r in rows if r["question"] == "role" and r["answer"] == "vp" and r["segment"] == "all")
    assert vp["answer_label"] == load_study().book.question("role").option("vp").labels["fr"]
    assert list(rows[0]).index("answer_label") == list(rows[0]).index("answer") + 1
    with open(out / "labels.csv", newline="", encoding="utf-8") as handle:
        assert {row["language"] for row in csv.DictReader(handle)} == {"fr"}


def test_an_export_in_a_language_the_study_lacks_says_which_it_has(demo_warehouse, tmp_path, capsys):
    assert main(["export", "--warehouse", str(demo_warehouse), str(tmp_path), "--format", "xlsx", "--lang", "de"]) == 2
    assert capsys.readouterr().err.strip() == "Error: no labels in 'de': the study's languages are en, fr (--lang)"
