"""From an export's cells to the canonical response frame, in option codes.

Every layout ends here: cells (one per row and column) are matched, through the
columns the resolver recognised, to option codes. Labels in either language, codes and
1-based positions (numeric exports) are all accepted spellings; a multi-select joined
in one cell is split by matching the question's known labels (labels may themselves
contain the separator). A value that matches nothing is kept as it was written, so
that validation can quarantine it with the offending text.
"""

from __future__ import annotations

import polars as pl

from schemas.codebook import Codebook, Question
from transforms.headers import ResolvedColumn
from transforms.layouts import CHOSEN_WORDS, NOT_CHOSEN_WORDS

_TRUTHY = sorted(CHOSEN_WORDS)
_FALSY = sorted(NOT_CHOSEN_WORDS)
RESOLVED_SCHEMA = {"column": pl.Int32, "question": pl.Utf8, "option": pl.Utf8, "role": pl.Utf8}
#: The engine a slice's small plans (its combinations, their mapping) run on: Polars' default
#: (streaming) costs more to start than these plans take (up to four times the CPU, measured).
SMALL_PLANS = "in-memory"


def normalized_label(expr: pl.Expr) -> pl.Expr:
    """The expression twin of ``schemas.codebook.normalize_label``."""
    return (
        expr.str.normalize("NFKC")
        .str.replace_many(["\u2019", "\u2018", "\u201c", "\u201d", "\u00ab", "\u00bb"], ["'", "'", '"', '"', '"', '"'])
        .str.replace_all(r"\s+", " ")
        .str.strip_chars()
        .str.to_lowercase()
    )


def resolved_frame(resolved: list[ResolvedColumn]) -> pl.LazyFrame:
    """The resolver's decisions as a frame to join cells on."""
    rows = [(r.index, r.question, r.option, r.role) for r in resolved]
    return pl.LazyFrame(rows, schema=RESOLVED_SCHEMA, orient="row")


def _regex_escape(text: str) -> str:
    return "".join("\\" + char if char in r"\.+*?()|[]{}^$#&-~" else char for char in text)


def _label_pattern(question: Question, labels: pl.DataFrame) -> str:
    """Alternation of a question's spellings, longest first (leftmost-first regex semantics)."""
    spellings = labels.filter(pl.col("question") == question.code)["spelling"].to_list()
    words = sorted((s for s in spellings if not s.isdigit()), key=len, reverse=True)
    numbers = sorted((s for s in spellings if s.isdigit()), key=len, reverse=True)
    parts = [_regex_escape(word) for word in words] + [rf"\b{number}\b" for number in numbers]
    return "(?:" + "|".join(parts) + ")"


def _split_multi(tokens: pl.LazyFrame, book: Codebook, labels: pl.DataFrame) -> pl.LazyFrame:
    """Split joined multi-select cells into one token per known label plus the leftover text."""
    pieces = []
    for question in book.multi:
        pattern = _label_pattern(question, labels)
        part = tokens.filter(pl.col("question") == question.code).with_columns(
            matched=pl.col("norm").str.extract_all(pattern),
            # What is left once the known labels are cut out, in the respondent's own case.
            leftover=pl.col("value")
            .str.normalize("NFKC")
            .str.replace_all("(?i)" + pattern, "")
            .str.strip_chars(" ,;|\t\n"),
        )
        matched = part.select("source_row", "question", pl.col("matched").alias("token")).explode("token")
        leftover = part.filter(pl.col("leftover") != "").select("source_row", "question", token=pl.col("leftover"))
        pieces += [matched.drop_nulls("token"), leftover]
    return pl.concat(pieces, how="vertical") if pieces else tokens.select("source_row", "question", token="value")


