"""Reference implementations the tests hold the product against; no product code calls them.

``plain_canonical_rows``: the canonical responses read from the cells in plain Python,
one cell at a time, each label looked up in a dictionary built from the questionnaire
(labels in both languages, codes, 1-based positions, folded by
``schemas.codebook.normalize_label``); it shares no code with ``transforms.mapping``.

``crosstab_from_answers``: the crosstab counted from the long answers table (a join on
the response key), where ``build_crosstab`` reads the responses' answer columns.
``canonical_responses``: the canonical frame from ``map_cells``'s answers and texts (one
row per cell), where ``canonical_from_wide`` maps each distinct combination once.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field

import polars as pl

from schemas.codebook import Codebook, normalize_label
from transforms.crosstab import EXTRA_SEGMENTS, KEY, CrosstabSettings, _from_cubes, _people
from transforms.headers import ResolvedColumn
from transforms.mapping import _finish, _language_votes, _per_question, _text_fields


def crosstab_from_answers(
    responses: pl.LazyFrame,
    answers: pl.LazyFrame,
    *,
    book: Codebook,
    settings: CrosstabSettings,
    weighted: bool = False,
) -> pl.LazyFrame:
    """``build_crosstab(responses)``, counted from ``answers`` (the answers table of these responses)."""
    segments = [*book.segments, *EXTRA_SEGMENTS]
    base_cube, count_cube = _cubes_from_answers(responses, answers, book=book, segments=segments, weighted=weighted)
    return _from_cubes(base_cube, count_cube, book=book, settings=settings, segments=segments, weighted=weighted)


def with_nets(answers: pl.LazyFrame, *, book: Codebook) -> pl.LazyFrame:
    """Answers plus one row per response and NET it belongs to (counted once)."""
    rows = [
        (question.code, member, name)
        for question in book.closed
        for name, members in question.nets.items()
        for member in members
    ]
    members = pl.LazyFrame(rows, schema={"question": pl.Utf8, "answer": pl.Utf8, "net": pl.Utf8}, orient="row")
    nets = (
        answers.join(members, on=["question", "answer"], how="inner")
        .select(*KEY, "question", answer=pl.col("net"))
        .unique()
    )
    return pl.concat([answers.select(*KEY, "question", "answer"), nets], how="vertical")


_WEIGHT_SUMS = [pl.len().alias("n"), pl.col("w").sum().alias("w"), (pl.col("w") ** 2).sum().alias("w2")]


def _cubes_from_answers(
    responses: pl.LazyFrame, answers: pl.LazyFrame, *, book: Codebook, segments: list[str], weighted: bool
) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """(bases, counts) per wave, question, [answer] and combination of segment values."""
    seg_cols = [f"seg_{s}" for s in segments]
    base_people = _people(responses, segments=segments, weighted=weighted, keep=KEY)
    typed_answers = answers.select(*KEY, pl.col("question").cast(pl.Utf8), pl.col("answer").cast(pl.Utf8))
    answered = typed_answers.select(*KEY, "question").unique()
    base_cube = answered.join(base_people, on=KEY).group_by("wave", "question", *seg_cols).agg(_WEIGHT_SUMS)
    count_cube = (
        with_nets(typed_answers, book=book)
        .join(base_people, on=KEY)
        .group_by("wave", "question", "answer", *seg_cols)
        .agg(_WEIGHT_SUMS)
    )
    return base_cube, count_cube


def _most_voted(votes: pl.LazyFrame) -> pl.LazyFrame:
    """The language most of a row's spelled answers are in (ties: the first alphabetically)."""
    return (
        votes.sort(["source_row", "len", "spelling_language"], descending=[False, True, False])
        .group_by("source_row", maintain_order=True)
        .agg(answer_language=pl.col("spelling_language").first())
    )


