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

_TRUTHY = ["1", "true", "yes", "oui", "x", "selected", "checked", "coché"]
_FALSY = ["0", "false", "-99", "-98", "no", "non"]
RESOLVED_SCHEMA = {"column": pl.Int32, "question": pl.Utf8, "option": pl.Utf8, "role": pl.Utf8}


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
) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """Cells to (answers, texts).

    answers: one row per source row, closed question and token: ``answer`` the option
    code (null where the token matches no option), ``raw`` the token as written,
    ``spelling_language`` where the spelling tells the language, ``is_implied`` where
    the answer is implied by a filled "Other" box rather than chosen in the cell.
    texts: one row per source row and free-text field (``comment``, ``<question>_other``).

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
    texts = (
        occurrences.join(value_texts, on="_value", how="inner")
        .sort("source_row", "part", "column")
        .select("source_row", "question", "text")
        .unique(["source_row", "question", "text"], maintain_order=True)
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
    multi_codes = [q.code for q in book.multi]
    other_codes = {q.code: q.other_option.code for q in book.closed if q.other_option is not None}

    # Split columns: one per option; the cell says whether that option was chosen.
    split = (
        joined.filter((pl.col("role") == "answer") & pl.col("option").is_not_null() & ~pl.col("norm").is_in(_FALSY))
        .join(label_lf, left_on=["question", "norm"], right_on=["question", "spelling"], how="left")
        .with_columns(
            is_known=((pl.col("answer") == pl.col("option")) | pl.col("norm").is_in(_TRUTHY)).fill_null(False),
            is_other=(pl.col("option") == pl.col("question").replace_strict(other_codes, default=None)).fill_null(False),
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

    # Whole columns: the cell holds the answer (or a joined multi-select).
    whole = joined.filter((pl.col("role") == "answer") & pl.col("option").is_null())
    tokens = pl.concat(
        [
            whole.filter(~pl.col("question").is_in(multi_codes)).select("source_row", "question", token="value"),
            _split_multi(whole.filter(pl.col("question").is_in(multi_codes)), book, labels),
        ]
    )
    has_other = pl.col("question").is_in(list(other_codes))
    whole_answers = (
        tokens.with_columns(norm=normalized_label(pl.col("token")))
        .join(label_lf, left_on=["question", "norm"], right_on=["question", "spelling"], how="left")
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
            joined.filter(pl.col("role") == "text").select("source_row", "question", text=pl.col("value"), part=pl.lit(0)),
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


def canonical_responses(
    meta: pl.LazyFrame,
    answers: pl.LazyFrame,
    texts: pl.LazyFrame,
    *,
    book: Codebook,
    header_language: str | None,
) -> pl.LazyFrame:
    """One row per source row: the tool's metadata, the language, and every question's answer.

    Single-choice questions hold the option code, or the text as written where it is
    not a valid option (several different answers are joined with " | "); multi-select
    questions hold the list of option codes and unmatched texts; free-text fields hold
    the text. Language: the one the answer labels are written in, else the tool's, else
    the header's.
    """
    value = pl.coalesce(pl.col("answer"), pl.col("raw"))
    positions = pl.LazyFrame(
        [(q.code, o.code, o.position) for q in book.closed for o in q.options],
        schema={"question": pl.Utf8, "answer": pl.Utf8, "position": pl.Int32},
        orient="row",
    )
    per_question = (
        answers.join(positions, on=["question", "answer"], how="left")
        .sort("source_row", "question", pl.col("position").fill_null(1_000_000), "raw")
        .group_by("source_row", "question", maintain_order=True)
        .agg(
            values=value.unique(maintain_order=True),
            explicit=value.filter(~pl.col("is_implied")).unique(maintain_order=True),
        )
    )
    aggregations: list[pl.Expr] = []
    for question in book.closed:
        mine = pl.col("question") == question.code
        if question.type == "single":
            chosen = pl.when(pl.col("explicit").list.len() > 0).then(pl.col("explicit")).otherwise(pl.col("values"))
            aggregations.append(chosen.filter(mine).first().list.join(" | ").alias(question.code))
        else:
            aggregations.append(pl.col("values").filter(mine).first().alias(question.code))
    wide = per_question.group_by("source_row").agg(aggregations)

    text_fields = [q.code for q in book.text] + [f"{q.code}_other" for q in book.closed if q.other_option is not None]
    text_wide = texts.group_by("source_row").agg(
        [pl.col("text").filter(pl.col("question") == field).str.join(" ").alias(field) for field in text_fields]
    ).with_columns([pl.col(field).replace("", None) for field in text_fields])

    spoken = (
        answers.drop_nulls("spelling_language")
        .group_by("source_row", "spelling_language")
        .len()
        .sort(["source_row", "len", "spelling_language"], descending=[False, True, False])
        .group_by("source_row", maintain_order=True)
        .agg(answer_language=pl.col("spelling_language").first())
    )
    multi_codes = [q.code for q in book.multi]
    return (
        meta.join(wide, on="source_row", how="left")
        .join(text_wide, on="source_row", how="left")
        .join(spoken, on="source_row", how="left")
        .with_columns(
            language=pl.coalesce(pl.col("answer_language"), pl.col("language"), pl.lit(header_language, pl.Utf8)),
            **{code: pl.col(code).fill_null(pl.lit([], pl.List(pl.Utf8))) for code in multi_codes},
        )
        .drop("answer_language")
        .sort("source_row")
    )
