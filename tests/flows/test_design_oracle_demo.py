"""The demo's 2023 wave, weighted by a target file: the crosstab's design-based columns against R.

The night runs on the demo's 2023 exports with ``weights_file`` raking role and language;
the published responses (weights included) and a seeded sample of crosstab cells (segments
all, role, language) go to tests/transforms/design_oracle.R, which rakes again with
``survey::rake`` and computes ``svyciprop(method = "logit")`` and the Wald test of the
domain difference (see tests/transforms/test_design_oracle.py). On all 658 such cells
(measured once: R 30 s) the bounds agreed within 3.0e-7 points and the p-values within
8.5e-8; the suite compares ``SAMPLE`` cells.
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import duckdb
import polars as pl
import pytest

from demo.study import write_demo_study
from schemas.study import load_study
from surveyhouse.night import run_night
from surveyhouse.settings import load_settings
from tests.transforms.test_design_oracle import _units_of_cells, r_design_results
from tests.transforms.test_weighting_oracle import _unavailable

SAMPLE = 150
TARGETS = {
    "role": {"vp": 0.1, "senior_director": 0.3, "manager": 0.4, "entry": 0.2},
    "language": {"en": 0.7, "fr": 0.3},
}


def _published(warehouse: Path, book) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(the 2023 responses in bases, with their multi-select answers as lists; the crosstab's sampled cells)."""
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        responses = connection.execute(
            "select * from responses where wave = 2023 and not is_excluded "
            "order by wave, source_tool, submitted_at, response_id"
        ).pl()
        multi = connection.execute(
            "select source_tool, response_id, cast(question as varchar) question, list(cast(answer as varchar)) chosen "
            "from answers where wave = 2023 group by all"
        ).pl()
        crosstab = connection.execute(
            "select * from crosstab where wave = 2023 and segment in ('all', 'role', 'language')"
        ).pl()
    for question in book.multi:
        lists = multi.filter(pl.col("question") == question.code).select(
            "source_tool", "response_id", pl.col("chosen").alias(question.code)
        )
        responses = responses.join(lists, on=["source_tool", "response_id"], how="left")
    responses = responses.with_columns(
        *[pl.col(q.code).cast(q.dtype) for q in book.single],
        *[pl.col(q.code).cast(pl.List(q.dtype)) for q in book.multi],
    )
    cells = crosstab.sample(SAMPLE, seed=5).with_row_index("cell").with_columns(pl.col("cell").cast(pl.Int64))
    return responses, cells


@pytest.fixture(scope="module")
def compared(book, tmp_path_factory):
    if shutil.which("Rscript") is None:
        _unavailable("Rscript is not on PATH: apt-get install r-cran-survey")
    root = tmp_path_factory.mktemp("design_demo")
    write_demo_study(root / "landing", seed=2023, waves=((2023, 2334),))
    targets = root / "weights.yaml"
    targets.write_text("".join(f"{v}: {shares}\n" for v, shares in TARGETS.items()).replace("'", ""), encoding="utf-8")
    settings = load_settings(inbox=str(root / "landing"), warehouse=str(root / "surveyhouse.duckdb"))
    assert run_night(load_study(), dataclasses.replace(settings, weights_file=targets)).published
    responses, cells = _published(root / "surveyhouse.duckdb", book)
    folder = root / "r"
    folder.mkdir()
    people = responses.select(*[pl.col(v).cast(pl.String) for v in TARGETS], "weight")
    theirs = r_design_results(folder, people, TARGETS, _units_of_cells(responses, cells, book))
    return cells.join(theirs, on="cell", how="left", validate="1:1")


def test_demo_weighted_intervals_are_r_svyciprop_logit_within_0_05_points(compared):
    assert compared.height == SAMPLE
    for ours, theirs in [("weighted_pct", "r_pct"), ("weighted_ci_low", "r_low"), ("weighted_ci_high", "r_high")]:
        assert compared.select((pl.col(ours) - pl.col(theirs)).abs().max()).item() < 0.05, ours


def test_demo_weighted_p_values_are_r_design_based_wald_test_within_1e_4(compared):
    tested = compared.filter(pl.col("is_tested"))
    both = tested.filter(pl.col("r_p").is_not_null())
    assert both.height > 100
    assert both.select((pl.col("p_value") - pl.col("r_p")).abs().max()).item() < 1e-4
    # R gives NaN (0/0) where both shares are 0 or 100%: ours is 1 (no difference), as unweighted.
    assert (tested.filter(pl.col("r_p").is_null())["p_value"] == 1.0).all()
    # Rows that are no hypothesis carry no test, weighted as unweighted.
    assert compared.filter(~pl.col("is_tested"))["p_value"].is_null().all()