def map_cells(
    cells: pl.LazyFrame,
    resolved: pl.LazyFrame,
    *,
    book: Codebook,
    other_in_place: bool,
    keep_part: bool = False,
) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """Cells to (answers, texts).

    answers: one row per source row, closed question and token: ``answer`` the option
    code (null where the token matches no option), ``raw`` the token as written,
    ``spelling_language`` where the spelling tells the language, ``is_implied`` where
    the answer is implied by a filled "Other" box rather than chosen in the cell.
    texts: one row per source row and free-text field (``comment``, ``<question>_other``);
    with ``keep_part``, one per text and where it came from (``part``: 0 a text column, 1 an
    "Other" box, 2 a split column, 3 a whole column), in order, not made unique.

    What a cell means depends on its column and its text alone, and a column holds few
    distinct texts (its options' labels): each distinct (column, value) is mapped once,
    and the cells take its meaning through a join, so the cost of matching labels does
    not grow with the number of responses.
    """
    joined = cells.join(resolved, on="column", how="inner")
    values = (
        joined.select("column", "question", "option", "role", "value")
        .unique(["column", "value"])
        .sort("column", "value")  # the ids must not depend on the order the plan meets the cells in
        .with_row_index("_value")
        .with_columns(pl.col("_value").cast(pl.Int64))
    )
    value_answers, value_texts = _map_values(values, book=book, other_in_place=other_in_place)
    occurrences = joined.join(values.select("column", "value", "_value"), on=["column", "value"], how="inner").select(
        "source_row", "column", "_value"
    )
    answers = occurrences.join(value_answers, on="_value", how="inner").select(
        "source_row", "question", "answer", "raw", "spelling_language", "is_implied"
    )
    # A field filled from several cells joins their texts in the order of the file's
    # columns, boxes after text columns, and texts left over by answers last.
    texts = occurrences.join(value_texts, on="_value", how="inner").sort("source_row", "part", "column")
    if keep_part:
        return answers, texts.select("source_row", "question", "text", "part")
    texts = texts.select("source_row", "question", "text").unique(
        ["source_row", "question", "text"], maintain_order=True
    )
    return answers, texts


def _map_values(values: pl.LazyFrame, *, book: Codebook, other_in_place: bool) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """One distinct (column, value) per ``_value`` to its answers and its texts.

    answers: one row per ``_value`` and token (see ``map_cells``). texts: one row per
    ``_value`` and free-text field it fills, ``part`` ordering the fields' sources.
    """
    labels = book.label_table()
    label_lf = labels.lazy()
    joined = values.rename({"_value": "source_row"}).with_columns(norm=normalized_label(pl.col("value")))
    other_codes = {q.code: q.other_option.code for q in book.closed if q.other_option is not None}
    split = _split_column_answers(joined, label_lf, other_codes=other_codes)
    whole_answers = _whole_column_answers(
        joined, book=book, labels=labels, other_codes=other_codes, other_in_place=other_in_place
    )

    # A filled "Other" box implies the option itself (Typeform leaves the question's own
    # column empty then); for a single choice, only where no other answer was given.
    boxes = joined.filter(pl.col("role") == "other_text")
    implied = boxes.select(
        "source_row",
        "question",
        answer=pl.col("option"),
        raw=pl.col("value"),
        spelling_language=pl.lit(None, pl.Utf8),
        other_text=pl.lit(None, pl.Utf8),
        is_implied=pl.lit(True),
    )
    explicit = pl.concat([split, whole_answers], how="vertical").with_columns(is_implied=pl.lit(False))
    answers = pl.concat([explicit, implied], how="vertical")

    texts = pl.concat(
        [
            joined.filter(pl.col("role") == "text").select(
                "source_row", "question", text=pl.col("value"), part=pl.lit(0)
            ),
            boxes.select("source_row", question=pl.col("question") + "_other", text=pl.col("value"), part=pl.lit(1)),
            *[
                chosen.filter(pl.col("other_text").is_not_null()).select(
                    "source_row", question=pl.col("question") + "_other", text=pl.col("other_text"), part=pl.lit(part)
                )
                for part, chosen in ((2, split), (3, whole_answers))
            ],
        ]
    )
    return answers.drop("other_text").rename({"source_row": "_value"}), texts.rename({"source_row": "_value"})


