"""`surveyhouse claims` on the demo warehouse: how many published figures the data reproduce."""

from __future__ import annotations

import re

import pytest

from cli.main import main


@pytest.fixture(scope="module")
def demo_warehouse(demo_night) -> str:
    return str(demo_night.warehouse)  # the built-in demo, run once for the test run (tests/conftest.py)


def test_claims_on_the_demo_prints_how_many_figures_are_reproduced_within_tolerance_or_not(demo_warehouse, capsys):
    assert main(["claims", "--warehouse", demo_warehouse]) == 0
    out = capsys.readouterr().out
    summary = out.splitlines()[0]
    counts = {
        name: int(number)
        for name, number in re.findall(
            r"(reproduced from the data|within 1 points|not reproduced|contradicted by the report itself"
            r"|base under the minimum|not computable)[^:]*: (\d+)",
            summary,
        )
    }
    assert summary.startswith("Published figures reproduced from the data (round to the published figure): 55 of 71;")
    assert counts == {
        "reproduced from the data": 55,  # the recount: 15 of the 70 once "consistent" do not round
        "within 1 points": 9,
        "not reproduced": 6,
        "contradicted by the report itself": 1,
        "base under the minimum": 0,
        "not computable": 0,
    }
    statuses = {line.split()[0]: line.split()[-1] for line in out.splitlines()[2:] if re.match(r"F\d", line)}
    assert len(statuses) == 71
    assert statuses["F28"] == "contradicted"
    assert sorted(statuses.values()).count("reproduced") == 55
    assert "The report contradicts itself: F08c (11%) and F28 (71%)" in out
