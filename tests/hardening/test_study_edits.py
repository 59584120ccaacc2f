"""A study edited after its first night (a question added for the next wave, a code renamed,
an option added): files already staged were staged with the old questionnaire. The night
says so in one line naming the study's questionnaire.yaml and `surveyhouse rebuild` (exit
status 2, nothing done), never a parser's ColumnNotFoundError; the rebuild then publishes
both waves, counted here from the rows written."""

from __future__ import annotations

import csv
import shlex
from collections import Counter
from pathlib import Path

import duckdb
import pytest

from cli.main import main
from schemas.study import load_study
from surveyhouse.night import run_night
from surveyhouse.settings import load_settings

QUESTIONNAIRE = """\
study: ki_umfrage
wave: 2023
languages: [de]
waves:
  - {wave: 2023, start: 2023-10-01, end: 2023-12-31}
  - {wave: 2024, start: 2024-10-01, end: 2024-12-31}
questions:
  - code: stellung
    type: single
    required: true
    segment: true
    text: {de: "Was ist Ihre berufliche Stellung?"}
    options:
      - {code: fuehrung, de: "Führungskraft"}
      - {code: selbst, de: "Selbstständig"}
      - {code: angestellt, de: "Angestellte(r)"}
  - code: werkzeuge
    type: multi
    required: true
    text: {de: "Welche KI-Werkzeuge nutzen Sie?"}
    options:
      - {code: uebersetzung, de: "Übersetzung"}
      - {code: bild, de: "Bildbearbeitung"}
      - {code: keine, de: "Keine davon", exclusive: true}
  - code: kommentar
    type: text
    text: {de: "Möchten Sie uns noch etwas mitteilen?"}
"""
ADDED = """\
  - code: agenten
    type: single
    waves: [2024]
    text: {de: "Nutzen Sie KI-Agenten?"}
    options:
      - {code: ja, de: "Ja"}
      - {code: nein, de: "Nein"}
"""
#: The study folder: a name a shell must have quoted.
FOLDER = "ki studie's"
HEADER = ["Zeitstempel", "Was ist Ihre berufliche Stellung?", "Welche KI-Werkzeuge nutzen Sie?"]
COMMENT = "Möchten Sie uns noch etwas mitteilen?"
ROLES = ["Führungskraft", "Selbstständig", "Angestellte(r)"]
TOOLS = [["Übersetzung"], ["Bildbearbeitung"], ["Übersetzung", "Bildbearbeitung"], ["Keine davon"]]


def _google_forms(path: Path, year: int, n: int, *, agents: bool) -> list[dict]:
    """A German Google Forms sheet of n responses (day-first timestamps); the rows written."""
    rows = []
    for i in range(n):
        row = {"stellung": ROLES[i % 3], "werkzeuge": TOOLS[(i * 7) % 4], "kommentar": "Größer, bitte" if i % 2 else ""}
        row |= {"agenten": ["Ja", "Nein"][i % 2]} if agents else {}
        rows.append(row)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        out = csv.writer(handle)
        out.writerow([*HEADER, COMMENT, *(["Nutzen Sie KI-Agenten?"] if agents else [])])
        for i, row in enumerate(rows):
            stamp = f"{2 + i % 20:02d}.10.{year} {8 + i % 10:02d}:05:09"
            cells = [stamp, row["stellung"], ", ".join(row["werkzeuge"]), row["kommentar"]]
            out.writerow(cells + ([row["agenten"]] if agents else []))
    return rows


