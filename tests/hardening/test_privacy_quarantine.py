"""Item 10 of the hardening: an email or a phone number typed where an answer code belongs
(or in a file's header) is masked in quarantine, in every message and in the run log, as
free text is; never kept in clear anywhere in the warehouse, its views or its exports."""

from __future__ import annotations

from datetime import timedelta

import duckdb
import polars as pl

from cli.main import main
from demo.exports.qualtrics import write_qualtrics
from schemas.codebook import codebook
from schemas.study import load_study
from surveyhouse.night import run_night, state_for
from surveyhouse.settings import load_settings
from surveyhouse.staging import process_export
from tests.flows.respondents import FULL, START

EMAIL = "josé.garcía@example.test"
PHONE = "+33 6 12 34 56 78"
#: What must appear nowhere but in the archived raw files (parts too: a mask that cut the
#: value in two would leave them).
CLEAR = [EMAIL, PHONE, "josé.garcía", "garcía@", "6 12 34 56", "12 34 56 78"]
#: Rows (0-based) of the export that answer a single-choice question with personal data.
SPOILED = {3: {"role": "!" + EMAIL}, 11: {"industry": "!" + PHONE}, 19: {"ai_uses": ["visuals", "!" + EMAIL]}}


def respondents(n: int = 30) -> pl.DataFrame:
    """``n`` clean respondents (a Qualtrics export), three of them spoiled as ``SPOILED`` says."""
    rows = []
    for i in range(n):
        submitted = START + timedelta(hours=7 * i)
        rows.append({
            "respondent": i + 1, "started_at": submitted - timedelta(seconds=420 + 13 * i), "submitted_at": submitted,
            "email": f"person{i}@example.com", "ip_address": f"203.0.113.{i + 1}", "language": "en", **FULL,
            "industry_other": None, "ai_uses_other": None, "comment": None, **SPOILED.get(i, {}),
        })  # fmt: skip
    schema = {
        "respondent": pl.Int64, "started_at": pl.Datetime("us", "UTC"), "submitted_at": pl.Datetime("us", "UTC"),
        "email": pl.Utf8, "ip_address": pl.Utf8, "language": pl.Utf8,
        **{code: pl.List(pl.Utf8) if isinstance(value, list) else pl.Utf8 for code, value in FULL.items()},
        "industry_other": pl.Utf8, "ai_uses_other": pl.Utf8, "comment": pl.Utf8,
    }  # fmt: skip
    return pl.DataFrame(rows, schema=schema)


def landing_folder(tmp_path):
    """The spoiled export, a file of another questionnaire and a file of no known layout,
    both with personal data in their headers."""
    inbox = tmp_path / "landing"
    inbox.mkdir()
    write_qualtrics(respondents(), inbox / "export.csv", language="en", seed=1)
    (inbox / "other_questionnaire.csv").write_text(
        f"Timestamp,Your role? Call {PHONE},Write to {EMAIL}\n1/18/2024 14:18:57,Manager,Yes\n", encoding="utf-8"
    )
    (inbox / "unknown_layout.csv").write_text(f"{EMAIL},{PHONE},score\n1,2,3\n", encoding="utf-8")
    return inbox


def clear_values_in(text: str) -> list[str]:
    return [value for value in CLEAR if value.casefold() in text.casefold()]


def every_relation(warehouse) -> dict[str, str]:
    """Every table and view of the warehouse, ``select *`` as text."""
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        names = connection.execute("select table_schema, table_name from information_schema.tables").fetchall()
        # Those of the main schema by name, the build's own (schema _build) as schema.name.
        return {
            name if schema == "main" else f"{schema}.{name}": str(
                connection.execute(f'select * from "{schema}"."{name}"').fetchall()
            )
            for schema, name in names
        }


def test_personal_data_typed_as_an_answer_is_masked_in_the_whole_warehouse_and_the_run_log(tmp_path, capsys):
    settings = load_settings(inbox=str(landing_folder(tmp_path)), warehouse=str(tmp_path / "w.duckdb"))
    run = run_night(load_study(), settings)
    assert run.published and run.files_new == 3 and run.files_failed == 2

    relations = every_relation(settings.warehouse)
    assert {"quarantine", "files", "runs", "quality_examples"} <= set(relations)
    leaks = {name: clear_values_in(text) for name, text in relations.items() if clear_values_in(text)}
    assert not leaks, leaks
    assert clear_values_in(settings.warehouse.read_bytes().decode("utf-8", errors="replace")) == []
    assert clear_values_in(state_for(settings).runs.path.read_text(encoding="utf-8")) == []
    for staged in state_for(settings).staged_dir.glob("*/*"):
        assert clear_values_in(staged.read_bytes().decode("utf-8", errors="replace")) == [], staged.name

    assert main(["quality", "--warehouse", str(settings.warehouse)]) == 0
    assert main(["export", "--warehouse", str(settings.warehouse), str(tmp_path / "out"), "--format", "csv"]) == 0
    assert clear_values_in(capsys.readouterr().out) == []
    for exported in (tmp_path / "out").iterdir():
        assert clear_values_in(exported.read_text(encoding="utf-8")) == [], exported.name

    with duckdb.connect(str(settings.warehouse), read_only=True) as connection:
        quarantine = connection.execute(
            """select column_name, failure_case, message from quarantine where source_row is not null order by 1"""
        ).fetchall()
        messages = dict(connection.execute("select source_file, message from files").fetchall())
    assert quarantine == [
        ("ai_uses", '["visuals","[email]"]', """'["visuals","[email]"]' is not an option of ai_uses"""),
        ("industry", "[phone]", "'[phone]' is not an option of industry"),
        ("role", "[email]", "'[email]' is not an option of role"),
    ]
    assert "first header cells: '[email]', '[phone]', 'score'." in messages["unknown_layout.csv"]
    assert "closest wordings: 'Your role? Call [phone]' ~ " in messages["other_questionnaire.csv"]
    assert "'Write to [email]' ~ " in messages["other_questionnaire.csv"]


def test_a_huge_answer_is_quarantined_masked_and_cut_to_an_excerpt(tmp_path):
    typed = f"{EMAIL} " + "lorem ipsum " * 10_000
    spoiled = respondents().with_columns(
        role=pl.when(pl.col("respondent") == 2).then(pl.lit("!" + typed)).otherwise(pl.col("role"))
    )
    write_qualtrics(spoiled, tmp_path / "export.csv", language="en", seed=1)
    _, _, quarantine = process_export(
        tmp_path / "export.csv", run_id="test", file_order=1, wave=2023, book=codebook(), key=b"test"
    )
    failure_case, message = quarantine.filter(pl.col("column") == "role").select("failure_case", "message").row(0)
    assert failure_case.startswith("[email] lorem ipsum") and failure_case.endswith("more characters)")
    assert len(failure_case) < 250 and len(message) < 300
    assert clear_values_in(failure_case + message) == []
