"""The report's sections and charts, in the order of the published 2023 report.

Each chart names crosstab rows: a question's distribution over the whole sample
(its options, then the NETs the report talks of), one answer across the values of a
segment (with the whole sample on top), or a question's options in small panels, one
per segment value. Published figures are matched to the charts through `claims`.
"""

from __future__ import annotations

from dataclasses import dataclass


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
    key: str  # anchor, and the suffix of its title (sec_*) and caption (cap_*) in strings.UI
    charts: tuple[Chart, ...]


SECTIONS: tuple[Section, ...] = (
    Section(
        "who", (Distribution("role"), Distribution("industry"), Distribution("team_size"), Distribution("followers"))
    ),
    Section(
        "interest",
        (
            Distribution("ai_interest", ("interested",)),
            BySegment("ai_interest", "interested", "ai_frequency"),
            BySegment("ai_interest", "dont_care", "account_size"),
        ),
    ),
    Section(
        "frequency",
        (
            Distribution("ai_frequency", ("weekly_plus", "any_use")),
            BySegment("ai_frequency", "weekly_plus", "role"),
            BySegment("ai_frequency", "few_per_week_plus", "account_size"),
            BySegment("ai_frequency", "few_per_week_plus", "followers"),
        ),
    ),
    Section(
        "usefulness",
        (
            Distribution("ai_useful", ("top2", "bottom2")),
            BySegment("ai_useful", "bottom2", "role"),
            BySegment("ai_useful", "top2", "followers"),
            BySegment("ai_useful", "top2", "ai_frequency"),
        ),
    ),
    Section("uses", (Distribution("ai_uses"),)),
    Section(
        "company",
        (
            Distribution("company_uses_ai"),
            BySegment("company_uses_ai", "yes", "followers"),
            Distribution("plans_2024"),
            BySegment("plans_2024", "increase", "followers"),
            BySegment("plans_2024", "increase", "ai_frequency"),
        ),
    ),
    Section(
        "want_more",
        (
            Distribution("want_more_ai"),
            BySegment("want_more_ai", "yes", "role"),
            BySegment("want_more_ai", "yes", "followers"),
            BySegment("want_more_ai", "yes", "ai_frequency"),
        ),
    ),
    Section("uses_2025", (Distribution("uses_2025"), Panels("uses_2025", "role"))),
    Section("barriers", (Distribution("barriers"),)),
)


def chart_id(chart: Chart) -> str:
    """A stable id for a chart: its anchor on the page and the salt of its SVG ids."""
    if isinstance(chart, Distribution):
        return f"{chart.question}"
    if isinstance(chart, BySegment):
        return f"{chart.question}-{chart.answer}-by-{chart.segment}"
    return f"{chart.question}-panels-by-{chart.segment}"