def _split_column_answers(joined: pl.LazyFrame, labels: pl.LazyFrame, *, other_codes: dict[str, str]) -> pl.LazyFrame:
    """Split columns: one per option; the cell says whether that option was chosen.

    One row per value of such a column that is not a "no" (see ``_map_values``'s answers,
    with ``other_text`` the text written in the "Other" option's own column)."""
    return (
        joined.filter((pl.col("role") == "answer") & pl.col("option").is_not_null() & ~pl.col("norm").is_in(_FALSY))
        .join(labels, left_on=["question", "norm"], right_on=["question", "spelling"], how="left")
        .with_columns(
            is_known=((pl.col("answer") == pl.col("option")) | pl.col("norm").is_in(_TRUTHY)).fill_null(False),
            is_other=(pl.col("option") == pl.col("question").replace_strict(other_codes, default=None)).fill_null(
                False
            ),
        )
        .select(
            "source_row",
            "question",
            answer=pl.when(pl.col("is_known") | pl.col("is_other")).then(pl.col("option")),
            raw=pl.col("value"),
            spelling_language=pl.when(pl.col("is_known")).then(pl.col("spelling_language")),
            other_text=pl.when(~pl.col("is_known") & pl.col("is_other")).then(pl.col("value")),
        )
    )


def _whole_column_answers(
    joined: pl.LazyFrame, *, book: Codebook, labels: pl.DataFrame, other_codes: dict[str, str], other_in_place: bool
) -> pl.LazyFrame:
    """Whole columns: the cell holds the answer (or a joined multi-select).

    One row per value and token; with ``other_in_place``, a token that matches no option
    of a question with an "Other" option is that option, its text ``other_text``."""
    multi_codes = [q.code for q in book.multi]
    whole = joined.filter((pl.col("role") == "answer") & pl.col("option").is_null())
    tokens = pl.concat(
        [
            whole.filter(~pl.col("question").is_in(multi_codes)).select("source_row", "question", token="value"),
            _split_multi(whole.filter(pl.col("question").is_in(multi_codes)), book, labels),
        ]
    )
    has_other = pl.col("question").is_in(list(other_codes))
    return (
        tokens.with_columns(norm=normalized_label(pl.col("token")))
        .join(labels.lazy(), left_on=["question", "norm"], right_on=["question", "spelling"], how="left")
        .with_columns(is_other=pl.col("answer").is_null() & has_other & pl.lit(other_in_place))
        .select(
            "source_row",
            "question",
            answer=pl.when(pl.col("is_other"))
            .then(pl.col("question").replace_strict(other_codes, default=None))
            .otherwise(pl.col("answer")),
            raw=pl.col("token"),
            spelling_language=pl.col("spelling_language"),
            other_text=pl.when(pl.col("is_other")).then(pl.col("token")),
        )
    )


def _per_question(answers: pl.LazyFrame, book: Codebook) -> pl.LazyFrame:
    """One row per source row and closed question: ``single`` (a single choice's value,
    several joined with " | ") and ``multi`` (a multi-select's list), from its answers."""
    value = pl.coalesce(pl.col("answer"), pl.col("raw"))
    positions = pl.LazyFrame(
        [(q.code, o.code, o.position) for q in book.closed for o in q.options],
        schema={"question": pl.Utf8, "answer": pl.Utf8, "position": pl.Int32},
        orient="row",
    )
    chosen = pl.when(pl.col("explicit").list.len() > 0).then(pl.col("explicit")).otherwise(pl.col("values"))
    return (
        answers.join(positions, on=["question", "answer"], how="left")
        .sort("source_row", "question", pl.col("position").fill_null(1_000_000), "raw")
        .group_by("source_row", "question", maintain_order=True)
        .agg(
            values=value.unique(maintain_order=True),
            explicit=value.filter(~pl.col("is_implied")).unique(maintain_order=True),
        )
        .select("source_row", "question", single=chosen.list.join(" | "), multi="values")
    )


def _text_fields(book: Codebook) -> list[str]:
    return [q.code for q in book.text] + [f"{q.code}_other" for q in book.closed if q.other_option is not None]


