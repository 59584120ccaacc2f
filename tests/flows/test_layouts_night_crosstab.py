"""The demo's respondents exported by LimeSurvey, Microsoft Forms and Alchemer run through
the night into the same crosstab as their Typeform export: every row loaded, every cell
(question, answer, segment, value: base, count, percentage) equal."""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl
import pytest

from demo.exports.alchemer import write_alchemer
from demo.exports.limesurvey import write_limesurvey
from demo.exports.microsoft_forms import write_microsoft_forms
from demo.exports.typeform import write_typeform
from demo.study import demo_respondents
from schemas.study import load_study
from surveyhouse.night import run_night
from surveyhouse.settings import load_settings

#: file -> (its layout, its writer)
WRITERS = {
    "typeform.csv": ("typeform", lambda frame, path: write_typeform(frame, path, seed=1)),
    "results-survey123456.csv": ("limesurvey", lambda frame, path: write_limesurvey(frame, path, seed=1)),
    "results-survey123456.xlsx": (
        "limesurvey",
        lambda frame, path: write_limesurvey(frame, path, headings="code_text", excel=True),
    ),
    "microsoft_forms.xlsx": ("microsoft_forms", write_microsoft_forms),
    "alchemer.csv": ("alchemer", lambda frame, path: write_alchemer(frame, path, seed=1)),
}
CELLS = ["question", "answer", "segment", "segment_value", "base_n", "n", "pct"]


@pytest.fixture(scope="module")
def respondents() -> pl.DataFrame:
    frame, _ = demo_respondents(seed=7, n=240)
    # Forms keeps submitted responses only: every layout gets the same, submitted ones.
    return frame.filter(pl.col("submitted_at").is_not_null())


def night(root: Path, name: str, frame: pl.DataFrame) -> tuple[list, pl.DataFrame]:
    inbox = root / "landing"
    inbox.mkdir(parents=True)
    WRITERS[name][1](frame, inbox / name)
    settings = load_settings(inbox=str(inbox), warehouse=str(root / "w.duckdb"))
    run_night(load_study(), settings, report=False)
    with duckdb.connect(str(root / "w.duckdb"), read_only=True) as connection:
        files = connection.execute("select layout, rows_read, accepted + quarantined from files").fetchall()
        cells = connection.execute("select * from crosstab where segment <> 'source_tool'").pl()
    return files, cells.select(CELLS).sort(CELLS[:4])


@pytest.fixture(scope="module")
def reference(tmp_path_factory, respondents):
    return night(tmp_path_factory.mktemp("typeform"), "typeform.csv", respondents)


@pytest.mark.parametrize("name", [name for name in WRITERS if name != "typeform.csv"])
def test_every_row_of_a_new_layout_loads_into_the_same_crosstab_as_typeform(tmp_path, respondents, reference, name):
    files, cells = night(tmp_path, name, respondents)
    assert files == [(WRITERS[name][0], respondents.height, respondents.height)]
    assert cells.height == reference[1].height > 0
    assert cells.equals(reference[1])
