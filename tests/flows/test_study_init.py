"""`surveyhouse study init --from EXPORT` drafts a study folder that loads, from one export
of every supported layout (and from the real exports of other surveys), and a run on the
export it came from loads every row: nothing is quarantined but the responses the tool
itself marks unfinished."""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl
import pytest
import yaml
from click.testing import CliRunner

from cli.main import main, surveyhouse
from demo.exports.alchemer import write_alchemer
from demo.exports.google_forms import write_google_forms
from demo.exports.limesurvey import write_limesurvey
from demo.exports.microsoft_forms import write_microsoft_forms
from demo.exports.qualtrics import write_qualtrics
from demo.exports.spss import write_spss
from demo.exports.surveymonkey import write_surveymonkey
from demo.exports.typeform import write_typeform
from schemas.study import load_study
from surveyhouse.night import run_night
from surveyhouse.settings import load_settings
from surveyhouse.staging import process_export
from tests.cases.make_exports import workbook_of
from tests.flows.respondents import small_respondents

#: Respondents who answered with something no option says (``!`` answers): left out, so
#: that every cell of the exports is a tool's own.
WROTE_THEIR_OWN = (4, 5, 7)


def clean(language: str) -> pl.DataFrame:
    return small_respondents(language=language).filter(~pl.col("respondent").is_in(WROTE_THEIR_OWN))


def _excel(frame: pl.DataFrame, path: Path) -> None:
    csv = path.with_suffix(".csv")
    write_qualtrics(frame, csv, language="en", numeric=True, multi="joined", seed=3)
    workbook_of(csv, path, dates_as_cells=True)
    csv.unlink()


#: name -> (language, writer)
WRITERS = {
    "qualtrics_labels.csv": ("en", lambda f, p: write_qualtrics(f, p, language="en", numeric=False, multi="split")),
    "qualtrics_numeric.csv": ("fr", lambda f, p: write_qualtrics(f, p, language="fr", numeric=True, multi="joined")),
    "surveymonkey.csv": ("en", lambda f, p: write_surveymonkey(f, p)),
    "google_forms.csv": ("fr", write_google_forms),
    "typeform.csv": ("en", lambda f, p: write_typeform(f, p)),
    "spss.sav": ("en", lambda f, p: write_spss(f, p, language="en", dichotomy="zero")),
    "excel.xlsx": ("en", _excel),
    "limesurvey.csv": ("fr", lambda f, p: write_limesurvey(f, p, headings="code_text")),
    "limesurvey.xlsx": ("en", lambda f, p: write_limesurvey(f, p, excel=True)),
    "limesurvey_codes.csv": ("en", lambda f, p: write_limesurvey(f, p, headings="code")),
    "microsoft_forms.xlsx": ("en", write_microsoft_forms),
    "alchemer.csv": ("fr", lambda f, p: write_alchemer(f, p)),
}