@pytest.fixture()
def first_night(tmp_path, monkeypatch):
    """The study's first night, from tmp_path: (study folder, rows of 2023)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SURVEYHOUSE_SETTLE_S", "0")
    study = tmp_path / FOLDER
    study.mkdir()
    (study / "questionnaire.yaml").write_text(QUESTIONNAIRE, encoding="utf-8")
    rows = _google_forms(tmp_path / "landing" / "umfrage_2023.csv", 2023, 12, agents=False)
    settings = load_settings(inbox="landing", warehouse="w.duckdb", study=FOLDER)
    assert run_night(load_study(study), settings, report=False).problems == []
    return study, rows


def _run(capsys) -> tuple[int, str]:
    capsys.readouterr()
    status = main(["run", "--study", FOLDER, "--inbox", "landing", "--warehouse", "w.duckdb"])
    return status, capsys.readouterr().err


def _says_rebuild(err: str) -> None:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), err
    assert f"{FOLDER}/questionnaire.yaml changed since 1 file(s) were staged with it" in err, err
    assert "nothing was done" in err, err
    command = err.split("Run `", 1)[1].split("`", 1)[0]  # as pasted into a shell
    assert shlex.split(command)[:3] == ["surveyhouse", "rebuild", "--study"]
    assert Path(shlex.split(command)[3]).name == FOLDER, command
    assert "ColumnNotFound" not in err and "SchemaError" not in err, err


def test_a_question_added_for_the_next_wave_says_to_rebuild_and_the_rebuild_counts_both_waves(
    first_night, tmp_path, capsys
):
    study, rows_2023 = first_night
    published = (tmp_path / "w.duckdb").read_bytes()
    with (study / "questionnaire.yaml").open("a", encoding="utf-8") as handle:
        handle.write(ADDED)
    rows_2024 = _google_forms(tmp_path / "landing" / "2024" / "umfrage_2024.csv", 2024, 9, agents=True)
    status, err = _run(capsys)
    assert status == 2
    _says_rebuild(err)
    assert (tmp_path / "w.duckdb").read_bytes() == published, "nothing was done"
    assert main(["rebuild", "--study", FOLDER, "--warehouse", "w.duckdb"]) == 0
    settings = load_settings(inbox="landing", warehouse="w.duckdb", study=FOLDER)
    assert run_night(load_study(study), settings, report=False).problems == [], "then the night runs as usual"
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as connection:
        cells = connection.execute(
            "select wave, question, answer::varchar, base_n, n from crosstab where segment = 'all'"
        ).fetchall()
    built = {(wave, question, answer): (base, n) for wave, question, answer, base, n in cells}
    labels = {"Führungskraft": "fuehrung", "Selbstständig": "selbst", "Angestellte(r)": "angestellt"}
    labels |= {
        "Übersetzung": "uebersetzung",
        "Bildbearbeitung": "bild",
        "Keine davon": "keine",
        "Ja": "ja",
        "Nein": "nein",
    }
    expected = {}
    for wave, rows in ((2023, rows_2023), (2024, rows_2024)):
        for question in ("stellung", "werkzeuge", "agenten"):
            if question not in rows[0]:
                continue
            chosen = Counter(
                labels[a] for row in rows for a in (row[question] if question == "werkzeuge" else [row[question]])
            )
            codes = {"stellung": ["fuehrung", "selbst", "angestellt"], "werkzeuge": ["uebersetzung", "bild", "keine"]}
            for code in codes.get(question, ["ja", "nein"]):
                expected[(wave, question, code)] = (len(rows), chosen[code])
    assert built == expected


def test_a_code_renamed_after_a_night_says_to_rebuild_not_a_missing_column(first_night, capsys):
    study, _ = first_night
    text = (study / "questionnaire.yaml").read_text(encoding="utf-8")
    (study / "questionnaire.yaml").write_text(text.replace("code: stellung", "code: rolle"), encoding="utf-8")
    status, err = _run(capsys)
    assert status == 2
    _says_rebuild(err)


def test_forget_and_assign_after_a_study_edit_say_to_rebuild_and_keep_no_decision(first_night, tmp_path, capsys):
    study, _ = first_night
    text = (study / "questionnaire.yaml").read_text(encoding="utf-8")
    (study / "questionnaire.yaml").write_text(text.replace("code: stellung", "code: rolle"), encoding="utf-8")
    where = ["--study", FOLDER, "--inbox", "landing", "--warehouse", "w.duckdb"]
    for command in (["forget", "umfrage_2023.csv"], ["assign", "umfrage_2023.csv", "--wave", "2024"]):
        capsys.readouterr()
        assert main([*command, *where]) == 2, command
        _says_rebuild(capsys.readouterr().err)
    (study / "questionnaire.yaml").write_text(text, encoding="utf-8")  # put back as it was
    capsys.readouterr()
    assert main(["files", "--study", FOLDER, "--warehouse", "w.duckdb", "--format", "csv"]) == 0
    assert "umfrage_2023.csv,2023,google_forms,de,12,accepted," in capsys.readouterr().out


def test_an_option_added_after_a_night_says_to_rebuild(first_night, capsys):
    study, _ = first_night
    text = (study / "questionnaire.yaml").read_text(encoding="utf-8")
    added = '      - {code: bild, de: "Bildbearbeitung"}\n      - {code: audio, de: "Audio"}\n'
    (study / "questionnaire.yaml").write_text(
        text.replace('      - {code: bild, de: "Bildbearbeitung"}\n', added), encoding="utf-8"
    )
    status, err = _run(capsys)
    assert status == 2
    _says_rebuild(err)


def test_study_init_says_a_check_command_that_can_be_pasted_into_a_shell(tmp_path, capsys):
    export = tmp_path / "umfrage.csv"
    _google_forms(export, 2023, 4, agents=False)
    out = tmp_path / FOLDER
    assert main(["study", "init", "--from", str(export), "--out", str(out)]) == 0
    command = capsys.readouterr().out.split("then `", 1)[1].split("`", 1)[0]
    assert shlex.split(command) == ["surveyhouse", "study", "check", str(out)]