def _language_votes(answers: pl.LazyFrame) -> pl.LazyFrame:
    """How many of a source row's answers are spelled in each language (rows: source row, language)."""
    return answers.drop_nulls("spelling_language").group_by("source_row", "spelling_language").len()


def _finish(frame: pl.LazyFrame, *, book: Codebook, header_language: str | None, ordered: bool = False) -> pl.LazyFrame:
    """``ordered``: the rows are already in source row order (no sorted copy of every column)."""
    multi_codes = [q.code for q in book.multi]
    finished = frame.with_columns(
        language=pl.coalesce(pl.col("answer_language"), pl.col("language"), pl.lit(header_language, pl.Utf8)),
        **{code: pl.col(code).fill_null(pl.lit([], pl.List(pl.Utf8))) for code in multi_codes},
    ).drop("answer_language")
    return finished if ordered else finished.sort("source_row")


def compact_wide(wide: pl.LazyFrame | pl.DataFrame, resolved: list[ResolvedColumn], *, book: Codebook) -> pl.DataFrame:
    """``wide`` materialised, closed questions' answer columns as categories: their few
    distinct texts are then hashed once, and the combinations found and joined on
    integers. Much smaller than the raw cells it comes from (which can go once it is
    built); ``canonical_from_wide`` takes it as it is."""
    closed = {q.code for q in book.closed}
    casts = [pl.col(str(c.index)).cast(pl.Categorical) for c in resolved if c.question in closed and c.role == "answer"]
    return wide.lazy().with_columns(casts).collect()


def canonical_from_wide(
    meta: pl.LazyFrame,
    wide: pl.LazyFrame | pl.DataFrame,
    resolved: list[ResolvedColumn],
    *,
    book: Codebook,
    other_in_place: bool,
    header_language: str | None,
) -> pl.LazyFrame:
    """One row per source row: the tool's metadata, the language, and every question's answer.

    Single-choice questions hold (as a category) the option code, or the text as written where it is
    not a valid option (several different answers are joined with " | "); multi-select
    questions hold the list of option codes and unmatched texts; free-text fields hold
    the text. Language: the one the answer labels are written in, else the tool's, else
    the header's.

    A closed question's answer depends on the cells of its own columns alone, and on a
    filled "Other" box only as being filled (the box's text goes to ``<question>_other``
    as it is). So each distinct combination of a question's columns (boxes: filled or
    not) is mapped once, by ``map_cells``, and the responses take the result through one
    hash join per question: what grows with the responses is those joins, not a sort of
    every cell. A response's language sums the votes of its questions' combinations.
    """
    data = compact_wide(wide, resolved, book=book)
    by_question: dict[str, list[ResolvedColumn]] = {}
    for column in sorted(resolved, key=lambda r: r.index):
        by_question.setdefault(column.question, []).append(column)
    languages = sorted(set(book.label_table()["spelling_language"].drop_nulls().to_list()))
    combos, cells = _combinations(data, by_question, book=book)
    per_key = _mapped_combinations(
        cells,
        resolved,
        count=sum(found.height for found in combos.values()),
        languages=languages,
        book=book,
        other_in_place=other_in_place,
    )
    parts = [_answer_columns(data, combos, by_question, per_key, languages=languages, book=book)]
    parts.append(_text_columns(data, by_question, book=book))
    answered = (
        pl.concat([part for part in parts if part.width], how="horizontal")
        .lazy()
        .select(
            "source_row",
            *[q.code for q in book.closed],
            *_text_fields(book),
            _most_voted_language(languages).alias("answer_language"),
        )
    )
    meta = meta.collect()
    if meta["source_row"].equals(data["source_row"]):  # the same rows in the same order (every layout)
        both = pl.concat([meta.lazy(), answered.drop("source_row")], how="horizontal")
        ordered = meta["source_row"].is_sorted()
    else:
        both, ordered = meta.lazy().join(answered, on="source_row", how="left"), False
    return _finish(both, book=book, header_language=header_language, ordered=ordered)


