"""Column-proportion tests with letters, as SPSS Custom Tables and Q show them.

Within each table (wave, question, segment), every answer's percentage in each value of
the segment (a column) is compared with its percentage in every other value: a pooled
two-proportion z-test per pair of columns (SPSS CTABLES ``/COMPARETEST TYPE=PROP``), the
p-values adjusted within the row (the answer) of the table over its pairs of columns,
Bonferroni by default as CTABLES does (``ADJUST=BONFERRONI``). Each value gets a letter
(A, B, C... in questionnaire order); a cell is then shown with the letters of the columns
it is significantly higher than ("77% B D").

Weighted (the crosstab's weighted columns are filled, ``weighted``): the pair's weighted
percentages are compared by the Wald z-test of their difference whose variance is the sum
of the two cells' design-based variances p(1-p)/effective_base (``transforms.trend.
design_variance``, linearised on the raked design, as R's ``svyby`` + ``svycontrast`` of two
domains). The two values are disjoint domains; the small covariance the raking induces
between them is neglected, as the trend does between waves. Adjusted and lettered as the
unweighted tests, ``higher`` from the weighted percentages.

Not tested: columns whose base is under the minimum, a question crossed with its own
segment or with a segment derived from it, and a question that is constant (every answer
chosen by nobody or by everybody of the whole sample: nothing can differ).
"""

from __future__ import annotations

import string
from dataclasses import dataclass

import polars as pl

from schemas.codebook import Codebook
from transforms.statistics import adjusted_p_value, two_proportion_p_value, wald_p_value
from transforms.trend import design_variance

TABLE = ["wave", "question", "segment"]
ROW = [*TABLE, "answer"]


@dataclass(frozen=True)
class ColumnTestSettings:
    alpha: float = 0.05
    adjust: str = "bonferroni"  # bonferroni | bh | none, within each row of each table
    minimum_base: int = 30


def build_column_tests(
    crosstab: pl.LazyFrame, *, book: Codebook, settings: ColumnTestSettings, weighted: bool = False
) -> pl.LazyFrame:
    """One row per wave, question, answer, segment and pair of its values (columns) tested.

    ``crosstab`` is the crosstab (``build_crosstab``): its counts and bases; ``weighted``
    (built with weighting targets) also its weighted_pct and effective_base.
    """
    pairs = column_pairs(crosstab, book=book, minimum_base=settings.minimum_base, weighted=weighted)
    return tested_column_pairs(pairs, adjust=settings.adjust, alpha=settings.alpha, weighted=weighted)


def column_pairs(crosstab: pl.LazyFrame, *, book: Codebook, minimum_base: int, weighted: bool = False) -> pl.LazyFrame:
    """One row per testable pair of columns of a table's row: value_a (the earlier letter)
    and value_b, with their letters, counts (n_a, n_b) and bases (base_a, base_b);
    ``weighted``, also their weighted percentages and design-based variances
    (_wpct_a, _variance_a, _wpct_b, _variance_b)."""
    design = [pl.col("weighted_pct").alias("_wpct"), design_variance().alias("_variance")] if weighted else []
    columns = (
        crosstab.filter(pl.col("segment") != "all", pl.col("base_n") >= minimum_base)
        .join(_not_tested(crosstab, book=book), on=TABLE, how="anti")
        .join(value_letters(crosstab, book=book), on=["segment", "segment_value"])
        .select(*ROW, "answer_order", "segment_value", "letter", "letter_order", "n", "base_n", *design)
    )
    names = {"segment_value": "value", "letter": "letter", "n": "n", "base_n": "base"}
    names |= {"_wpct": "_wpct", "_variance": "_variance"} if weighted else {}
    a = columns.rename({name: f"{short}_a" for name, short in names.items()})
    b = columns.drop("answer_order").rename(
        {name: f"{short}_b" for name, short in names.items()} | {"letter_order": "_order_b"}
    )
    return (
        a.join(b, on=ROW)
        .filter(pl.col("letter_order") < pl.col("_order_b"))
        .sort("wave", "question", "answer_order", "segment", "letter_order", "_order_b")
        .drop("letter_order", "_order_b", "answer_order")
    )


