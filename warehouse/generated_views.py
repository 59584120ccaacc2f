"""Views generated from the questionnaire and the published figures (one per segment, one per figure group).

Their columns depend on the codebook (one column per segment value), so they are
written from it rather than by hand; identifiers come only from the codebook and
values are quoted literals of known codes.
"""

from __future__ import annotations

import re

import polars as pl

from schemas.codebook import Codebook
from schemas.tables import answers_schema
from warehouse.ddl import DocumentedView, duckdb_type, view_comment_sql
from warehouse.ddl import _quote_identifier as ident
from warehouse.ddl import _quote_literal as literal


def segment_values(book: Codebook, segment: str) -> list[str]:
    if segment in [d.code for d in book.derived_segments]:
        return list(book.derived(segment).groups)
    return book.question(segment).option_codes


def wide_segment_view(book: Codebook, segment: str) -> str:
    """Answers as rows, the segment's values as columns (suppressed percentages left empty)."""
    values = segment_values(book, segment)
    columns = "\n        ".join(
        f"max(pct) filter (where segment_value = {literal(value)} and not is_suppressed) as {ident(value)}"
        + ("," if i < len(values) - 1 else "")
        + f" -- Percentage 0-100 among {segment} = {value}; empty where its base is under the minimum."
        for i, value in enumerate(values)
    )
    return f"""-- crosstab_by_{segment}: one row per wave, question and answer; one column per value of {segment}.
-- Percentages 0-100 of each {segment} value's base, beside the whole sample; empty where the base is under the minimum.
with cells as (
    select * from crosstab where segment in ('all', {literal(segment)})
),

final as (
    select
        wave,
        question,
        answer,
        answer_kind,
        answer_order,
        max(pct) filter (where segment = 'all') as "all", -- Percentage 0-100 in the whole sample.
        {columns}
    from cells
    group by wave, question, answer, answer_kind, answer_order
)

select * from final order by wave, question, answer_order
"""


def figure_group_view(group: str, figures: pl.DataFrame) -> tuple[str, str]:
    """The crosstab slice a group of published figures comes from, with the published numbers."""
    first = figures.row(0, named=True)
    segment = first["segment_name"]
    answers = sorted(set(figures["answer"].to_list()))
    slug = re.sub(r"[^a-z0-9_]+", "_", group.lower()).strip("_")  # any figure id (a study's own ids)
    name = f"figure_{slug}_{first['question']}" + ("" if segment == "all" else f"_by_{segment}")
    shown = group if re.fullmatch(r"[\w.-]+", group) else slug  # an id in a comment: never a line break
    sql = f"""-- {name}: one row per wave, answer and value of {segment} (published figures {shown}).
-- The figures the report prints as {shown}, every value of the segment, with the published number where there is one.
with cells as (
    select * from crosstab
    where question = {literal(first["question"])}
      and answer in ({", ".join(literal(a) for a in answers)})
      and segment = {literal(segment)}
),

published as (
    select wave, answer, segment_name, segment_value, id, published_pct, status
    from claims
    where id like {literal(group + "%")}
),

final as (
    select
        cells.wave, cells.question, cells.answer, cells.segment, cells.segment_value,
        cells.base_n, cells.n, cells.pct, cells.ci_low, cells.ci_high,
        cells.is_significant, cells.is_suppressed,
        published.id, published.published_pct, published.status
    from cells
    left join published
      on published.wave = cells.wave and published.answer = cells.answer
     and published.segment_name = cells.segment and published.segment_value = cells.segment_value
)

select * from final order by wave, answer, segment_value
"""
    return name, sql


def answers_view(book: Codebook) -> str:
    """The answers, one row each, unnested from their columnar store: each single-choice
    column of `responses` and each list column of `choices` (``transforms.responses.build_answers``
    in SQL). Typed as the answers table was: question and answer as the questionnaire's ENUMs
    (VARCHAR in a DuckLake, which has no ENUM, as its tables' enums)."""
    return DocumentedView(
        _answers_query(book, enums=True),
        comments=view_comment_sql("answers", answers_schema(book)),
        without_enums=_answers_query(book, enums=False),
    )


def _answers_query(book: Codebook, *, enums: bool) -> str:
    key = "wave, source_tool, response_id"
    single = [
        f"select {key}, {literal(q.code)} as question, {ident(q.code)}::VARCHAR as answer from responses"
        for q in book.single
    ]
    multi = [
        f"select {key}, {literal(q.code)} as question, unnest({ident(q.code)})::VARCHAR as answer from choices"
        for q in book.multi
    ]
    chosen = (
        "\n    union all\n    ".join(single + multi) or f"select {key}, null as question, null as answer from responses"
    )
    return f"""-- answers: one row per response, closed question and chosen option (multi-select questions give one row per option).
-- The single-choice columns of responses and the option lists of choices, unnested, in no particular order (as the table it
-- replaced from a million rows): order by question, answer for the questionnaire's order.
with chosen as (
    {chosen}
),

final as (
    select
        {key},
        question::{duckdb_type(book.question_dtype, enums=enums)} as question,
        answer::{duckdb_type(book.answer_dtype, enums=enums)} as answer
    from chosen
    where answer is not null
)

select * from final
"""


def generated_views(book: Codebook, located_figures: pl.DataFrame) -> dict[str, str]:
    """Every generated view by name: `answers`, one wide view per segment, one per published figure group."""
    views = {"answers": answers_view(book)}
    views |= {f"crosstab_by_{segment}": wide_segment_view(book, segment) for segment in book.segments}
    groups = located_figures.with_columns(group=pl.coalesce(pl.col("id").str.extract(r"^(F\d+)"), pl.col("id")))
    for (group,), part in groups.group_by(["group"], maintain_order=True):
        for (_, _), sub in part.group_by(["question", "segment_name"], maintain_order=True):
            name, sql = figure_group_view(group, sub)
            assert re.fullmatch(r"[a-z0-9_]+", name), name
            views.setdefault(name, sql)
    return views
