"""Matching an export's columns to the questionnaire, whatever tool wrote them.

Tools show a column's meaning in different places: Qualtrics writes
"Question - Option" or "Grid prompt - Statement" in one header cell, SurveyMonkey
puts the question in row 1 and the option or statement in row 2, Google Forms writes
"Prompt [Statement]", Typeform heads a multi-select's columns with the option labels
alone. Layouts hand over what the tool shows (``SourceColumn``); this module decides,
in either language, which question (and for split multi-selects which option) each
column holds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from schemas.codebook import Codebook, Question, normalize_label
from transforms.layouts import SourceColumn

#: Sub-labels that mean "the answer itself" rather than an option.
_WHOLE_ANSWER = {"selected choice", "choix sélectionné", "response", "réponse", "open-ended response", "réponse ouverte"}
#: Suffixes that mark the free-text box of an option ("Other (please specify) - Text").
_TEXT_SUFFIX = re.compile(r"\s*-\s*(text|texte)$")
#: Headers some tools give the free-text box that follows a multi-select's options.
_OTHER_WORDS = {"other", "autre", "other (please specify)", "autre (veuillez préciser)"}


@dataclass(frozen=True)
class ResolvedColumn:
    index: int
    question: str
    option: str | None  # the option a split multi-select column stands for
    role: str  # "answer" | "other_text" | "text"
    language: str | None  # language the header is written in, where it tells


class _Lookups:
    def __init__(self, book: Codebook) -> None:
        self.book = book
        self.position = {q.code: i for i, q in enumerate(book.questions)}
        self.question_text: dict[str, tuple[Question, str | None]] = {}
        for question in book.questions:
            for language, text in question.text.items():
                key = normalize_label(text)
                known = self.question_text.get(key)
                self.question_text[key] = (question, None if known and known[1] != language else language)
        self.prompt: dict[str, str] = {
            normalize_label(text): grid for grid, texts in book.grids.items() for text in texts.values()
        }
        self.option_label: dict[str, dict[str, str]] = {
            q.code: {normalize_label(label): option.code for option in q.options for label in option.labels.values()}
            for q in book.closed
        }

    def option_of(self, question: Question, label: str) -> str | None:
        return self.option_label.get(question.code, {}).get(normalize_label(label))


def _pairs(column: SourceColumn) -> list[tuple[str, str | None]]:
    """Ways to read a column as (question part, sub-label part), most literal first."""
    if column.sub_label is not None:
        return [(column.header, column.sub_label)]
    header = column.header
    pairs: list[tuple[str, str | None]] = [(header, None)]
    bracket = re.fullmatch(r"(.*\S)\s*\[(.+)\]\s*", header, flags=re.S)
    if bracket:
        pairs.append((bracket.group(1), bracket.group(2)))
    for match in re.finditer(r"\s+-\s+", header):
        pairs.append((header[: match.start()], header[match.end() :]))
    return pairs


def _resolve_one(column: SourceColumn, lookups: _Lookups) -> ResolvedColumn | None:
    for left, right in _pairs(column):
        left_key = normalize_label(left)
        if right is None:
            found = lookups.question_text.get(left_key)
            if found:
                question, language = found
                role = "text" if question.type == "text" else "answer"
                return ResolvedColumn(column.index, question.code, None, role, language)
            continue
        right_key = normalize_label(right)
        grid = lookups.prompt.get(left_key)
        if grid is not None:
            found = lookups.question_text.get(right_key)
            if found and found[0].grid == grid:
                return ResolvedColumn(column.index, found[0].code, None, "answer", found[1])
            continue
        found = lookups.question_text.get(left_key)
        if not found:
            continue
        question, language = found
        if right_key in _WHOLE_ANSWER:
            role = "text" if question.type == "text" else "answer"
            return ResolvedColumn(column.index, question.code, None, role, language)
        text_entry = _TEXT_SUFFIX.search(right_key)
        option = lookups.option_of(question, _TEXT_SUFFIX.sub("", right_key))
        if option is not None:
            # A split column: one per option (multi-select, or an "expanded" single choice),
            # or the free-text box of an "Other (please specify)" option.
            is_other_box = bool(text_entry) and question.option(option).other_text
            return ResolvedColumn(column.index, question.code, option, "other_text" if is_other_box else "answer", language)
    return None


def resolve_columns(
    columns: tuple[SourceColumn, ...], *, book: Codebook
) -> tuple[list[ResolvedColumn], list[SourceColumn]]:
    """Match every column to a question; returns (resolved, not part of the questionnaire).

    Columns headed by an option label alone (Typeform) are read in file order: a run of
    option labels belongs to the multi-select whose options they are; where two
    questions share labels, the run continues the current question until one of its
    options repeats, else goes to the next such question in questionnaire order.
    """
    lookups = _Lookups(book)
    resolved: list[ResolvedColumn] = []
    ignored: list[SourceColumn] = []
    current: Question | None = None  # the question the previous column belonged to
    taken: set[str] = set()  # options already seen in the current run
    for column in sorted(columns, key=lambda c: c.index):
        result = _resolve_one(column, lookups)
        if result is None and column.sub_label is None:
            result = _resolve_bare_label(column, lookups, current, taken)
        if result is None:
            ignored.append(column)
            continue
        if current is None or result.question != current.code:
            current, taken = book.question(result.question), set()
        if result.option is not None:
            taken.add(result.option)
        resolved.append(result)
    return resolved, ignored


def _resolve_bare_label(
    column: SourceColumn, lookups: _Lookups, current: Question | None, taken: set[str]
) -> ResolvedColumn | None:
    key = normalize_label(column.header)
    if key in _OTHER_WORDS and current is not None and current.other_option is not None:
        return ResolvedColumn(column.index, current.code, current.other_option.code, "other_text", None)
    candidates = [q for q in lookups.book.multi if key in lookups.option_label[q.code]]
    if not candidates:
        return None
    if current is not None and current in candidates and lookups.option_of(current, key) not in taken:
        chosen = current
    else:
        after = lookups.position[current.code] if current is not None else -1
        later = [q for q in candidates if lookups.position[q.code] > after]
        chosen = later[0] if later else candidates[0]
    return ResolvedColumn(column.index, chosen.code, lookups.option_of(chosen, key), "answer", None)