def tested_column_pairs(pairs: pl.LazyFrame, *, adjust: str, alpha: float, weighted: bool = False) -> pl.LazyFrame:
    """The pairs with their percentages, p-value, adjusted p-value (within each row of each
    table) and which value is higher when the difference is significant.

    Unweighted, the test reads only the counts and bases (n_a, base_a, n_b, base_b) per
    pair: pct_a and pct_b are 100 n / base. ``weighted``, pct_a and pct_b are the weighted
    percentages and the test is the Wald z-test of their difference (see the module).
    """
    significant = pl.col("p_adjusted") < alpha
    if weighted:
        tested = pairs.with_columns(
            pct_a=pl.col("_wpct_a"),
            pct_b=pl.col("_wpct_b"),
            p_value=wald_p_value(
                (pl.col("_wpct_a") - pl.col("_wpct_b")) / 100.0, pl.col("_variance_a") + pl.col("_variance_b")
            ),
        ).drop("_wpct_a", "_wpct_b", "_variance_a", "_variance_b")
    else:
        tested = pairs.with_columns(
            pct_a=100.0 * pl.col("n_a") / pl.col("base_a"),
            pct_b=100.0 * pl.col("n_b") / pl.col("base_b"),
            p_value=two_proportion_p_value("n_a", "base_a", "n_b", "base_b"),
        )
    return tested.with_columns(p_adjusted=adjusted_p_value("p_value", method=adjust, over=ROW)).with_columns(
        higher=pl.when(significant & (pl.col("pct_a") > pl.col("pct_b")))
        .then(pl.col("value_a"))
        .when(significant & (pl.col("pct_b") > pl.col("pct_a")))
        .then(pl.col("value_b")),
        is_significant=significant.fill_null(False),
        is_weighted=pl.lit(weighted),
    )


def value_letters(crosstab: pl.LazyFrame, *, book: Codebook) -> pl.LazyFrame:
    """One row per segment and value: its letter (A, B, ... in questionnaire order; the
    tool and language segments in name order) and the letter's position."""
    ordered = [(q.code, o.code) for q in book.segment_questions for o in q.options] + [
        (d.code, group) for d in book.derived_segments for group in d.groups
    ]
    known = pl.LazyFrame(ordered, schema={"segment": pl.Utf8, "segment_value": pl.Utf8}, orient="row").with_row_index(
        "_position"
    )
    others = (
        crosstab.filter(pl.col("segment") != "all")
        .select("segment", "segment_value")
        .unique()
        .join(known, on="segment", how="anti")
        .sort("segment", "segment_value")
        .with_row_index("_position", offset=len(ordered))
    )
    return (
        pl.concat([known, others.select(known.collect_schema().names())], how="vertical")
        .with_columns(letter_order=pl.col("_position").rank("ordinal").over("segment").cast(pl.Int64) - 1)
        .with_columns(letter=pl.col("letter_order").replace_strict(LETTERS, return_dtype=pl.Utf8))
        .drop("_position")
    )


def _letter(position: int) -> str:
    """A, B, ... Z, then AA, AB, ... (as spreadsheet columns) for position 0, 1, ..."""
    text = ""
    position += 1
    while position:
        position, rest = divmod(position - 1, 26)
        text = string.ascii_uppercase[rest] + text
    return text


#: The letter of each column position (more than any segment has values).
LETTERS = {position: _letter(position) for position in range(26 * 27)}


def _not_tested(crosstab: pl.LazyFrame, *, book: Codebook) -> pl.LazyFrame:
    """The tables (wave, question, segment) that are no hypothesis: the question is the
    segment or its source, or the question is constant in the whole sample."""
    sources = [(q.code, q.code) for q in book.segment_questions] + [(d.code, d.source) for d in book.derived_segments]
    own = (
        pl.LazyFrame(sources, schema={"segment": pl.Utf8, "question": pl.Utf8}, orient="row")
        .join(crosstab.select("wave").unique(), how="cross")
        .select(TABLE)
    )
    whole = crosstab.filter(pl.col("segment") == "all")
    constant = (
        whole.group_by("wave", "question")
        .agg(is_constant=((pl.col("n") == 0) | (pl.col("n") == pl.col("base_n"))).all())
        .filter(pl.col("is_constant"))
        .join(crosstab.select("segment").unique(), how="cross")
        .select(TABLE)
    )
    return pl.concat([own, constant], how="vertical").unique()