def _combinations(
    data: pl.DataFrame, by_question: dict[str, list[ResolvedColumn]], *, book: Codebook
) -> tuple[dict[str, pl.DataFrame], pl.DataFrame]:
    """Every closed question's distinct combinations of its columns, numbered across
    questions (``_key``), and those combinations as cells (``source_row`` the key)."""
    combos: dict[str, pl.DataFrame] = {}
    key_cells: list[pl.DataFrame] = []
    offset = 0
    asked = [question.code for question in book.closed if by_question.get(question.code)]
    distinct = pl.collect_all(  # one plan, every question
        [
            data.lazy()
            .select([_key_expr(c) for c in by_question[code]])
            .unique()
            .filter(pl.any_horizontal([_present(c) for c in by_question[code]]))
            for code in asked
        ],
        engine=SMALL_PLANS,
    )
    for code, combinations in zip(asked, distinct):
        columns = by_question[code]
        found = combinations.with_row_index("_key", offset=offset).with_columns(pl.col("_key").cast(pl.Int64))
        offset += found.height
        combos[code] = found
        values = [(pl.when(pl.col(_key_name(c))).then(pl.lit(_BOX)) if c.role == "other_text" else pl.col(_key_name(c)).cast(pl.Utf8))
                  .alias(str(c.index)) for c in columns]  # fmt: skip
        key_cells.append(
            found.select(pl.col("_key").alias("source_row"), *values)
            .unpivot(index="source_row", variable_name="column", value_name="value")
            .drop_nulls("value")
            .select("source_row", pl.col("column").cast(pl.Int32), "value")
        )
    return combos, pl.concat(key_cells) if key_cells else pl.DataFrame(schema=CELL_SCHEMA)


def _mapped_combinations(
    cells: pl.DataFrame,
    resolved: list[ResolvedColumn],
    *,
    count: int,
    languages: list[str],
    book: Codebook,
    other_in_place: bool,
) -> pl.DataFrame:
    """One row per combination (``source_row``, 0 to ``count`` - 1): its ``single`` and
    ``multi`` answer, its votes per language (``_<language>``), the texts its answers
    left over (``_texts``) and those joined (``_joined``)."""
    answers, texts = pl.collect_all(  # together: the values are mapped once for both
        map_cells(cells.lazy(), resolved_frame(resolved), book=book, other_in_place=other_in_place, keep_part=True),
        engine=SMALL_PLANS,
    )
    votes = _language_votes(answers.lazy()).collect(engine=SMALL_PLANS)
    per_key = (
        pl.LazyFrame({"source_row": pl.int_range(0, count, dtype=pl.Int64, eager=True)})
        .join(_per_question(answers.lazy(), book).drop("question"), on="source_row", how="left")
        .join(
            texts.lazy()
            .filter(pl.col("part") != 1)  # a box's text is the response's own, not the combination's
            .group_by("source_row", maintain_order=True)
            .agg(_texts=pl.col("text")),
            on="source_row",
            how="left",
        )
        .with_columns(
            *[
                pl.col("source_row")
                .replace_strict(*_vote_map(votes, lang), default=0, return_dtype=pl.UInt32)
                .alias(f"_{lang}")
                for lang in languages
            ],
            pl.col("_texts").fill_null(pl.lit([], pl.List(pl.Utf8))),
        )
        .collect(engine=SMALL_PLANS)
    )
    return per_key.with_columns(
        _joined=pl.col("_texts").list.unique(maintain_order=True).list.join(" ").replace("", None)
    )


