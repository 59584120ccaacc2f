"""Exports of a study in another language than English or French, written by tools set to
that language: the tools' own words (Google Forms' email column, SurveyMonkey's row-2
"Response") are read in German, Spanish, Italian and Portuguese as in English."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from schemas.study import load_study
from surveyhouse.staging import process_export
from tests.hardening.test_study_edits import QUESTIONNAIRE


@pytest.fixture()
def book(tmp_path):
    (tmp_path / "questionnaire.yaml").write_text(QUESTIONNAIRE, encoding="utf-8")
    return load_study(tmp_path).book


def _write(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(rows)
    return path


@pytest.mark.parametrize(
    "email", ["E-Mail-Adresse", "Dirección de correo electrónico", "Indirizzo email", "Endereço de e-mail"]
)
def test_a_google_forms_email_column_in_the_sheets_language_is_the_respondents_email(tmp_path, book, email):
    header = ["Zeitstempel", email, "Was ist Ihre berufliche Stellung?", "Welche KI-Werkzeuge nutzen Sie?"]
    export = _write(
        tmp_path / "umfrage.csv",
        [
            header,
            ["02.10.2023 13:05:09", "anna@example.de", "Führungskraft", "Übersetzung, Bildbearbeitung"],
            ["03.10.2023 13:05:09", "", "Selbstständig", "Keine davon"],
            ["04.10.2023 13:05:09", "anna@example.de", "Angestellte(r)", "Übersetzung"],
        ],
    )
    record, accepted, _ = process_export(export, run_id="r", file_order=1, wave=2023, book=book, key=b"k")
    assert record["status"] == "loaded" and record["columns_ignored"] is None, record
    hashes = accepted.sort("source_row").get_column("email_hash").to_list()
    assert hashes[0] is not None and hashes[1] is None and hashes[0] == hashes[2]
    assert "anna@example.de" not in str(accepted.rows())


@pytest.mark.parametrize(
    ("answer", "open_answer"),
    [("Antwort", "Offene Antwort"), ("Respuesta", "Respuesta abierta"), ("Risposta", "Risposta aperta")],
)
def test_a_surveymonkey_export_in_the_accounts_language_loads_every_row(tmp_path, book, answer, open_answer):
    meta = ["Respondent ID", "Collector ID", "Start Date", "End Date", "IP Address"]
    questions = ["Was ist Ihre berufliche Stellung?", "Welche KI-Werkzeuge nutzen Sie?", "", "", ""]
    export = _write(
        tmp_path / "umfrage_sm.csv",
        [
            [*meta, *questions, "Möchten Sie uns noch etwas mitteilen?"],
            [""] * 5 + [answer, "Übersetzung", "Bildbearbeitung", "Keine davon", "", open_answer],
            ["1001", "7", "10/02/2023 01:02:03 PM", "10/02/2023 01:12:03 PM", "10.0.0.1"]
            + ["Führungskraft", "Übersetzung", "Bildbearbeitung", "", "", "Gut"],
            ["1002", "7", "10/03/2023 01:02:03 PM", "10/03/2023 01:12:03 PM", "10.0.0.2"]
            + ["Selbstständig", "", "", "Keine davon", "", ""],
            ["1003", "7", "10/04/2023 01:02:03 PM", "10/04/2023 01:12:03 PM", "10.0.0.3"]
            + ["Angestellte(r)", "Übersetzung", "", "", "", "Schön"],
        ],
    )
    record, accepted, quarantine = process_export(export, run_id="r", file_order=1, wave=2023, book=book, key=b"k")
    assert (record["status"], record["rows_read"], accepted.height) == ("loaded", 3, 3), record["message"]
    assert record["columns_ignored"] is None and quarantine.is_empty()
    rows = accepted.sort("source_row")
    assert rows.get_column("stellung").cast(str).to_list() == ["fuehrung", "selbst", "angestellt"]
    assert rows.get_column("werkzeuge").to_list() == [["uebersetzung", "bild"], ["keine"], ["uebersetzung"]]
    assert rows.get_column("kommentar").to_list() == ["Gut", None, "Schön"]


def test_a_limesurvey_export_with_german_full_headings_and_answers_loads_every_row(tmp_path, book):
    """LimeSurvey's default export (full question texts, full answers) of a German survey: its
    metadata headings and its Ja/Nein are German."""
    meta = ["Antwort ID", "Datum Abgeschickt", "Letzte Seite", "Start-Sprache", "Zufallsgeneratorstartwert"]
    tools = ["Übersetzung", "Bildbearbeitung", "Keine davon"]
    header = [
        *meta,
        "Was ist Ihre berufliche Stellung?",
        *(f"Welche KI-Werkzeuge nutzen Sie? [{tool}]" for tool in tools),
        "Möchten Sie uns noch etwas mitteilen?",
    ]
    rows = [
        ["7", "2023-10-02 13:05:09", "2", "de", "123", "Führungskraft", "Ja", "Ja", "Nein", "Gut"],
        ["8", "2023-10-03 13:05:09", "2", "de", "124", "Selbstständig", "Nein", "Nein", "Ja", ""],
        ["9", "2023-10-04 13:05:09", "2", "de", "125", "Angestellte(r)", "Ja", "Nein", "Nein", "Schön"],
    ]
    export = tmp_path / "results-survey123456.csv"
    with export.open("w", encoding="utf-8-sig", newline="") as handle:
        csv.writer(handle, delimiter=";", quoting=csv.QUOTE_ALL).writerows([header, *rows])
    record, accepted, quarantine = process_export(export, run_id="r", file_order=1, wave=2023, book=book, key=b"k")
    assert (record["layout"], record["status"], accepted.height) == ("limesurvey", "loaded", 3), record["message"]
    assert record["columns_ignored"] is None and quarantine.is_empty()
    rows_ = accepted.sort("source_row")
    assert rows_.get_column("response_id").to_list() == ["7", "8", "9"]
    assert rows_.get_column("stellung").cast(str).to_list() == ["fuehrung", "selbst", "angestellt"]
    assert rows_.get_column("werkzeuge").to_list() == [["uebersetzung", "bild"], ["keine"], ["uebersetzung"]]


def test_a_limesurvey_export_with_french_full_headings_loads_like_its_code_headings(tmp_path):
    from demo.exports.limesurvey import write_limesurvey
    from schemas.codebook import codebook
    from tests.flows.respondents import small_respondents

    loaded = {}
    for headings in ("code_text", "full"):
        export = tmp_path / f"limesurvey_{headings}.csv"
        write_limesurvey(small_respondents(language="fr"), export, headings=headings)
        record, accepted, quarantine = process_export(
            export, run_id="r", file_order=1, wave=2023, book=codebook(), key=b"k", max_quarantined_share=1.0
        )
        assert record["layout"] == "limesurvey", record["message"]
        loaded[headings] = (record["rows_read"], accepted.drop("source_file").sort("source_row"), quarantine.height)
    assert loaded["full"][0] == loaded["code_text"][0] and loaded["full"][2] == loaded["code_text"][2]
    assert loaded["full"][1].equals(loaded["code_text"][1])


@pytest.mark.parametrize(
    ("timestamp", "day_first"),
    [("Marca temporal", True), ("Horodateur", True), ("Informazioni cronologiche", True), ("Timestamp", False)],
)
def test_a_google_sheet_in_a_day_first_language_reads_its_ambiguous_dates_day_first(
    tmp_path, book, timestamp, day_first
):
    """Dates that read both ways (every day 12 or under): a sheet whose Timestamp header is in
    a language written day first (its locale's D/M/YYYY) reads 2/10 as 2 October; an English
    one keeps the US order."""
    export = _write(
        tmp_path / "respuestas.csv",
        [
            [timestamp, "Was ist Ihre berufliche Stellung?", "Welche KI-Werkzeuge nutzen Sie?"],
            ["2/10/2024 13:05:09", "Führungskraft", "Übersetzung"],
            ["3/10/2024 13:05:09", "Selbstständig", "Keine davon"],
            ["12/11/2024 10:00:00", "Angestellte(r)", "Bildbearbeitung"],
        ],
    )
    _, accepted, _ = process_export(export, run_id="r", file_order=1, wave=2024, book=book, key=b"k")
    dates = [(t.month, t.day) for t in accepted.sort("source_row").get_column("submitted_at")]
    assert dates == ([(10, 2), (10, 3), (11, 12)] if day_first else [(2, 10), (3, 10), (12, 11)])


@pytest.mark.parametrize(
    ("texts", "language"),
    [
        (["あなたの役割は何ですか？", "マネージャー", "使っているAIツールは？", "翻訳"], "ja"),
        (["您的职位是什么？", "经理", "员工"], "zh"),
        (["귀하의 역할은 무엇입니까?", "관리자"], "ko"),
        (["Какова ваша роль?", "Менеджер"], "ru"),
        (["Ποιος είναι ο ρόλος σας;", "Διευθυντής"], "el"),
        (["Was ist Ihre berufliche Stellung?", "Führungskraft"], "de"),
        (["What is your role?", "Manager"], "en"),
    ],
)
def test_the_draft_tells_the_language_of_an_export_in_another_script(texts, language):
    from transforms.draft import export_language

    assert export_language(texts) == language


def test_a_japanese_google_forms_sheet_is_recognised_and_drafted_in_japanese(tmp_path, capsys):
    from cli.main import main

    export = _write(
        tmp_path / "回答.csv",
        [
            ["タイムスタンプ", "あなたの役割は何ですか？", "使っているAIツールは？"],
            ["2024/10/02 13:05:09", "マネージャー", "翻訳, 画像"],
            ["2024/10/03 13:05:09", "スタッフ", "翻訳"],
            ["2024/10/04 9:05:09", "マネージャー", "画像"],
        ],
    )
    assert main(["study", "init", "--from", str(export), "--out", str(tmp_path / "study")]) == 0
    assert "3 responses" in (tmp_path / "study" / "questionnaire.yaml").read_text(encoding="utf-8")
    study = load_study(tmp_path / "study")
    assert study.languages == ("ja",)
    record, accepted, _ = process_export(export, run_id="r", file_order=1, wave=2024, book=study.book, key=b"k")
    assert (record["layout"], record["status"], accepted.height) == ("google_forms", "loaded", 3)
    assert [t.day for t in accepted.sort("source_row").get_column("submitted_at")] == [2, 3, 4]


def test_a_dutch_google_forms_sheet_with_dashed_day_first_dates_keeps_every_submission_time(tmp_path, book):
    export = _write(
        tmp_path / "antwoorden.csv",
        [
            ["Tijdstempel", "Was ist Ihre berufliche Stellung?", "Welche KI-Werkzeuge nutzen Sie?"],
            ["2-10-2024 13:05:09", "Führungskraft", "Übersetzung"],
            ["13-10-2024 9:05:09", "Selbstständig", "Keine davon"],
        ],
    )
    record, accepted, _ = process_export(export, run_id="r", file_order=1, wave=2024, book=book, key=b"k")
    assert (record["layout"], record["status"]) == ("google_forms", "loaded"), record["message"]
    times = accepted.sort("source_row").get_column("submitted_at").to_list()
    assert [(t.month, t.day, t.hour) for t in times] == [(10, 2, 13), (10, 13, 9)]
