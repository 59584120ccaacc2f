"""The report's sections and charts, from the study's report outline (schemas/outline.py).

Each chart names crosstab rows: a question's distribution over the whole sample
(its options, then its NETs), one answer across the values of a segment (with the
whole sample on top), or a question's options in small panels, one per segment
value. Published figures are matched to the charts through `claims`.
"""

from __future__ import annotations

from dataclasses import dataclass

from schemas.codebook import Codebook
from schemas.outline import Outline, OutlineChart


@dataclass(frozen=True)
class Distribution:
    """Every option of a question over the whole sample, then the given NETs."""

    question: str
    nets: tuple[str, ...] = ()


@dataclass(frozen=True)
class BySegment:
    """One answer (option or NET) of a question across the values of a segment."""

    question: str
    answer: str
    segment: str


@dataclass(frozen=True)
class Panels:
    """Every option of a question, one panel per value of a segment."""

    question: str
    segment: str


Chart = Distribution | BySegment | Panels


@dataclass(frozen=True)
class Section:
    key: str  # the section's anchor on the page
    title: dict[str, str]  # language -> title
    caption: dict[str, str]  # language -> caption (may be empty)
    charts: tuple[Chart, ...]


def report_sections(outline: Outline, *, book: Codebook) -> tuple[Section, ...]:
    """The outline's sections as the page's charts, in outline order."""
    return tuple(
        Section(section.key, section.title, section.caption, tuple(_chart(c, book=book) for c in section.charts))
        for section in outline.sections
    )


def _chart(chart: OutlineChart, *, book: Codebook) -> Chart:
    if chart.kind == "by_segment":
        return BySegment(chart.question, str(chart.answer), str(chart.segment))
    if chart.kind == "panels":
        return Panels(chart.question, str(chart.segment))
    nets = chart.nets if chart.nets is not None else tuple(book.question(chart.question).nets)
    return Distribution(chart.question, nets)


def chart_id(chart: Chart) -> str:
    """A stable id for a chart: its anchor on the page and the salt of its SVG ids."""
    if isinstance(chart, Distribution):
        return f"{chart.question}"
    if isinstance(chart, BySegment):
        return f"{chart.question}-{chart.answer}-by-{chart.segment}"
    return f"{chart.question}-panels-by-{chart.segment}"