def _answer_columns(
    data: pl.DataFrame,
    combos: dict[str, pl.DataFrame],
    by_question: dict[str, list[ResolvedColumn]],
    per_key: pl.DataFrame,
    *,
    languages: list[str],
    book: Codebook,
) -> pl.DataFrame:
    """Each response takes its combination's results, question by question (row order
    kept): ``source_row``, then each closed question's answer and "Other" text, and per
    language the votes of the response's answers (``_votes_<language>``).

    The combinations' results are taken by key (gathers, not joins) in one ``select``: a
    slice's few dozen columns are one call into Polars, not several per question."""
    # A single choice as a category: its few distinct values are checked and typed once each
    # (``schemas.canonical``, ``transforms.quarantine.typed_responses``), not once per response.
    per_key = per_key.with_columns(pl.col("single").cast(pl.Categorical))
    keys = [_combination_keys(data, found, by_question[code]).alias(f"_key_{code}") for code, found in combos.items()]

    def taken(column: str, code: str) -> pl.Expr:
        return pl.lit(per_key[column]).gather(pl.col(f"_key_{code}"))

    columns: list[pl.Expr] = []
    for question in book.closed:
        code, other = question.code, question.other_option is not None
        if code not in combos:
            empty = pl.lit(None, pl.Categorical) if question.type == "single" else pl.lit(None, pl.List(pl.Utf8))
            columns += [empty.alias(code)] + ([pl.lit(None, pl.Utf8).alias(f"{code}_other")] if other else [])
            continue
        columns.append(taken("single" if question.type == "single" else "multi", code).alias(code))
        # The field's texts: the boxes' own (file order), then what the answers left over (``_other_field``).
        columns += [taken("_joined", code).alias(f"_joined_{code}"), taken("_texts", code).alias(f"_texts_{code}")] if other else []  # fmt: skip
    zero = pl.lit(0, pl.UInt32)
    for lang in languages:  # summed over the questions (one column per language, not per question)
        votes = [taken(f"_{lang}", code).fill_null(0) for code in combos]
        columns.append((pl.sum_horizontal(votes) if votes else zero).cast(pl.UInt32).alias(f"_votes_{lang}"))
    answered = data.select("source_row").with_columns(keys).select("source_row", *columns)
    fields = [
        _other_field(data, answered, question.code, by_question[question.code]).alias(f"{question.code}_other")
        for question in book.closed
        if question.other_option is not None and question.code in combos
    ]
    return answered.with_columns(fields).drop([c for c in answered.columns if c.startswith(("_joined_", "_texts_"))])


def _other_field(data: pl.DataFrame, answered: pl.DataFrame, code: str, columns: list[ResolvedColumn]) -> pl.Series:
    """A closed question's "Other" text per row: the distinct texts of its boxes (file order),
    then those its answers left over (``answered``'s ``_texts_<code>`` and ``_joined_<code>``)."""
    boxes = [str(c.index) for c in columns if c.role == "other_text"]
    joined = pl.concat([data.select(boxes), answered.select(f"_texts_{code}", f"_joined_{code}")], how="horizontal")
    return _distinct_texts(joined, boxes, key_list=f"_texts_{code}", key_joined=f"_joined_{code}")


def _combination_keys(data: pl.DataFrame, found: pl.DataFrame, columns: list[ResolvedColumn]) -> pl.Series:
    """Per row of ``data``: the ``_key`` of its combination of ``columns`` among ``found``
    (``_combinations``), null where none of them is filled. A question of one answer column
    (most) is looked up value by value, the others joined on their columns."""
    on = [_key_name(c) for c in columns]
    if len(columns) == 1 and columns[0].role != "other_text":
        return _value_keys(data[on[0]], found[on[0]], found["_key"])
    keys = data.select([_key_expr(c) for c in columns])
    return keys.join(found.select(*on, "_key"), on=on, how="left", nulls_equal=True, maintain_order="left")["_key"]


#: A categorical column's keys are read from a table indexed by its category ids when they are
#: at most this many times its rows (ids are the process's, shared by every categorical column).
_KEY_TABLE_ROWS = 4