def canonical_responses(
    meta: pl.LazyFrame,
    answers: pl.LazyFrame,
    texts: pl.LazyFrame,
    *,
    book: Codebook,
    header_language: str | None,
) -> pl.LazyFrame:
    """The frame of ``transforms.mapping.canonical_from_wide``, from ``map_cells``'s
    answers and texts (one row per cell)."""
    per_question = _per_question(answers, book)
    aggregations: list[pl.Expr] = []
    for question in book.closed:
        mine = pl.col("question") == question.code
        column = "single" if question.type == "single" else "multi"
        aggregations.append(pl.col(column).filter(mine).first().alias(question.code))
    wide = per_question.group_by("source_row").agg(aggregations)

    text_fields = _text_fields(book)
    text_wide = (
        texts.group_by("source_row")
        .agg([pl.col("text").filter(pl.col("question") == field).str.join(" ").alias(field) for field in text_fields])
        .with_columns([pl.col(field).replace("", None) for field in text_fields])
    )

    spoken = _most_voted(_language_votes(answers))
    return _finish(meta.join(wide, on="source_row", how="left").join(text_wide, on="source_row", how="left")
                   .join(spoken, on="source_row", how="left"), book=book, header_language=header_language
                   ).with_columns(pl.col(q.code).cast(pl.Categorical) for q in book.single)  # (singles are categories)  # fmt: skip


#: How a split column (one per option) says "chosen" and "not chosen" besides the option's label.
CHOSEN = {"1", "true", "yes", "oui", "x", "selected", "checked", "coché"}
NOT_CHOSEN = {"0", "false", "-99", "-98", "no", "non"}
UNKNOWN_POSITION = 1_000_000


@dataclass
class _Answer:
    code: str | None  # the option code, None where the text matches no option
    raw: str
    language: str | None
    is_implied: bool = False

    @property
    def value(self) -> str:
        return self.code if self.code is not None else self.raw


@dataclass
class _Row:
    answers: dict[str, list[_Answer]] = field(default_factory=dict)
    texts: dict[str, list[tuple[int, int, str]]] = field(default_factory=dict)  # field -> (part, column, text)


def _spellings(book: Codebook) -> dict[tuple[str, str], list[tuple[str, str | None]]]:
    """(question, folded spelling) -> [(option code, language or None)]."""
    languages: dict[tuple[str, str, str], set[str]] = {}
    for question in book.closed:
        for position, option in enumerate(question.options, start=1):
            for language in book.languages:
                key = (question.code, normalize_label(option.labels[language]), option.code)
                languages.setdefault(key, set()).add(language)
            for spelling in (normalize_label(option.code), str(position)):
                languages.setdefault((question.code, spelling, option.code), set())
    table: dict[tuple[str, str], list[tuple[str, str | None]]] = {}
    for (question, spelling, code), langs in languages.items():
        table.setdefault((question, spelling), []).append((code, langs.pop() if len(langs) == 1 else None))
    return table


def _is_word(char: str) -> bool:
    return char.isalnum() or char == "_"


def _label_spans(text: str, spellings: list[str]) -> list[tuple[int, int]]:
    """Where known spellings stand in ``text``, scanning left to right: at each place the
    longest label that starts there, else a number standing alone."""
    words = sorted((s for s in spellings if not s.isdigit()), key=len, reverse=True)
    numbers = sorted((s for s in spellings if s.isdigit()), key=len, reverse=True)
    spans, i = [], 0
    while i < len(text):
        found = next((w for w in words if w and text.startswith(w, i)), None)
        if found is None:
            found = next(
                (
                    n
                    for n in numbers
                    if text.startswith(n, i)
                    and (i == 0 or not _is_word(text[i - 1]))
                    and (i + len(n) == len(text) or not _is_word(text[i + len(n)]))
                ),
                None,
            )
        if found is None:
            i += 1
            continue
        spans.append((i, i + len(found)))
        i += len(found)
    return spans


def split_joined(value: str, spellings: list[str]) -> list[str]:
    """A joined multi-select cell: its known labels (folded), then what is left of it."""
    folded = normalize_label(value)
    tokens = [folded[a:b] for a, b in _label_spans(folded, spellings)]
    written = unicodedata.normalize("NFKC", value)
    kept, start = [], 0
    for a, b in _label_spans(written.lower(), spellings):
        kept.append(written[start:a])
        start = b
    leftover = ("".join(kept) + written[start:]).strip(" ,;|\t\n")
    return tokens + ([leftover] if leftover else [])