def init(export: Path, out: Path) -> None:
    result = CliRunner().invoke(surveyhouse, ["study", "init", "--from", str(export), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"Wrote {out / 'questionnaire.yaml'}: ")


def loaded_every_row(export: Path, study_folder: Path, *, left_out: str | None = None) -> tuple[dict, pl.DataFrame]:
    """The export staged against the drafted study: every row accepted, or quarantined only
    because the tool marks the response unfinished; no column ignored but those left out."""
    study = load_study(study_folder)
    record, accepted, quarantine = process_export(
        export, run_id="r", file_order=1, wave=study.book.wave, book=study.book, key=b"k", max_quarantined_share=1.0
    )
    assert record["status"] == "loaded", record["message"]
    assert record["columns_ignored"] == left_out
    assert set(quarantine.get_column("check").to_list()) <= {"finished"}, quarantine.select("column", "check")
    assert accepted.height + record["quarantined"] == record["rows_read"]
    return record, accepted


@pytest.mark.parametrize("name", sorted(WRITERS))
def test_study_init_drafts_a_study_that_loads_every_row_of_its_export(tmp_path, name):
    language, write = WRITERS[name]
    export = tmp_path / name
    write(clean(language), export)
    init(export, tmp_path / "study")
    record, accepted = loaded_every_row(export, tmp_path / "study")
    questionnaire = yaml.safe_load((tmp_path / "study" / "questionnaire.yaml").read_text(encoding="utf-8"))
    assert questionnaire["languages"] == [language]
    codes = [q["code"] for q in questionnaire["questions"]]
    assert len(set(codes)) == len(codes) and all(c.isascii() and c == c.lower() and c[0].isalpha() for c in codes)
    types = {q["type"] for q in questionnaire["questions"]}
    assert {"single", "multi"} <= types


def test_the_drafted_study_runs_the_night_on_its_export_and_loads_every_row(tmp_path):
    inbox = tmp_path / "landing"
    inbox.mkdir()
    export = inbox / "results-survey123456.csv"
    write_limesurvey(clean("fr"), export, headings="code_text")
    init(export, tmp_path / "study")
    settings = load_settings(inbox=str(inbox), warehouse=str(tmp_path / "w.duckdb"))
    run = run_night(load_study(tmp_path / "study"), settings, report=False)
    assert run.files_new == 1
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as connection:
        files = connection.execute("select rows_read, accepted, quarantined from files").fetchall()
        checks = connection.execute("select distinct check_name from quarantine").fetchall()
    assert files == [(9, 8, 1)] and checks == [("finished",)]  # the one unfinished response


def test_a_free_text_column_is_drafted_as_text_and_personal_data_is_never_copied(tmp_path):
    export = tmp_path / "form.csv"
    frame = pl.DataFrame(
        {
            "Timestamp": ["10/2/2023 13:05:09", "10/2/2023 14:05:09", "10/3/2023 09:00:00", "10/3/2023 10:00:00"],
            "Your name": ["Ada Lovelace", "Grace Hopper", "Alan Turing", "Katherine Johnson"],
            "Contact": ["ada@example.com", "grace@example.org", "alan@example.co.uk", "kj@example.com"],
            "Which plan do you use?": ["Free", "Pro", "Free", "Team"],
            "What should we improve first, and why?": [
                "The export page is slow when the survey is large.",
                "Nothing much, but the charts could be clearer.",
                "Let us choose the colours of the report, please.",
                "Search in the responses table would save time.",
            ],
        }
    )
    frame.write_csv(export)
    init(export, tmp_path / "study")
    text = (tmp_path / "study" / "questionnaire.yaml").read_text(encoding="utf-8")
    questionnaire = yaml.safe_load(text)
    assert [(q["text"]["en"], q["type"]) for q in questionnaire["questions"]] == [
        ("Which plan do you use?", "single"),
        ("What should we improve first, and why?", "text"),
    ]
    assert [o["en"] for o in questionnaire["questions"][0]["options"]] == ["Free", "Pro", "Team"]
    for personal in ("Ada", "Lovelace", "ada@example.com", "example.org"):
        assert personal not in text
    assert "# Personal data, left out: Your name, Contact" in text
    loaded_every_row(export, tmp_path / "study", left_out="Your name, Contact")


def test_study_init_never_overwrites_a_folder_that_holds_files(tmp_path, capsys):
    export = tmp_path / "typeform.csv"
    write_typeform(clean("en"), export)
    out = tmp_path / "study"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    assert main(["study", "init", "--from", str(export), "--out", str(out)]) == 2
    assert capsys.readouterr().err == (
        f"Error: {out} is not empty: give --out a new or empty folder (the draft never overwrites files)\n"
    )
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]


def test_study_init_from_a_file_of_no_supported_tool_says_what_it_is(tmp_path, capsys):
    export = tmp_path / "kobo.csv"
    export.write_text("start,Q1,_id,_uuid,_submission_time\n2023-10-02,yes,1,a,b\n")
    assert main(["study", "init", "--from", str(export), "--out", str(tmp_path / "s")]) == 2
    assert "it is a KoboToolbox export, which surveyhouse does not support" in capsys.readouterr().err
    assert not (tmp_path / "s").exists()


#: Real exports a draft cannot tell apart, and why.
NOT_DRAFTABLE = {
    "qualtrics/Questions_with_Text_Entry_Components.csv": (
        "every question keeps Qualtrics' placeholder wording 'Click to write the question text': no wording tells "
        "its columns apart, and questions are matched on their wording"
    ),
}


def _real(real_fixtures: Path) -> list[str]:
    return sorted(str(p.relative_to(real_fixtures)) for p in real_fixtures.glob("*/*") if p.suffix == ".csv")


@pytest.mark.parametrize(
    "name",
    [
        "google_forms/Ask A Manager Salary Survey 2021 (Responses) - Form Responses 1.head28.csv",
        "google_forms/DS-4002-spr24-survey-results - Form Responses 1.csv",
        "qualtrics/2206062.csv",
        "qualtrics/Beskar Armor.csv",
        "qualtrics/Questions_with_Text_Entry_Components.csv",
        "qualtrics/sample.csv",
        "qualtrics/sample_legacy.csv",
        "surveymonkey/MIDWEST.csv",
        "surveymonkey/StarWars.csv",
        "surveymonkey/steak-risk-survey.csv",
        "typeform/2016 New Coders Survey Part 1.head100.csv",
    ],
)
def test_study_init_from_a_real_export_loads_every_row_of_it(real_fixtures, tmp_path, name):
    if name in NOT_DRAFTABLE:
        pytest.skip(NOT_DRAFTABLE[name])
    export = real_fixtures / name  # read in place
    init(export, tmp_path / "study")
    loaded_every_row(export, tmp_path / "study")


def test_every_real_export_is_tried(real_fixtures):
    tried = test_study_init_from_a_real_export_loads_every_row_of_it.pytestmark[0].args[1]
    assert _real(real_fixtures) == sorted(tried)
