"""One file's verdict: loaded, failed or rejected, and what its record and quarantine say."""

from __future__ import annotations

import csv
from datetime import timedelta
from pathlib import Path

import polars as pl
import pytest

from demo.exports.qualtrics import write_qualtrics
from demo.exports.surveymonkey import write_surveymonkey
from schemas.codebook import codebook
from surveyhouse.staging import process_export, stage_export
from tests.flows.respondents import small_respondents

CASES = Path(__file__).resolve().parents[1] / "cases" / "exports"
CLEAN = [1, 2, 3, 8, 9, 10, 11]  # the respondents of the dozen that pass every check


def clean_respondents(n: int = 10) -> pl.DataFrame:
    base = small_respondents().filter(pl.col("respondent").is_in(CLEAN))
    extra = base.head(n - base.height).with_columns(
        pl.col("started_at", "submitted_at") + timedelta(days=30), pl.col("respondent") + 100, email=None
    )
    return pl.concat([base, extra])


def spoiled(frame: pl.DataFrame, rows: int) -> pl.DataFrame:
    """The first ``rows`` respondents answer the role with a text that is no option."""
    return frame.with_columns(
        role=pl.when(pl.int_range(pl.len()) < rows).then(pl.lit("!Boss")).otherwise(pl.col("role"))
    )


def process(path: Path, **options):
    return process_export(path, run_id="t", file_order=1, wave=2023, book=codebook(), key=b"k", **options)


def edit_csv(path: Path, edit) -> None:
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, lineterminator="\r\n").writerows(edit(rows))


@pytest.mark.parametrize(("failing", "status", "accepted"), [(0, "loaded", 10), (2, "loaded", 8), (3, "rejected", 0)])
def test_a_file_with_more_than_a_fifth_of_its_rows_failing_is_rejected_whole(tmp_path, failing, status, accepted):
    path = tmp_path / "export.csv"
    write_qualtrics(spoiled(clean_respondents(), failing), path, seed=2)
    record, responses, quarantine = process(path)
    assert (record["status"], record["rows_read"], responses.height) == (status, 10, accepted)
    assert record["quarantined"] == 10 - accepted  # rows_read = accepted + quarantined
    assert quarantine.filter(pl.col("source_row").is_not_null())["source_row"].n_unique() == failing
    if status == "rejected":
        assert record["message"] == (
            "export.csv was rejected: 3 of its 10 rows (30%) failed the checks, more than the 20% a file may have "
            "(valid_option 3 rows (role)). None of its responses were loaded; each failed row is in the quarantine "
            "table with its reason. Look at them (surveyhouse quality), correct the survey or its export, and drop the "
            "corrected file in the landing folder; if so many failures are expected, raise SURVEYHOUSE_MAX_QUARANTINED_SHARE."
        )
    else:
        assert record["message"] is None and quarantine.filter(pl.col("source_row").is_null()).is_empty()


def test_the_allowed_share_is_a_setting(tmp_path):
    path = tmp_path / "export.csv"
    write_qualtrics(spoiled(clean_respondents(), 3), path, seed=2)
    assert process(path, max_quarantined_share=0.3)[0]["status"] == "loaded"
    assert process(path, max_quarantined_share=0.0)[0]["status"] == "rejected"


def test_columns_of_no_question_are_reported_and_the_file_still_loads(tmp_path):
    path = tmp_path / "export.csv"
    write_qualtrics(clean_respondents(), path, seed=2)
    edit_csv(
        path,
        lambda rows: [
            row + [cell] for row, cell in zip(rows, ["panel", "Panel source", '{"ImportId":"panel"}', *["x"] * 10])
        ],
    )
    record, responses, _ = process(path)
    assert (record["status"], record["columns_ignored"], responses.height) == ("loaded", "Panel source", 10)


def test_html_around_surveymonkey_question_texts_changes_nothing(tmp_path):
    plain, wrapped = tmp_path / "plain.csv", tmp_path / "wrapped.csv"
    write_surveymonkey(clean_respondents(), plain, seed=1)
    write_surveymonkey(clean_respondents(), wrapped, seed=1)
    edit_csv(
        wrapped,
        lambda rows: [
            [f"<strong>{cell}</strong><br>" if cell and i > 8 else cell for i, cell in enumerate(rows[0])],
            *rows[1:],
        ],
    )
    (_, responses_plain, _), (record, responses, _) = process(plain), process(wrapped)
    assert record["status"] == "loaded" and record["columns_ignored"] is None
    assert responses.drop("source_file").equals(responses_plain.drop("source_file"))


def test_stage_export_reads_local_times_in_the_zone_set_for_the_tool(tmp_path):
    staged = stage_export(
        CASES / "surveymonkey_fr.csv", staged_dir=tmp_path / "staged", archive_dir=tmp_path / "archive",
        run_id="t", file_order=1, wave=2023, book=codebook(), key=b"k",
        time_zones={"surveymonkey": "Europe/Paris"}, max_quarantined_share=0.5,
    )  # fmt: skip
    assert staged.record["status"] == "loaded"
    responses = pl.read_parquet(staged.responses).sort("source_row")
    truth = small_respondents(language="fr").filter(pl.col("respondent").is_in(CLEAN))
    assert responses["submitted_at"].to_list() == truth["submitted_at"].to_list()
