"""`surveyhouse study init` never copies what a respondent typed that is personal data (an
email, a phone number) into the drafted questionnaire: a column where some answers hold one
is drafted as free text (masked in the warehouse), not as options labelled with them (which
the warehouse's labels, dictionary and report page would show in clear)."""

from __future__ import annotations

from cli.main import main

ROWS = [
    ("10/2/2023 13:05:09", "Manager", "ok"),
    ("10/3/2023 13:05:09", "Staff", "Call me: +33 6 12 34 56 78"),
    ("10/4/2023 13:05:09", "Manager", "ok"),
    ("10/5/2023 13:05:09", "Staff", "write to jean.dupont@example.com"),
    ("10/6/2023 13:05:09", "Staff", ""),
    ("10/7/2023 13:05:09", "Manager", "ok"),
]


def test_a_few_answers_holding_an_email_or_a_phone_number_are_drafted_as_free_text_never_as_options(tmp_path, capsys):
    export = tmp_path / "form.csv"
    lines = ["Timestamp,Your role?,Anything else?", *(",".join(row) for row in ROWS)]
    export.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert main(["study", "init", "--from", str(export), "--out", str(tmp_path / "study")]) == 0
    text = (tmp_path / "study" / "questionnaire.yaml").read_text(encoding="utf-8")
    for personal in ("33 6 12", "jean", "dupont", "example"):
        assert personal not in text, text
    assert "code: anything_else\n  type: text" in text
    assert "code: your_role\n  type: single" in text  # a column of choices stays one