def _value_keys(values: pl.Series, found: pl.Series, keys: pl.Series) -> pl.Series:
    """Per value of ``values``: the key of that value among ``found`` (``keys``), null where
    it is not one of them. A categorical column (``compact_wide``) takes its keys from a table
    indexed by its category ids (a gather, not a lookup of each value by hash)."""
    if isinstance(values.dtype, pl.Categorical) and values.dtype == found.dtype and len(found):
        ids, wanted = values.to_physical(), found.to_physical()
        size = int(max(ids.max() or 0, wanted.max() or 0)) + 1
        if size <= _KEY_TABLE_ROWS * max(len(values), len(found)) and wanted.null_count() == 0:
            table = pl.repeat(None, size, dtype=pl.Int64, eager=True).scatter(wanted, keys.cast(pl.Int64))
            return table.gather(ids).alias(values.name)
    return values.replace_strict(found, keys, default=None, return_dtype=pl.Int64)


def _text_columns(data: pl.DataFrame, by_question: dict[str, list[ResolvedColumn]], *, book: Codebook) -> pl.DataFrame:
    """One column per free-text question: the distinct texts of its columns, in order."""
    texts_out: list[pl.Series] = []
    for field in (q.code for q in book.text):
        columns = [str(c.index) for c in by_question.get(field, []) if c.role == "text"]
        if columns:
            texts_out.append(_distinct_texts(data, columns).alias(field))
        else:
            texts_out.append(pl.repeat(None, data.height, dtype=pl.Utf8, eager=True).alias(field))
    return pl.DataFrame(texts_out) if texts_out else pl.DataFrame()


def _most_voted_language(languages: list[str]) -> pl.Expr:
    """The language with the most votes (``_votes_<language>``); a tie goes to the first
    alphabetically; null without votes."""
    counts = {lang: pl.col(f"_votes_{lang}") for lang in languages}
    best = pl.lit(None, pl.Utf8)
    for lang in reversed(languages):
        beats = [counts[lang] >= counts[other] for other in languages if other < lang]
        beats += [counts[lang] > counts[other] for other in languages if other > lang]
        best = pl.when(pl.all_horizontal([counts[lang] > 0, *beats])).then(pl.lit(lang)).otherwise(best)
    return best


def _distinct_texts(
    frame: pl.DataFrame, strings: list[str], *, key_list: str | None = None, key_joined: str | None = None
) -> pl.Series:
    """Per row: the distinct texts of the columns ``strings``, in order, then of the list
    column ``key_list`` (``key_joined``: that list's distinct texts joined), joined with
    spaces; null when there are none. Only rows with several sources pay for lists."""
    sources = [*strings, *([key_joined] if key_joined else [])]
    counted = frame.select(
        several=pl.sum_horizontal([pl.col(c).is_not_null() for c in sources]) > 1,
        simple=pl.coalesce(sources) if len(sources) > 1 else pl.col(sources[0]),
    )
    result = counted["simple"]
    rows = counted["several"].arg_true()
    if rows.len():
        merged = frame[rows].select(
            pl.concat_list([*strings, *([pl.col(key_list).fill_null(pl.lit([], pl.List(pl.Utf8)))] if key_list else [])])
            .list.drop_nulls().list.unique(maintain_order=True).list.join(" ")
        ).to_series()  # fmt: skip
        result = result.scatter(rows, merged)
    return result.replace("", None)


CELL_SCHEMA = {"source_row": pl.Int64, "column": pl.Int32, "value": pl.Utf8}


def _vote_map(votes: pl.DataFrame, language: str) -> tuple[list[int], list[int]]:
    mine = votes.filter(pl.col("spelling_language") == language)
    return mine["source_row"].to_list(), mine["len"].to_list()


#: What a filled "Other" box stands for in a combination's cells (its text is not used there).
_BOX = "\x00other box"


def _key_name(column: ResolvedColumn) -> str:
    return str(column.index) if column.role != "other_text" else f"_box{column.index}"


def _key_expr(column: ResolvedColumn) -> pl.Expr:
    """A column as part of a combination: its value, or for a box whether it is filled."""
    if column.role == "other_text":
        return pl.col(str(column.index)).is_not_null().alias(_key_name(column))
    return pl.col(str(column.index))


def _present(column: ResolvedColumn) -> pl.Expr:
    return pl.col(_key_name(column)) if column.role == "other_text" else pl.col(_key_name(column)).is_not_null()
