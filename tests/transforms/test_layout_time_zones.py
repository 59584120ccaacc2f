"""A file's own zone wins; where the tool writes none, the per-source setting (default UTC)."""

from datetime import UTC, datetime

import polars as pl
import pytest

from transforms.layouts import google_forms, qualtrics, spss, surveymonkey, typeform

PARIS = "Europe/Paris"
UTC_1305 = datetime(2023, 10, 2, 13, 5, 9, tzinfo=UTC)
UTC_1505 = datetime(2023, 10, 2, 15, 5, 9, tzinfo=UTC)


def raw(rows: list[list[str | None]]) -> tuple[pl.LazyFrame, list[list[str | None]]]:
    width = max(len(row) for row in rows)
    frame = pl.DataFrame(
        [row + [None] * (width - len(row)) for row in rows], schema=[f"c{i}" for i in range(width)], orient="row"
    )
    frame = frame.with_row_index("source_row", offset=1).with_columns(pl.col("source_row").cast(pl.Int64))
    return frame.lazy(), [list(row) for row in frame.drop("source_row").head(3).iter_rows()]


def submitted(parse, rows, **options) -> datetime:
    frame, header = raw(rows)
    return parse(frame, header, **options).meta.collect()["submitted_at"][0]


MONKEY = [
    ["Respondent ID", "Start Date", "End Date", "What is your current role level?"],
    [None, None, None, "Response"],
    ["1", "10/02/2023 03:00:00 PM", "10/02/2023 03:05:09 PM", "Manager"],
]
FORMS = [["Timestamp", "What is your current role level?"], ["10/2/2023 15:05:09", "Manager"]]
TYPEFORM = [["#", "What is your current role level?", "Submit Date (UTC)"], ["ab12", "Manager", "2023-10-02 13:05:09"]]
SPSS = [
    ["ResponseId", "EndDate", "Q1"],
    [None, None, "What is your current role level?"],
    ["R_1", "2023-10-02 15:05:09", "Manager"],
]


def qualtrics_rows(import_id: str) -> list[list[str | None]]:
    return [
        ["ResponseId", "EndDate", "Q1"],
        ["Response ID", "End Date", "What is your current role level?"],
        ['{"ImportId":"_recordId"}', import_id, '{"ImportId":"QID1"}'],
        ["R_1", "2023-10-02 15:05:09", "Manager"],
    ]


@pytest.mark.parametrize(
    ("parse", "rows"),
    [(surveymonkey.parse, MONKEY), (google_forms.parse, FORMS), (spss.parse, SPSS),
     (qualtrics.LAYOUTS[0].parse, qualtrics_rows('{"ImportId":"endDate"}'))],
    ids=["surveymonkey", "google_forms", "spss", "qualtrics_without_time_zone"],
)  # fmt: skip
def test_local_times_the_file_does_not_zone_are_read_in_the_sources_setting(parse, rows):
    assert submitted(parse, rows) == UTC_1505  # default: UTC
    assert submitted(parse, rows, time_zone=PARIS) == UTC_1305


def test_a_zone_the_file_names_wins_over_the_setting():
    rows = qualtrics_rows('{"ImportId":"endDate","timeZone":"America/New_York"}')
    assert submitted(qualtrics.LAYOUTS[0].parse, rows, time_zone=PARIS) == datetime(2023, 10, 2, 19, 5, 9, tzinfo=UTC)
    utc = qualtrics_rows('{"ImportId":"endDate","timeZone":"Z"}')
    assert submitted(qualtrics.LAYOUTS[0].parse, utc, time_zone=PARIS) == UTC_1505


def test_typeform_dates_are_utc_as_their_header_says():
    assert submitted(typeform.parse, TYPEFORM, time_zone=PARIS) == UTC_1305
