import pytest

from schemas.figures import figure_address, published_figures
from transforms.claims import internal_contradictions


def test_every_published_figure_has_a_crosstab_address(book):
    figures = published_figures()
    addresses = {
        row["id"]: figure_address(row["question"], row["answers"], row["segment"], book=book)
        for row in figures.iter_rows(named=True)
    }
    assert addresses["F08a"] == ("weekly_plus", "all", "all")
    assert addresses["F07"] == ("dont_care", "account_size", "large")
    assert addresses["F09b"] == ("weekly_plus", "role", "senior_director")
    assert addresses["F15a"] == ("visuals", "all", "all")
    assert len(addresses) == figures.height


def test_the_report_contradicting_itself_is_found_from_the_figures_alone(book):
    conflicts = internal_contradictions(published_figures(), book=book)
    pairs = {tuple(sorted((row["id"], row["contradicts"]))) for row in conflicts.iter_rows(named=True)}
    assert pairs == {("F08c", "F28")}
    assert "complements" in conflicts["reason"][0]


def test_an_unknown_net_is_a_clear_error(book):
    with pytest.raises(ValueError, match="no NET"):
        figure_address("ai_frequency", "daily|never", "all", book=book)
