"""A study of its own in German (accents, a multi-select with an exclusive "none", a free
text), two waves whose questionnaire changed (a question reworded, an option relabelled, an
option and a question added), exports written here in three tools as a German account
writes them (a Google Forms sheet, a SurveyMonkey export, LimeSurvey's default export): one
night through the command line, and every crosstab cell of the whole sample equals the count
made here, in plain Python, from the rows written."""

from __future__ import annotations

import csv
import os
import random
import subprocess
import sys
from collections import Counter
from pathlib import Path

import duckdb

from cli.main import main

QUESTIONNAIRE = """\
study: ki_am_arbeitsplatz
wave: 2024
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
    wording: {2023: {de: "Ihre Stellung im Beruf?"}}
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
      - {code: chatbot, de: "Chatbot", waves: [2024]}
      - {code: texte, de: "Textentwürfe", wording: {2023: {de: "Texte schreiben"}}}
      - {code: keine, de: "Keine davon", exclusive: true}
  - code: agenten
    type: single
    required: true
    waves: [2024]
    text: {de: "Nutzen Sie KI-Agenten?"}
    options:
      - {code: ja, de: "Ja, regelmäßig"}
      - {code: nein, de: "Nein, nie"}
  - code: kommentar
    type: text
    text: {de: "Möchten Sie uns noch etwas mitteilen?"}
"""
ROLES = {"fuehrung": "Führungskraft", "selbst": "Selbstständig", "angestellt": "Angestellte(r)"}
TOOLS_2023 = {"uebersetzung": "Übersetzung", "bild": "Bildbearbeitung", "texte": "Texte schreiben"}
TOOLS_2024 = {"uebersetzung": "Übersetzung", "bild": "Bildbearbeitung", "chatbot": "Chatbot", "texte": "Textentwürfe"}
NONE = "Keine davon"
AGENTS = {"ja": "Ja, regelmäßig", "nein": "Nein, nie"}


def _people(n: int, tools: dict[str, str], *, seed: int, agents: bool) -> list[dict]:
    rng = random.Random(seed)
    people = []
    for _ in range(n):
        chosen = [code for code in tools if rng.random() < 0.45]
        person = {"stellung": rng.choice(list(ROLES)), "werkzeuge": chosen or ["keine"]}
        person["kommentar"] = rng.choice(["", "Sehr nützlich, danke.", "Größere Schrift bitte!"])
        if agents:
            person["agenten"] = rng.choice(list(AGENTS))
        people.append(person)
    return people


def _write(path: Path, rows: list[list[str]], **dialect) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding=dialect.pop("encoding", "utf-8"), newline="") as handle:
        csv.writer(handle, **dialect).writerows(rows)


def _google_forms_2023(path: Path, people: list[dict]) -> None:
    header = ["Zeitstempel", "E-Mail-Adresse", "Ihre Stellung im Beruf?", "Welche KI-Werkzeuge nutzen Sie?",
              "Möchten Sie uns noch etwas mitteilen?"]  # fmt: skip
    rows = [
        [f"{3 + i % 25:02d}.10.2023 {8 + i % 9}:15:00", f"person{i}@example.de", ROLES[p["stellung"]],
         ", ".join(TOOLS_2023.get(code, NONE) for code in p["werkzeuge"]), p["kommentar"]]
        for i, p in enumerate(people)
    ]  # fmt: skip
    _write(path, [header, *rows])


def _surveymonkey_2024(path: Path, people: list[dict]) -> None:
    tools = [*TOOLS_2024.values(), NONE]
    header = ["Respondent ID", "Collector ID", "Start Date", "End Date", "IP Address",
              "Was ist Ihre berufliche Stellung?", "Welche KI-Werkzeuge nutzen Sie?", *[""] * (len(tools) - 1),
              "Nutzen Sie KI-Agenten?", "Möchten Sie uns noch etwas mitteilen?"]  # fmt: skip
    second = [""] * 5 + ["Antwort", *tools, "Antwort", "Offene Antwort"]
    rows = []
    for i, p in enumerate(people):
        chosen = {TOOLS_2024.get(code, NONE) for code in p["werkzeuge"]}
        day = f"10/{2 + i % 25:02d}/2024"
        rows.append([str(9000 + i), "77", f"{day} 01:02:03 PM", f"{day} 01:12:03 PM", f"10.1.{i}.9",
                     ROLES[p["stellung"]], *[t if t in chosen else "" for t in tools], AGENTS[p["agenten"]],
                     p["kommentar"]])  # fmt: skip
    _write(path, [header, second, *rows])


