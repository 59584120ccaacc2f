"""A question or derived segment coded like a column the warehouse keeps for itself (`wave`,
`language`, `weight`, a screening flag...) or like the whole-sample segment `all` is a
mistake of the questionnaire, said by `study check` and by `run` on one line with the file,
the line and the fix, before anything runs: never a parser's DuplicateError mid-run."""

from __future__ import annotations

import pytest

from cli.main import main
from schemas.codebook import codebook
from schemas.names import OWN_RESPONSE_COLUMNS
from schemas.questionnaire_checks import questionnaire_problems
from schemas.tables import responses_schema

QUESTIONNAIRE = """\
study: prueba
wave: 2024
languages: [es]
questions:
  - code: {code}
    type: single
    segment: true
    text: {{es: "¿Cuál es su rol?"}}
    options:
      - {{code: jefe, es: "Jefe"}}
      - {{code: empleado, es: "Empleado"}}
derived_segments:
  {derived}:
    from: {code}
    groups: {{todos: [jefe, empleado]}}
"""


@pytest.mark.parametrize("code", ["wave", "language", "is_excluded", "weight", "source_file", "email_hash", "all"])
def test_a_question_coded_like_a_column_of_the_warehouse_is_a_mistake_with_its_line(code):
    problems = questionnaire_problems(QUESTIONNAIRE.format(code=code, derived="grupo"), name="questionnaire.yaml")
    assert problems == [
        f"questionnaire.yaml, line 5: question code {code} is a name the warehouse keeps for itself; "
        f"give the question another code (e.g. {code}_q)"
    ]


def test_a_derived_segment_coded_like_a_column_of_the_warehouse_is_a_mistake_with_its_line():
    problems = questionnaire_problems(QUESTIONNAIRE.format(code="rol", derived="source_tool"), name="q.yaml")
    assert problems == [
        "q.yaml, line 13: derived segment code source_tool is a name the warehouse keeps for itself; "
        "give the derived segment another code (e.g. source_tool_q)"
    ]


def test_the_run_stops_on_such_a_code_with_one_line_before_anything_starts(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "questionnaire.yaml").write_text(QUESTIONNAIRE.format(code="wave", derived="grupo"))
    (tmp_path / "landing").mkdir()
    assert main(["study", "check", "s"]) == 2
    assert main(["run", "--study", "s", "--inbox", "landing", "--warehouse", "w.duckdb"]) == 2
    err = capsys.readouterr().err
    assert "line 5: question code wave is a name the warehouse keeps for itself" in err
    assert "DuplicateError" not in err and not (tmp_path / "w.duckdb").exists()


def test_the_names_the_warehouse_keeps_are_the_responses_columns_no_question_gives():
    book = codebook()
    given = {q.code for q in book.questions} | {d.code for d in book.derived_segments}
    given |= {f"{q.code}_other" for q in book.closed if q.other_option is not None}
    assert set(responses_schema(book).columns) - given == set(OWN_RESPONSE_COLUMNS)


YES_NO = """\
study: prueba
wave: 2024
languages: [es]
questions:
  - code: usa_ia
    type: single
    text: {es: "¿Usa IA?"}
    options:
      - {code: yes, es: "Sí"}
      - {code: "no", es: No}
  - code: off
    type: text
    text: {es: "¿Algo más?"}
"""


def test_an_option_code_or_label_written_yes_or_no_is_a_mistake_not_true_or_false_in_the_warehouse():
    assert questionnaire_problems(YES_NO, name="q.yaml") == [
        "q.yaml, line 9: question usa_ia: an option's code is read as true, not as the word written: YAML reads a "
        "bare yes, no, on, off, true or false as true or false; write the code in quotes (e.g. `code: 'no'`)",
        "q.yaml, line 10: question usa_ia, option no's `es` label is read as false, not as the word written: YAML "
        "reads a bare yes, no, on, off, true or false as true or false; write the label in quotes (e.g. `es: 'No'`)",
        "q.yaml, line 11: a question's code is read as false, not as the word written: YAML reads a bare yes, no, "
        "on, off, true or false as true or false; write the code in quotes (e.g. `code: 'no'`)",
    ]


BAR = """\
study: survey
wave: 2024
languages: [en]
questions:
  - code: tools
    type: single
    text: {en: "Which tools?"}
    options:
      - {code: "chat|image", en: "Chat and image"}
      - {code: other, en: "Other"}
"""


