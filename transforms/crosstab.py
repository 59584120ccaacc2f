"""The segmented table: every closed question, option and NET, in every segment.

Counted once over a small cube (one row per combination of segment values, question
and answer), then summed per segment: the cost follows the number of distinct
combinations, not responses times segments.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from schemas.codebook import Codebook
from transforms.design import design_based_cells, design_based_domains, design_classes_from_cubes
from transforms.families import family_columns, not_tested_reason, repeated_pairs, segment_reasons
from transforms.statistics import (
    adjusted_p_value,
    is_low_base,
    is_suppressed,
    two_proportion_p_value,
    wilson_interval,
    wilson_interval_from_pct,
    z_for_level,
)

KEY = ["wave", "source_tool", "response_id"]
EXTRA_SEGMENTS = ("language", "source_tool")


@dataclass(frozen=True)
class CrosstabSettings:
    confidence: float = 0.95
    alpha: float = 0.05
    adjust: str = "bh"  # bh | bonferroni | none
    minimum_base: int = 30
    family: str = "table"  # table | wave | none: the p-values adjusted together (transforms.families)
    low_base: int = 100  # bases from minimum_base up to under this are shown with a caution (is_low_base)


def answer_catalog(book: Codebook) -> pl.LazyFrame:
    """One row per closed question and answer (options, then NETs) in report order."""
    rows = []
    for question in book.closed:
        for order, code in enumerate(question.option_codes):
            rows.append((question.code, code, "option", order))
        for order, name in enumerate(question.nets, start=len(question.options)):
            rows.append((question.code, name, "net", order))
    return pl.LazyFrame(
        rows,
        schema={"question": pl.Utf8, "answer": pl.Utf8, "answer_kind": pl.Utf8, "answer_order": pl.Int32},
        orient="row",
    )


def build_crosstab(
    responses: pl.LazyFrame,
    *,
    book: Codebook,
    settings: CrosstabSettings,
    weighted: bool = False,
    margins: tuple[str, ...] = (),
) -> pl.LazyFrame:
    """One row per wave, question, answer, segment and segment value.

    With ``weighted``, responses carry a ``weight`` column and the weighted columns
    (percentage, interval on the Kish effective base) are filled; else they are null.
    With the raking ``margins`` too, the weighted columns and the test are design-based
    (``transforms.design``: R survey's linearisation on the raked design).
    The choices are read from the responses' own answer columns (``build_answers`` is
    their long form) and counted without a join on the response key: the way the
    nightly build counts a million responses in seconds.
    """
    segments = [*book.segments, *EXTRA_SEGMENTS]
    base_cube, count_cube = _cubes_from_responses(
        responses, book=book, segments=segments, weighted=weighted, collect=bool(weighted and margins)
    )
    design = _design(
        responses,
        base_cube,
        count_cube,
        book=book,
        settings=settings,
        segments=segments,
        margins=margins,
        weighted=weighted,
    )
    return _from_cubes(
        base_cube, count_cube, book=book, settings=settings, segments=segments, weighted=weighted, design=design
    )


def _design(
    responses: pl.LazyFrame,
    base_cube: pl.LazyFrame,
    count_cube: pl.LazyFrame,
    *,
    book: Codebook,
    settings: CrosstabSettings,
    segments: list[str],
    margins: tuple[str, ...],
    weighted: bool,
) -> pl.LazyFrame | None:
    """The design-based weighted columns per cell (of the screened responses and their
    cubes), or None unweighted or without raking margins.

    Margins that are segments (the usual targets) are read from the cubes; any other
    makes the classes summed from one row per cell and response (slower, same numbers).
    """
    if not (weighted and margins):
        return None
    keys = ["wave", "question", "answer", "segment", "segment_value"]
    if not set(margins) <= set(segments):
        return design_based_cells(
            responses,
            answer_cells=_answer_cells(book),
            segments=segments,
            margins=list(margins),
            confidence=settings.confidence,
        )
    people = _people(responses, segments=segments, weighted=True, keep=["wave"]).select(
        "wave", *[f"seg_{m}" for m in margins], n=pl.lit(1, pl.Int64), w="w", w2=pl.col("w") ** 2
    )
    classes = design_classes_from_cubes(
        base_cube,
        count_cube,
        people,
        answers=answer_catalog(book).select("question", "answer"),
        segments=segments,
        margins=list(margins),
    )
    return design_based_domains(classes, by=keys, margins=list(margins), confidence=settings.confidence)


def build_crosstab_pair(
    responses: pl.LazyFrame,
    *,
    book: Codebook,
    settings: CrosstabSettings,
    weighted: bool = False,
    margins: tuple[str, ...] = (),
    slices: tuple[int, int] | None = None,
) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """(the crosstab, the crosstab with no exclusions), from one pass over the responses.

    The same two tables as ``build_crosstab(responses)`` and
    ``build_crosstab(responses.with_columns(is_excluded=False))`` (the second is how each
    figure would move if the excluded responses were counted): the responses are summed
    once per combination of segment values and exclusion, and each table adds up the
    combinations it counts (a few thousand rows, computed when this is called).
    The raked design holds the screened responses only: with ``margins`` the first table's
    weighted columns are design-based, the second's keep the Kish effective base.
    ``slices`` (the number of responses, and how many to read at a time): the responses are
    summed a slice at a time (the sums of slices add up), never all in memory at once.
    """
    segments = [*book.segments, *EXTRA_SEGMENTS]
    base_cube, count_cube = _cubes_from_responses(
        responses, book=book, segments=segments, weighted=weighted, split_excluded=True, slices=slices
    )
    return _pair_from_cubes(
        responses, base_cube, count_cube, book=book, settings=settings, weighted=weighted, margins=margins
    )


def crosstab_sums(responses: pl.LazyFrame, *, book: Codebook) -> pl.DataFrame:
    """One row per wave, combination of segment values and ``is_excluded``: per cell of the
    crosstab (``_answer_cells``: a question's base, an option, a NET), ``n:<i>``, the number of
    responses it counts; unweighted. What ``build_crosstab_pair`` sums the responses into: the
    sums of two sets of responses add up to their union's (``added_sums``), so a crosstab is
    kept up to date from its sums, the responses that come in and those that go out.

    One streaming pass (only the few thousand combinations are held, never the responses),
    grouped on the segments' values as stored (enum codes; as text after the sums: 1M responses
    0.6 s of CPU against 1.4 s when every row's values were made text first). Integer counts:
    the order in which rows are added cannot change a sum. Rows in the combinations' order."""
    segments = [*book.segments, *EXTRA_SEGMENTS]
    cells, masks = _answer_cells(book)
    keys = ["wave", *segments, "is_excluded"]
    counted = responses.with_columns(masks).select(*keys, *[who.alias(f"n:{i}") for i, (_, _, who) in enumerate(cells)])
    sums = (
        counted.group_by(keys)
        .agg(pl.col(f"n:{i}").sum() for i in range(len(cells)))
        .collect(engine="streaming")
        .sort(keys, nulls_last=False)
    )
    as_text = [pl.col(segment).cast(pl.Utf8).alias(f"seg_{segment}") for segment in segments]
    return sums.with_columns(as_text).select(crosstab_sums_columns(book))


def crosstab_sums_columns(book: Codebook) -> list[str]:
    """The columns of ``crosstab_sums`` (the combination's values, then one sum per cell)."""
    keys = ["wave", *[f"seg_{s}" for s in [*book.segments, *EXTRA_SEGMENTS]], "is_excluded"]
    return keys + [f"n:{i}" for i in range(len(_answer_cells(book)[0]))]


def crosstab_cells(book: Codebook) -> pl.DataFrame:
    """One row per sum of ``crosstab_sums`` (``cell``: its column): the question, the answer
    (null for the question's base) and the rule of whom it counts, as text (a NET's members
    included): what the sums mean, to tell whether sums kept from another night still do."""
    cells, _ = _answer_cells(book)
    return pl.DataFrame(
        {
            "cell": [f"n:{i}" for i in range(len(cells))],
            "question": [question for question, _, _ in cells],
            "answer": [answer for _, answer, _ in cells],
            "rule": [str(condition) for _, _, condition in cells],
        },
        schema={"cell": pl.Utf8, "question": pl.Utf8, "answer": pl.Utf8, "rule": pl.Utf8},
    )


def added_sums(parts: list[pl.DataFrame], *, signs: list[int] | None = None) -> pl.DataFrame:
    """``parts`` (``crosstab_sums`` frames) added up per combination, each part times its sign
    (``signs``, default all +1: a -1 takes responses out); sums that come to zero are left as
    zeros (they count no one, as an absent combination); in the first part's types."""
    signs = signs or [1] * len(parts)
    sums = [column for column in parts[0].columns if ":" in column]
    keys = [column for column in parts[0].columns if ":" not in column]
    signed = [
        part.select(
            *[pl.col(k).cast(parts[0].schema[k]) for k in keys],
            *[pl.col(c).cast(pl.Int64 if c.startswith("n:") else pl.Float64) * sign for c in sums],
        )
        for part, sign in zip(parts, signs, strict=True)
    ]
    return pl.concat(signed).group_by(keys, maintain_order=True).agg(pl.col(sums).sum()).cast(dict(parts[0].schema))


def build_crosstab_pair_from_sums(
    sums: pl.DataFrame, *, book: Codebook, settings: CrosstabSettings
) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """The two tables of ``build_crosstab_pair`` (unweighted), from the responses' ``crosstab_sums``."""
    segments = [*book.segments, *EXTRA_SEGMENTS]
    cells, _ = _answer_cells(book)
    columns = [f"n:{i}" for i in range(len(cells))]
    # Summed per segment value straight from the combinations' sums: never one row per combination
    # and cell (41,280 combinations x 110 cells at the 1M mix: 4.5M rows, the build's peak). One pass
    # over them, split by ``is_excluded``: the screened totals are the kept half, everyone's the two
    # halves added (integer counts: the same sums as everyone's summed at once).
    split = _segment_totals(sums.lazy(), ["wave", "is_excluded"], segments, sums=columns).collect().lazy()
    kept = split.filter(~pl.col("is_excluded")).drop("is_excluded")
    every = split.group_by("wave", "segment", "segment_value").agg(pl.col(columns).sum())
    screened = _from_totals(*_totals_from_sums(kept, cells=cells), book=book, settings=settings)
    everyone = _from_totals(*_totals_from_sums(every, cells=cells), book=book, settings=settings)
    return screened, everyone


def _totals_from_sums(
    totals: pl.LazyFrame, *, cells: list[tuple[str, str | None, pl.Expr]]
) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """(bases, counts) as ``_segment_totals`` makes them from the cubes, from ``crosstab_sums``'
    ``totals`` (``_segment_totals`` of their rows: each segment's values summed over the
    combinations), one row per cell."""
    sums = [f"n:{i}" for i in range(len(cells))]
    catalog = _cell_catalog(cells, prefix="n:")
    long = (
        totals.select("wave", "segment", "segment_value", *sums)
        .unpivot(index=["wave", "segment", "segment_value"], on=sums, variable_name="cell", value_name="n")
        .filter(pl.col("n") > 0)  # as the cubes hold no combination that counts no one
        .join(catalog, on="cell")
        .with_columns(w=pl.lit(0.0), w2=pl.lit(0.0))
        .collect()  # read by the bases and the counts
        .lazy()
    )
    bases = long.filter(pl.col("answer").is_null()).select(
        "wave", "question", "segment", "segment_value", base_n="n", base_w="w", base_w2="w2"
    )
    counts = long.filter(pl.col("answer").is_not_null()).select(
        "wave", "question", "answer", "segment", "segment_value", "n", n_w="w"
    )
    return bases, counts


def _pair_from_cubes(
    responses: pl.LazyFrame | None,
    base_cube: pl.LazyFrame,
    count_cube: pl.LazyFrame,
    *,
    book: Codebook,
    settings: CrosstabSettings,
    weighted: bool,
    margins: tuple[str, ...],
) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """(the crosstab, the crosstab with no exclusions) from the cubes split by ``is_excluded``."""
    segments = [*book.segments, *EXTRA_SEGMENTS]
    kept = ~pl.col("is_excluded")
    design = _design(
        responses,
        base_cube.filter(kept).drop("is_excluded"),
        count_cube.filter(kept).drop("is_excluded"),
        book=book,
        settings=settings,
        segments=segments,
        margins=margins,
        weighted=weighted,
    )
    screened = _from_cubes(
        base_cube.filter(kept),
        count_cube.filter(kept),
        book=book,
        settings=settings,
        segments=segments,
        weighted=weighted,
        design=design,
    )
    everyone = _from_cubes(base_cube, count_cube, book=book, settings=settings, segments=segments, weighted=weighted)
    return screened, everyone


def _from_cubes(
    base_cube: pl.LazyFrame,
    count_cube: pl.LazyFrame,
    *,
    book: Codebook,
    settings: CrosstabSettings,
    segments: list[str],
    weighted: bool,
    design: pl.LazyFrame | None = None,
) -> pl.LazyFrame:
    """The crosstab from its cubes: bases and counts per combination of segment values."""
    bases = _segment_totals(base_cube, ["wave", "question"], segments).rename(
        {"n": "base_n", "w": "base_w", "w2": "base_w2"}
    )
    counts = _segment_totals(count_cube, ["wave", "question", "answer"], segments).select(
        "wave", "question", "answer", "segment", "segment_value", "n", n_w="w"
    )
    return _from_totals(bases, counts, book=book, settings=settings, weighted=weighted, design=design)


def _segment_totals(
    frame: pl.LazyFrame, keys: list[str], segments: list[str], *, sums: list[str] | None = None
) -> pl.LazyFrame:
    """``frame``'s columns ``sums`` (default a cube's n, w, w2) summed per ``keys``, for everyone
    (segment "all") and per value of each segment (its ``seg_`` column)."""
    sums = sums or ["n", "w", "w2"]
    parts = [
        frame.group_by(*keys).agg(pl.col(sums).sum()).with_columns(segment=pl.lit("all"), segment_value=pl.lit("all"))
    ]
    for segment in segments:
        column = f"seg_{segment}"
        parts.append(
            frame.drop_nulls(column)
            .group_by(*keys, column)
            .agg(pl.col(sums).sum())
            .select(*keys, *sums, segment=pl.lit(segment), segment_value=pl.col(column))
        )
    return pl.concat(parts, how="vertical")


def _from_totals(
    bases: pl.LazyFrame,
    counts: pl.LazyFrame,
    *,
    book: Codebook,
    settings: CrosstabSettings,
    weighted: bool = False,
    design: pl.LazyFrame | None = None,
) -> pl.LazyFrame:
    """The crosstab from its bases and counts per wave, question, [answer], segment and value."""
    cells = (
        bases.join(answer_catalog(book), on="question")
        .join(counts, on=["wave", "question", "answer", "segment", "segment_value"], how="left")
        .with_columns(pl.col("n").fill_null(0), pl.col("n_w").fill_null(0.0))
    )
    return (
        cells.pipe(_with_test_design, book=book)
        .pipe(_with_statistics, settings=settings, weighted=weighted, design=design)
        .pipe(_ordered, book=book)
    )


def _with_test_design(cells: pl.LazyFrame, *, book: Codebook) -> pl.LazyFrame:
    """The cells with what the questionnaire says of their test: ``design_reason`` (own or
    derived segment) and ``is_repeated`` (the cross is a row of an earlier question)."""
    return cells.join(segment_reasons(book), on=["question", "segment"], how="left").join(
        repeated_pairs(book), on=["question", "answer", "segment", "segment_value"], how="left"
    )


def _people(
    responses: pl.LazyFrame, *, segments: list[str], weighted: bool, keep: list, screened: bool = True
) -> pl.LazyFrame:
    """Responses that enter bases (``screened``: the excluded ones left out): their
    segment values as text, weight, and ``keep``."""
    if screened:
        responses = responses.filter(~pl.col("is_excluded"))
    return responses.select(
        *keep,
        *[pl.col(s).cast(pl.Utf8).alias(f"seg_{s}") for s in segments if s != "source_tool"],
        pl.col("source_tool").alias("seg_source_tool"),
        w=pl.col("weight").cast(pl.Float64) if weighted else pl.lit(None, pl.Float64),
    )


def _wide_of(book: Codebook, *, segments: list[str], weighted: bool, split_excluded: bool):
    """How a set of responses is summed per combination of segment values, one column per cell of
    the crosstab (``_wide`` with the questionnaire's cells): a function of the responses."""
    cells, masks = _answer_cells(book)
    codes = [q.code for q in book.closed]

    def wide_of(rows: pl.LazyFrame) -> pl.LazyFrame:
        return _wide(
            rows,
            cells=cells,
            masks=masks,
            codes=codes,
            segments=segments,
            weighted=weighted,
            split_excluded=split_excluded,
        )

    return wide_of


def _cubes_from_responses(
    responses: pl.LazyFrame,
    *,
    book: Codebook,
    segments: list[str],
    weighted: bool,
    split_excluded: bool = False,
    collect: bool = False,
    slices: tuple[int, int] | None = None,
) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """(bases, counts) per wave, question, [answer] and combination of segment values,
    from the responses' answer columns; ``slices`` (rows, rows per slice): summed a slice at a time.
    """
    seg_cols = [f"seg_{s}" for s in segments] + (["is_excluded"] if split_excluded else [])
    cells, _ = _answer_cells(book)
    wide_of = _wide_of(book, segments=segments, weighted=weighted, split_excluded=split_excluded)
    if slices is None:
        wide = wide_of(responses)
    else:  # the sums of each slice's combinations, added up per combination
        rows, per_slice = slices
        parts = [wide_of(responses.slice(start, per_slice)).collect() for start in range(0, max(rows, 1), per_slice)]
        sums = [column for column in parts[0].columns if ":" in column]
        wide = (
            pl.concat(parts)
            .group_by("wave", *seg_cols)
            .agg(pl.col(sums).sum())
            .cast({column: parts[0].schema[column] for column in sums})
            .with_row_index("_combo")
            .lazy()
        )
    cube = _long_cube(wide, cells=cells, seg_cols=seg_cols, weighted=weighted)
    if split_excluded or collect:  # read by two tables or the design: the pass over the responses is made once, here
        cube = cube.collect().lazy()
    return _split_cube(cube, seg_cols)


def _split_cube(cube: pl.LazyFrame, seg_cols: list[str]) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """(bases, counts): the cube's rows of a question's base, and of its answers."""
    base_cube = cube.filter(pl.col("answer").is_null()).select("wave", "question", *seg_cols, "n", "w", "w2")
    count_cube = cube.filter(pl.col("answer").is_not_null()).select(
        "wave", "question", "answer", *seg_cols, "n", "w", "w2"
    )
    return base_cube, count_cube


def _wide(
    responses: pl.LazyFrame,
    *,
    cells: list[tuple[str, str | None, pl.Expr]],
    masks: list[pl.Expr],
    codes: list[str],
    segments: list[str],
    weighted: bool,
    split_excluded: bool,
) -> pl.LazyFrame:
    """One row per combination of wave and segment values: per cell (a question's base, an
    option, a NET; ``_answer_cells``) ``n:<i>`` (and ``w:<i>``, ``w2:<i>``: sums of weights
    and their squares).

    Each response gets the id of its combination of wave and segment values (the row
    number of the combination's first response); one pass over the responses then sums,
    per combination, every question's "answered", each option and each NET (a NET counts
    a response once), and the few thousand combinations get their values back at the end.
    """
    # With ``split_excluded``, every response is summed and exclusion is one more key of
    # the combinations (the cubes then carry ``is_excluded``).
    seg_cols = [f"seg_{s}" for s in segments] + (["is_excluded"] if split_excluded else [])
    keep = ["wave", *[pl.col(c) for c in codes]] + (["is_excluded"] if split_excluded else [])
    people = (
        _people(responses, segments=segments, weighted=weighted, keep=keep, screened=not split_excluded)
        .with_row_index("_combo")
        .with_columns(pl.col("_combo").min().over("wave", *seg_cols))
    )
    # Conditions are evaluated on whole columns first: list operations inside a group are slow.
    flags = people.with_columns(masks).select(
        "_combo", "wave", *seg_cols, "w", *[condition.alias(f"c:{i}") for i, (_, _, condition) in enumerate(cells)]
    )
    sums = {"n": lambda who: who.sum()}  # a null condition (no answer) counts no one
    if weighted:
        sums |= {"w": lambda who: pl.col("w").filter(who).sum(), "w2": lambda who: (pl.col("w") ** 2).filter(who).sum()}
    return flags.group_by("_combo").agg(
        pl.col("wave", *seg_cols).first(),
        *[total(pl.col(f"c:{i}")).alias(f"{name}:{i}") for name, total in sums.items() for i in range(len(cells))],
    )


def _cell_catalog(cells: list[tuple[str, str | None, pl.Expr]], *, prefix: str = "") -> pl.LazyFrame:
    """One row per cell of ``_answer_cells``: its name (``prefix`` and its position), question and
    answer (null for the question's base)."""
    return pl.LazyFrame(
        [(f"{prefix}{i}", question, answer) for i, (question, answer, _) in enumerate(cells)],
        schema={"cell": pl.Utf8, "question": pl.Utf8, "answer": pl.Utf8},
        orient="row",
    )


def _long_cube(
    wide: pl.LazyFrame, *, cells: list[tuple[str, str | None, pl.Expr]], seg_cols: list[str], weighted: bool
) -> pl.LazyFrame:
    """One row per combination and cell counted (``_wide``'s sums as rows): n, w, w2, question, answer."""
    catalog = _cell_catalog(cells)

    def long(name: str) -> pl.LazyFrame:
        """One row per combination and cell: the sum ``name``."""
        return (
            wide.unpivot(
                index=["_combo", "wave", *seg_cols], on=[f"{name}:{i}" for i in range(len(cells))], value_name=name
            )
            .with_columns(cell=pl.col("variable").str.strip_prefix(f"{name}:"))
            .drop("variable")
        )

    cube = long("n")
    if weighted:
        cube = cube.join(long("w").select("_combo", "cell", "w"), on=["_combo", "cell"]).join(
            long("w2").select("_combo", "cell", "w2"), on=["_combo", "cell"]
        )
    else:  # as the sums of null weights: zero
        cube = cube.with_columns(w=pl.lit(0.0), w2=pl.lit(0.0))
    return cube.filter(pl.col("n") > 0).join(catalog, on="cell")


def _answer_cells(book: Codebook) -> tuple[list[tuple[str, str | None, pl.Expr]], list[pl.Expr]]:
    """(cells, masks): per closed question, its base, each option and each NET as
    (question, answer or None for its base, who counts); ``masks`` are the columns those
    conditions read (a multi-select's options as the bits of one integer)."""
    cells: list[tuple[str, str | None, pl.Expr]] = []  # (question, answer or None for its base, who counts)
    masks: list[pl.Expr] = []
    for question in book.closed:
        column = pl.col(question.code)
        if question.type == "multi" and len(question.options) < 63:
            # The options chosen as the bits of one integer: a test per option is then a bitwise and.
            # Their sum is their bitwise or: a list names each option once (`choices`' check
            # no_repeated_option fails a build whose lists repeat one), and the sum is native, not
            # an aggregation per list (1M responses, three questions: 0.30 -> 0.08 s of CPU).
            masks.append(
                column.cast(pl.List(question.dtype))
                .list.eval(pl.lit(2, pl.Int64).pow(pl.element().to_physical().cast(pl.Int64)))
                .list.sum()
                .alias(f"_mask_{question.code}")
            )
            chosen = pl.col(f"_mask_{question.code}")
            bit = {code: 2**position for position, code in enumerate(question.option_codes)}
            cells.append((question.code, None, column.list.len() > 0))
            cells += [(question.code, code, (chosen & bit[code]) > 0) for code in question.option_codes]
            chose_any = lambda members: (chosen & sum(bit[m] for m in members)) > 0  # noqa: B023,E731
        elif question.type == "multi":
            cells.append((question.code, None, column.list.len() > 0))
            cells += [(question.code, code, column.list.contains(code)) for code in question.option_codes]
            chose_any = lambda members: column.list.eval(pl.element().is_in(members)).list.any()  # noqa: B023,E731
        else:
            cells.append((question.code, None, column.is_not_null()))
            cells += [(question.code, code, column == code) for code in question.option_codes]
            chose_any = lambda members: column.is_in(members)  # noqa: B023,E731
        cells += [(question.code, name, chose_any(list(members))) for name, members in question.nets.items()]

    return cells, masks


def _with_statistics(
    cells: pl.LazyFrame, *, settings: CrosstabSettings, weighted: bool, design: pl.LazyFrame | None = None
) -> pl.LazyFrame:
    z = z_for_level(settings.confidence)
    total = ["wave", "question", "answer"]
    whole = pl.col("segment") == "all"
    total_n = pl.col("n").filter(whole).first().over(total)
    total_base = pl.col("base_n").filter(whole).first().over(total)
    low, high = wilson_interval("n", "base_n", z=z)
    with_p = cells.with_columns(
        pct=pl.when(pl.col("base_n") > 0).then(100.0 * pl.col("n") / pl.col("base_n")),
        ci_low=low,
        ci_high=high,
        p_value=pl.when(~whole).then(
            two_proportion_p_value(pl.col("n"), pl.col("base_n"), total_n - pl.col("n"), total_base - pl.col("base_n"))
        ),
        is_suppressed=is_suppressed(pl.col("base_n"), minimum=settings.minimum_base),
        is_low_base=is_low_base("base_n", minimum=settings.minimum_base, low=settings.low_base),
    )
    # Only hypotheses are tested: the others keep no p-value and say why (transforms.families).
    with_p = with_p.with_columns(not_tested_reason=not_tested_reason(minimum_base=settings.minimum_base)).with_columns(
        is_tested=pl.col("not_tested_reason").is_null(),
        p_value=pl.when(pl.col("not_tested_reason").is_null()).then(pl.col("p_value")),
    )
    if design is not None:  # weighted: the design-based test, of the same rows
        with_p = _with_design(with_p, design)
    family = family_columns(settings.family)
    adjusted = with_p.with_columns(
        p_adjusted=adjusted_p_value(pl.col("p_value"), method=settings.adjust if family else "none", over=family)
    )
    if weighted and design is None:
        effective = pl.col("base_w") ** 2 / pl.col("base_w2")
        # Sums of float weights can overshoot by a few ulps: a share of respondents is 0-100.
        weighted_pct = pl.when(pl.col("base_w") > 0).then((100.0 * pl.col("n_w") / pl.col("base_w")).clip(0.0, 100.0))
        adjusted = adjusted.with_columns(weighted_pct=weighted_pct, effective_base=effective)
        w_low, w_high = wilson_interval_from_pct(pl.col("weighted_pct"), pl.col("effective_base"), z=z)
        adjusted = adjusted.with_columns(weighted_ci_low=w_low, weighted_ci_high=w_high)
    elif not weighted:
        adjusted = adjusted.with_columns(
            [
                pl.lit(None, pl.Float64).alias(c)
                for c in ("weighted_pct", "weighted_ci_low", "weighted_ci_high", "effective_base")
            ]
        )
    return adjusted.with_columns(is_significant=(pl.col("p_adjusted") < settings.alpha).fill_null(False))


def _with_design(cells: pl.LazyFrame, design: pl.LazyFrame) -> pl.LazyFrame:
    """The weighted columns and the test of a segment value against the rest, design-based."""
    keys = ["wave", "question", "answer", "segment", "segment_value"]
    return cells.join(design, on=keys, how="left").with_columns(
        p_value=pl.when(pl.col("is_tested")).then(pl.col("design_p_value")),
        effective_base=pl.col("design_effective_base"),
    )


def _ordered(cells: pl.LazyFrame, *, book: Codebook) -> pl.LazyFrame:
    segment_order = {name: i for i, name in enumerate(["all", *book.segments, *EXTRA_SEGMENTS])}
    question_order = {q.code: i for i, q in enumerate(book.questions)}
    value_rows = [(q.code, o.code, o.position) for q in book.segment_questions for o in q.options] + [
        (d.code, group, i) for d in book.derived_segments for i, group in enumerate(d.groups, start=1)
    ]
    value_order = pl.LazyFrame(
        value_rows, schema={"segment": pl.Utf8, "segment_value": pl.Utf8, "value_order": pl.Int64}, orient="row"
    )
    return (
        cells.join(value_order, on=["segment", "segment_value"], how="left")
        .sort(
            "wave",
            pl.col("question").replace_strict(question_order),
            "answer_order",
            pl.col("segment").replace_strict(segment_order),
            pl.col("value_order").fill_null(0),
            "segment_value",
        )
        .select(
            "wave",
            "question",
            "answer",
            "answer_kind",
            "answer_order",
            "segment",
            "segment_value",
            pl.col("base_n").cast(pl.Int64),
            pl.col("n").cast(pl.Int64),
            "pct",
            "ci_low",
            "ci_high",
            "p_value",
            "p_adjusted",
            "is_significant",
            "is_tested",
            "not_tested_reason",
            "is_suppressed",
            "is_low_base",
            "weighted_pct",
            "weighted_ci_low",
            "weighted_ci_high",
            "effective_base",
        )
    )
