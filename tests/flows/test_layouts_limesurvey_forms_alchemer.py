"""LimeSurvey, Microsoft Forms and Alchemer exports (written by ``demo/exports``, the case
files of ``tests/cases/exports``) read as their tools write them; an export of a tool that
is recognised but not supported says which tool it is, not "export it again"."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from schemas.codebook import codebook
from surveyhouse.read import read_export
from surveyhouse.staging import process_export
from transforms.layouts import detect_layout

CASES = Path(__file__).resolve().parents[1] / "cases" / "exports"


def staged(path: Path):
    return process_export(
        path, run_id="r", file_order=1, wave=2023, book=codebook(), key=b"k", max_quarantined_share=1.0
    )


def parsed(path: Path):
    raw = read_export(path)
    layout = detect_layout(raw.header, kind=raw.kind)
    return layout, layout.parse(raw.frame.lazy(), raw.header)


def test_a_french_limesurvey_export_with_oui_non_cells_loads_every_answer():
    path = CASES / "limesurvey_fr.csv"
    data = path.read_bytes()
    assert data.startswith("\ufeff".encode()) and b'"Oui";"Non"' in data and b'"id. ID de la r' in data
    record, accepted, _ = staged(path)
    assert (record["status"], record["source_tool"], record["language"]) == ("loaded", "limesurvey", "fr")
    first = accepted.sort("source_row").row(0, named=True)
    assert first["ai_uses"] == ["visuals", "copywriting"] and first["barriers"] == ["cost"]


def test_limesurvey_without_date_stamps_is_complete_with_no_submission_time(tmp_path):
    path = tmp_path / "results-survey123456.csv"
    lines = [
        '"id";"submitdate";"lastpage";"startlanguage";"seed";"Does your company use AI in its social media activities?"',
        '"1";"1980-01-01 00:00:00";"3";"en";"1417820114";"Y"',
        '"2";;"1";"fr";"1417820115";"N/A"',
    ]
    path.write_text("\ufeff" + "\r\n".join(lines) + "\r\n", encoding="utf-8")  # (staging drops the blank last line)
    layout, export = parsed(path)
    meta = export.meta.collect()
    assert layout.name == "limesurvey"
    assert meta["is_finished"].to_list() == [True, False] and meta["submitted_at"].null_count() == 2
    assert meta["language"].to_list() == ["en", "fr"] and meta["response_id"].to_list() == ["1", "2"]
    assert export.cells.collect()["value"].to_list() == ["Yes"]  # "Y" read as Yes, "N/A" as unanswered


def test_microsoft_forms_multi_selects_end_with_a_semicolon_and_are_split_on_the_labels():
    layout, export = parsed(CASES / "microsoft_forms_en.xlsx")
    values = export.cells.collect()["value"]
    assert layout.name == "microsoft_forms" and values.str.contains("Creating visuals;Copywriting;").any()
    record, accepted, _ = staged(CASES / "microsoft_forms_en.xlsx")
    assert accepted.sort("source_row")["ai_uses"][0].to_list() == ["visuals", "copywriting"]
    meta = export.meta.collect()
    assert meta["email"].drop_nulls().len() == 3  # "anonymous" is no email


def test_an_alchemer_partial_response_is_not_finished_and_its_times_are_read():
    layout, export = parsed(CASES / "alchemer_en.csv")
    meta = export.meta.collect()
    assert layout.name == "alchemer"
    assert meta["is_finished"].to_list() == [True] * 11 + [False]
    assert meta["started_at"].null_count() == 0 and meta["submitted_at"].null_count() == 1
    assert meta["language"].unique().to_list() == ["en"]


def test_an_export_of_a_tool_not_supported_says_which_tool_and_not_to_export_it_again(tmp_path):
    path = tmp_path / "kobo.csv"
    path.write_text("start,end,Q1,_id,_uuid,_submission_time,_index\n2023-10-02,2023-10-02,yes,1,a-b,x,1\n")
    record, _, _ = staged(path)
    assert record["status"] == "failed"
    assert "it is a KoboToolbox export, which surveyhouse does not support" in record["message"]
    assert "export it again" not in record["message"].lower()


def test_an_unrecognised_file_is_not_sent_back_to_the_survey_tool(tmp_path):
    path = tmp_path / "scores.csv"
    path.write_text("id,name,score\n1,a,3\n")
    record, _, _ = staged(path)
    assert "no known survey-tool layout matches" in record["message"]
    assert "export it again" not in record["message"].lower() and "LimeSurvey" in record["message"]
    assert pl.Series([record["message"]]).str.contains("take it out of the landing folder").all()