def test_an_option_code_holding_a_bar_is_a_mistake_not_a_net_of_two_codes_in_the_figures():
    assert questionnaire_problems(BAR, name="q.yaml") == [
        "q.yaml, line 9: question tools: option code chat|image holds a `|`, which joins option codes in "
        "published_figures.csv and in segment groups; write the code without it (e.g. `code: chat_or_image`)"
    ]


TWO_LABELS = """\
study: umfrage
wave: 2024
languages: [es, de]
questions:
  - code: rol
    type: single
    text: {es: "¿Cuál es su rol?", de: "Ihre Rolle?"}
    options:
      - {code: jefe, es: "Jefe", de: "Leitung"}
      - {code: empleado, es: "Empleado", de: "leitung "}
"""


def test_two_options_with_one_label_in_a_language_are_a_mistake_not_answers_quarantined():
    assert questionnaire_problems(TWO_LABELS, name="q.yaml") == [
        "q.yaml, line 10: question rol: options jefe and empleado have the same `de` label 'leitung ', so an "
        "export's answer cannot tell them apart; give each option its own `de` label"
    ]


GERMAN = """\
study: umfrage
wave: 2024
languages: [de]
questions:
  - code: stellung
    type: single
    text: {de: "Ihre berufliche Stellung?"}
    options:
      - {code: fuehrung, de: "Führungskraft"}
      - {code: selbst, de: "Selbstständig"}
"""


def test_a_questionnaire_saved_in_windows_1252_is_one_line_naming_its_line_and_the_fix(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "questionnaire.yaml").write_bytes(GERMAN.encode("cp1252"))
    (tmp_path / "landing").mkdir()
    expected = (
        "s/questionnaire.yaml, line 9: the file is not UTF-8 text (byte 0xfc: saved in another encoding, e.g. "
        "Windows-1252); save it as UTF-8 (in Notepad: Save as, Encoding UTF-8)"
    )
    assert main(["study", "check", "s"]) == 2
    assert capsys.readouterr().out.splitlines()[0] == expected
    assert main(["run", "--study", "s", "--inbox", "landing", "--warehouse", "w.duckdb"]) == 2
    err = capsys.readouterr().err
    assert expected in err and "UnicodeDecodeError" not in err


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16"])
def test_a_questionnaire_saved_with_a_byte_order_mark_is_read(tmp_path, capsys, encoding):
    (tmp_path / "questionnaire.yaml").write_bytes(GERMAN.encode(encoding))
    assert main(["study", "check", str(tmp_path)]) == 0
    assert "no problems" in capsys.readouterr().out


def test_published_figures_saved_by_a_european_excel_with_semicolons_are_read(tmp_path, capsys):
    from pathlib import Path

    city = Path(__file__).resolve().parents[1] / "cases" / "studies" / "city_transit"
    for name in ("questionnaire.yaml", "weights.yaml"):
        (tmp_path / name).write_bytes((city / name).read_bytes())
    figures = (city / "published_figures.csv").read_text(encoding="utf-8")
    (tmp_path / "published_figures.csv").write_bytes(b"\xef\xbb\xbf" + figures.replace(",", ";").encode("utf-8"))
    assert main(["study", "check", str(tmp_path)]) == 0, capsys.readouterr().out
    assert "3 published figure(s)" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("code", "fix"), [('rol"x', "rol_x"), ("mi pregunta", "mi_pregunta"), ("1rol", "q_1rol"), ("rol-x", "rol_x")]
)
def test_a_question_code_that_is_no_column_name_is_a_mistake_not_a_sql_parser_error(code, fix):
    problems = questionnaire_problems(QUESTIONNAIRE.format(code=f"'{code}'", derived="grupo"), name="q.yaml")
    assert problems[0].startswith(f"q.yaml, line 5: question code {code!r} is not a column name"), problems
    assert problems[0].endswith(f"write it with letters, digits and _, a letter first (e.g. {fix})")


@pytest.mark.parametrize("code", ["año", "größe", "rôle_2", "ROL"])
def test_a_question_code_in_letters_of_any_language_is_a_column_name(code):
    assert questionnaire_problems(QUESTIONNAIRE.format(code=code, derived="grupo"), name="q.yaml") == []