def _limesurvey_2024(path: Path, people: list[dict]) -> None:
    tools = [*TOOLS_2024.values(), NONE]
    header = ["Antwort ID", "Datum Abgeschickt", "Letzte Seite", "Start-Sprache", "Zufallsgeneratorstartwert",
              "Was ist Ihre berufliche Stellung?", *(f"Welche KI-Werkzeuge nutzen Sie? [{t}]" for t in tools),
              "Nutzen Sie KI-Agenten?", "Möchten Sie uns noch etwas mitteilen?"]  # fmt: skip
    rows = []
    for i, p in enumerate(people):
        chosen = {TOOLS_2024.get(code, NONE) for code in p["werkzeuge"]}
        rows.append([str(i + 1), f"2024-11-{1 + i % 28:02d} 10:00:00", "3", "de", str(555 + i),
                     ROLES[p["stellung"]], *["Ja" if t in chosen else "Nein" for t in tools],
                     AGENTS[p["agenten"]], p["kommentar"]])  # fmt: skip
    _write(path, [header, *rows], delimiter=";", quoting=csv.QUOTE_ALL, encoding="utf-8-sig")


def _expected(waves: dict[int, list[dict]]) -> dict[tuple, tuple[int, int]]:
    """(wave, question, answer) -> (base, count) of the whole sample, counted person by person."""
    asked = {2023: {"stellung": list(ROLES), "werkzeuge": [*TOOLS_2023, "keine"]},
             2024: {"stellung": list(ROLES), "werkzeuge": [*TOOLS_2024, "keine"], "agenten": list(AGENTS)}}  # fmt: skip
    cells = {}
    for wave, people in waves.items():
        for question, answers in asked[wave].items():
            counts = Counter(
                code for p in people for code in (p[question] if question == "werkzeuge" else [p[question]])
            )
            cells |= {(wave, question, answer): (len(people), counts[answer]) for answer in answers}
    return cells


def _surveyhouse(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """The command as a user runs it, in its own process: a Prefect flow run in the test's
    process would report to the Prefect server an earlier in-process run of the same worker started."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "SURVEYHOUSE_"))}
    argv = [sys.executable, "-m", "cli.main", *args]
    return subprocess.run(
        argv, cwd=cwd, env=env | {"SURVEYHOUSE_SETTLE_S": "0"}, capture_output=True, text=True, timeout=600
    )


def test_a_german_study_of_two_changed_waves_in_three_tools_counts_what_was_written(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SURVEYHOUSE_SETTLE_S", "0")
    (tmp_path / "ki-studie").mkdir()
    (tmp_path / "ki-studie" / "questionnaire.yaml").write_text(QUESTIONNAIRE, encoding="utf-8")
    waves = {2023: _people(30, TOOLS_2023, seed=1, agents=False)}
    sm, ls = _people(25, TOOLS_2024, seed=2, agents=True), _people(20, TOOLS_2024, seed=3, agents=True)
    waves[2024] = sm + ls
    _google_forms_2023(tmp_path / "landing" / "2023" / "umfrage_2023.csv", waves[2023])
    _surveymonkey_2024(tmp_path / "landing" / "2024" / "umfrage_sm.csv", sm)
    _limesurvey_2024(tmp_path / "landing" / "2024" / "results-survey123.csv", ls)
    assert main(["study", "check", "ki-studie"]) == 0
    night = _surveyhouse("run", "--study", "ki-studie", "--inbox", "landing", "--warehouse", "w.duckdb", cwd=tmp_path)
    assert night.returncode == 0, night.stderr[-3000:]
    with duckdb.connect("w.duckdb", read_only=True) as connection:
        files = connection.execute("select source_tool, rows_read, accepted, quarantined from files").fetchall()
        cells = connection.execute(
            "select wave, question::varchar, answer::varchar, base_n, n from crosstab where segment = 'all'"
        ).fetchall()
        emails = connection.execute("select count(email_hash) from responses where wave = 2023").fetchone()[0]
    assert sorted(files) == [("google_forms", 30, 30, 0), ("limesurvey", 20, 20, 0), ("surveymonkey", 25, 25, 0)]
    assert {(w, q, a): (base, n) for w, q, a, base, n in cells} == _expected(waves)
    assert emails == 30, "the German sheet's E-Mail-Adresse is the respondents' email, hashed"


def test_study_check_names_every_declared_wave(tmp_path, capsys):
    (tmp_path / "questionnaire.yaml").write_text(QUESTIONNAIRE, encoding="utf-8")
    assert main(["study", "check", str(tmp_path)]) == 0
    assert ", wave(s) 2023, 2024, 0 published figure(s)" in capsys.readouterr().out
