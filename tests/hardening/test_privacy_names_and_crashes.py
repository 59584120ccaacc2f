"""Personal data in a file's name, or in the text of an unexpected error, is masked in the
warehouse, the report page, every message and every log: only the raw archive keeps it."""

from __future__ import annotations

import io
import logging
import re
from datetime import timedelta

import polars as pl
from click.testing import CliRunner

from cli.main import surveyhouse
from demo.exports.qualtrics import write_qualtrics
from flows.failure import failure_report
from schemas.codebook import codebook
from schemas.study import load_study
from surveyhouse.logs import MaskPersonalData, error_line
from surveyhouse.night import run_night, state_for
from surveyhouse.runlog import RunSummary, failed_run_record
from surveyhouse.settings import load_settings
from surveyhouse.staging import process_export
from tests.hardening.test_privacy_quarantine import EMAIL, PHONE, clear_values_in, every_relation, respondents
from transforms.display import display_name
from transforms.privacy import masked_file_name

NAMED = f"from {EMAIL} call {PHONE}.csv"


def test_a_file_named_with_an_email_and_a_phone_number_is_loaded_and_shown_masked_everywhere(tmp_path):
    inbox = tmp_path / "landing"
    inbox.mkdir()
    write_qualtrics(respondents(), inbox / NAMED, language="en", seed=1)
    (inbox / f"{EMAIL}.csv").write_text("not,a,survey\n1,2,3\n", encoding="utf-8")  # fails: a message names it
    settings = load_settings(inbox=str(inbox), warehouse=str(tmp_path / "w.duckdb"))

    run = run_night(load_study(), settings)

    assert run.published and run.files_new == 2 and run.files_failed == 1
    leaks = {name: clear_values_in(text) for name, text in every_relation(settings.warehouse).items()}
    assert not {name: found for name, found in leaks.items() if found}
    files = every_relation(settings.warehouse)["files"]
    assert "from [email] call [phone].csv" in files and "[email].csv" in files
    assert clear_values_in(" ".join(run.problems + run.notes)) == [] and run.problems
    assert clear_values_in(run.report.read_text(encoding="utf-8")) == []
    state = state_for(settings)
    assert clear_values_in(state.runs.path.read_text(encoding="utf-8")) == []
    for staged in state.staged_dir.glob("*/*"):
        assert clear_values_in(staged.read_bytes().decode("utf-8", errors="replace")) == [], staged.name
    listing = CliRunner().invoke(surveyhouse, ["files", "--warehouse", str(settings.warehouse), "--format", "csv"])
    assert listing.exit_code == 0 and "from [email] call [phone].csv" in listing.output
    assert clear_values_in(listing.output) == []


def test_a_masked_file_name_keeps_its_extension_and_a_plain_one_is_unchanged():
    assert masked_file_name(f"{EMAIL}.csv") == "[email].csv"
    assert masked_file_name("jane@example.com") == "[email].com"  # an extension lost to the mask comes back
    assert masked_file_name("AI in Social Media 2023 (Responses).xlsx") == "AI in Social Media 2023 (Responses).xlsx"
    assert display_name(f"2024/{EMAIL}\n.csv") == "2024/[email]\\n.csv"


def test_an_error_quoting_personal_data_is_masked_in_the_run_log_the_webhook_and_the_error_line():
    error = ValueError(f"could not convert {EMAIL!r} (row of {PHONE}) to a date")

    record = failed_run_record(RunSummary.starting(), error, settings="{}")
    report = failure_report(
        load_settings(inbox="/nonexistent/in", warehouse="/nonexistent/w.duckdb"),
        flow_name="surveyhouse-nightly", flow_run_id=None, flow_run_name=None, state_name="Failed",
        message=f"Flow run encountered an exception: {error}", started_at=None,
    )  # fmt: skip

    assert error_line(error) == "ValueError: could not convert '[email]' (row of [phone]) to a date"
    assert record["message"].startswith(error_line(error)) and clear_values_in(record["message"]) == []
    assert clear_values_in(report["message"] + report["summary"]) == [] and "[email]" in report["summary"]


def test_log_lines_and_their_tracebacks_are_written_with_personal_data_masked():
    written = io.StringIO()
    handler = logging.StreamHandler(written)
    handler.addFilter(MaskPersonalData())
    logger = logging.getLogger("tests.masked")
    logger.addHandler(handler)
    try:
        try:
            raise RuntimeError(f"cell {EMAIL}")
        except RuntimeError:
            logger.exception("staging failed for %s", NAMED)
    finally:
        logger.removeHandler(handler)
    text = written.getvalue()
    assert "staging failed for from [email] call [phone].csv" in text
    assert "RuntimeError: cell [email]" in text and clear_values_in(text) == []


def test_a_row_started_after_its_submission_is_quarantined_on_started_at_with_its_two_times_only(tmp_path):
    """The whole-row check's failure case is the two times it compares, not the row (whose
    email and IP address a 200-character excerpt could cut after)."""
    late = respondents().with_columns(
        started_at=pl.when(pl.col("respondent") == 5)
        .then(pl.col("submitted_at") + timedelta(minutes=30))
        .otherwise(pl.col("started_at"))
    )
    write_qualtrics(late, tmp_path / "export.csv", language="en", seed=1)
    _, _, quarantine = process_export(
        tmp_path / "export.csv", run_id="test", file_order=1, wave=2023, book=codebook(), key=b"test"
    )
    failed = quarantine.filter(pl.col("check") == "started_before_submitted")
    assert failed.height == 1
    column, case, message = failed.select("column", "failure_case", "message").row(0)
    assert column == "started_at" and message == "started_at is after submitted_at"
    assert re.fullmatch(r"started_at 20\d\d-\S+ \S+, submitted_at 20\d\d-\S+ \S+", case), case
    assert "203.0.113." not in str(quarantine.rows()) and "@" not in str(quarantine.rows())