def _read_cells(cells, resolved: list[ResolvedColumn], *, book: Codebook, other_in_place: bool) -> dict[int, _Row]:
    """source_row -> what its cells say, cell by cell."""
    spellings = _spellings(book)
    by_question = {q.code: q for q in book.questions}
    by_index = {column.index: column for column in resolved}
    rows: dict[int, _Row] = {}
    for source_row, index, value in cells:
        column = by_index.get(index)
        if column is None:
            continue
        row = rows.setdefault(source_row, _Row())
        question = by_question[column.question]
        other = question.other_option.code if question.other_option else None
        answers = row.answers.setdefault(question.code, [])
        if column.role == "text":
            row.texts.setdefault(question.code, []).append((0, index, value))
        elif column.role == "other_text":
            answers.append(_Answer(column.option, value, None, is_implied=True))
            row.texts.setdefault(f"{question.code}_other", []).append((1, index, value))
        elif column.option is not None:  # a split column: this option, chosen or not
            folded = normalize_label(value)
            if folded in NOT_CHOSEN:
                continue
            for code, language in spellings.get((question.code, folded), [(None, None)]):
                is_known = code == column.option or folded in CHOSEN
                is_other = column.option == other
                chosen = column.option if is_known or is_other else None
                answers.append(_Answer(chosen, value, language if is_known else None))
                if is_other and not is_known:
                    row.texts.setdefault(f"{question.code}_other", []).append((2, index, value))
        else:  # the cell holds the answer, or a multi-select's labels joined
            known = [s for (q, s) in spellings if q == question.code]
            tokens = split_joined(value, known) if question.type == "multi" else [value]
            for token in tokens:
                for code, language in spellings.get((question.code, normalize_label(token)), [(None, None)]):
                    if code is None and other is not None and other_in_place:
                        code = other
                        row.texts.setdefault(f"{question.code}_other", []).append((3, index, token))
                    answers.append(_Answer(code, token, language))
    return rows


def _distinct(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


def _expected(rows: dict[int, _Row], meta: list[dict], *, book: Codebook, header_language: str | None) -> list[dict]:
    """One dict per source row: every question's answer, every text field and the language."""
    positions = {(q.code, o.code): o.position for q in book.closed for o in q.options}
    fields = [q.code for q in book.text] + [f"{q.code}_other" for q in book.closed if q.other_option]
    expected = []
    for record in sorted(meta, key=lambda r: r["source_row"]):
        row = rows.get(record["source_row"], _Row())
        out: dict = {"source_row": record["source_row"]}
        votes: dict[str, int] = {}
        for question in book.closed:
            answers = sorted(
                row.answers.get(question.code, []),
                key=lambda a: (positions.get((question.code, a.code), UNKNOWN_POSITION), a.raw),  # noqa: B023
            )
            every = _distinct([a.value for a in answers])
            explicit = _distinct([a.value for a in answers if not a.is_implied])
            if question.type == "multi":
                out[question.code] = every
            else:
                out[question.code] = " | ".join(explicit or every) if answers else None
            for answer in answers:
                if answer.language is not None:
                    votes[answer.language] = votes.get(answer.language, 0) + 1
        for name in fields:
            texts = [text for _, _, text in sorted(row.texts.get(name, []), key=lambda t: t[:2])]
            out[name] = " ".join(_distinct(texts)) or None
        most = sorted(votes.items(), key=lambda item: (-item[1], item[0]))
        out["language"] = most[0][0] if most else (record["language"] or header_language)
        expected.append(out)
    return expected


def plain_canonical_rows(
    cells: pl.DataFrame,
    resolved: list[ResolvedColumn],
    meta: pl.DataFrame,
    *,
    book: Codebook,
    other_in_place: bool,
    header_language: str | None,
) -> list[dict]:
    """One dict per row of ``meta``, in source row order: ``source_row``, every closed
    question's answer (a single choice's text, a multi-select's list), every text field
    and the language."""
    rows = _read_cells(cells.iter_rows(), resolved, book=book, other_in_place=other_in_place)
    return _expected(rows, meta.to_dicts(), book=book, header_language=header_language)
