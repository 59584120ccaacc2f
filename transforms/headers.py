"""Matching an export's columns to the questionnaire, whatever tool wrote them.

Tools show a column's meaning in different places: Qualtrics writes
"Question - Option" or "Grid prompt - Statement" in one header cell, SurveyMonkey
puts the question in row 1 and the option or statement in row 2, Google Forms writes
"Prompt [Statement]", Typeform heads a multi-select's columns with the option labels
alone. Layouts hand over what the tool shows (``SourceColumn``); this module decides,
in either language, which question (and for split multi-selects which option) each
column holds.

Questions are matched on their wording, forgiving of what tools and people do to it
(:func:`header_key`): HTML tags and entities (SurveyMonkey's ``<br>``, ``<strong>``),
spacing, curly quotes, case, a question number in front (``Q3.``, ``3)``), a grid
item under any prompt (``<prompt> - <statement>`` where the prompt was reworded), a
question and its sub-label joined by a bare ``-`` (Qualtrics' 2017 and legacy exports:
``<question>-<option>``, ``<question>-TEXT``), and a long wording cut short with ``...``
(those exports keep 97 characters of it) when what is left starts one wording only. A file
whose columns are not this questionnaire's gets the closest wordings it has
(:func:`closest_questions`), for a person to see what was exported instead.
"""

from __future__ import annotations

import difflib
import html
import re
from dataclasses import dataclass

from schemas.codebook import Codebook, Question, normalize_label
from transforms.layouts import WHOLE_ANSWER, SourceColumn

#: Suffixes that mark the free-text box of an option ("Other (please specify) - Text").
_TEXT_SUFFIX = re.compile(r"\s*-\s*(text|texte)$")
#: A sub-label that is the text box alone: a text question's answer, or the box of a single
#: choice's "Other" option (Qualtrics 2017 ``QID2-TEXT``, legacy ``<question>-TEXT``).
_TEXT_BOX = {"text", "texte"}
#: The mark of a wording cut short, and how much of it must be left to recognise it.
_CUT = "..."
_CUT_KEPT = 40
#: Headers some tools give the free-text box that follows a multi-select's options.
_OTHER_WORDS = {"other", "autre", "other (please specify)", "autre (veuillez préciser)"}
#: Tags that break a line (a space where they stood); any other tag is removed.
_BREAK_TAG = re.compile(r"<\s*/?\s*(?:br|p|div|li|ul|ol|tr|td|h[1-6])\b[^<>]{0,200}>", re.IGNORECASE)
_TAG = re.compile(r"</?[A-Za-z][^<>]{0,200}>")
#: A question number in front of the wording: "Q3. ", "3) ", "Q12: ".
_NUMBERING = re.compile(r"^(?:q\s*)?\d{1,3}[a-z]?\s*[.):]\s+")


def header_key(text: str) -> str:
    """A header folded for matching: :func:`normalize_label` once HTML tags and entities
    and a leading question number are gone."""
    text = _TAG.sub("", _BREAK_TAG.sub(" ", text))
    return _NUMBERING.sub("", normalize_label(html.unescape(text)))


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
                key = header_key(text)
                known = self.question_text.get(key)
                self.question_text[key] = (question, None if known and known[1] != language else language)
        self.prompt: dict[str, str] = {
            header_key(text): grid for grid, texts in book.grids.items() for text in texts.values()
        }
        self.option_label: dict[str, dict[str, str]] = {
            q.code: {header_key(label): option.code for option in q.options for label in option.labels.values()}
            for q in book.closed
        }
        self.grids = set(book.grids)

    def option_of(self, question: Question, label: str) -> str | None:
        return self.option_label.get(question.code, {}).get(header_key(label))

    def question_of(self, key: str) -> tuple[Question, str | None] | None:
        """The question a header key words, whole or cut short (``...``)."""
        found = self.question_text.get(key)
        if found is not None:
            return found
        cut = _cut_matches(self.question_text, key)
        if len({question.code for question, _ in cut}) != 1:
            return None
        languages = {language for _, language in cut}
        return cut[0][0], languages.pop() if len(languages) == 1 else None

    def prompt_of(self, key: str) -> str | None:
        """The grid a header key is the prompt of, whole or cut short."""
        found = self.prompt.get(key)
        if found is not None:
            return found
        grids = set(_cut_matches(self.prompt, key))
        return grids.pop() if len(grids) == 1 else None


def _cut_matches(table: dict, key: str) -> list:
    """For a key cut short with ``...``, the entries whose key starts with what is left
    of it (none when too little is left to tell)."""
    if not key.endswith(_CUT):
        return []
    kept = key[: -len(_CUT)].rstrip()
    if len(kept) < _CUT_KEPT:
        return []
    return [value for wording, value in table.items() if wording.startswith(kept)]


def _pairs(column: SourceColumn) -> list[tuple[str, str | None]]:
    """Ways to read a column as (question part, sub-label part), most literal first."""
    if column.sub_label is not None:
        return [(column.header, column.sub_label)]
    # Tags come off first: one around the whole cell would hide a "[statement]" at its end.
    header = _TAG.sub("", _BREAK_TAG.sub(" ", column.header))
    pairs: list[tuple[str, str | None]] = [(header, None)]
    bracket = re.fullmatch(r"(.*\S)\s*\[(.+)\]\s*", header, flags=re.S)
    if bracket:
        pairs.append((bracket.group(1), bracket.group(2)))
    for match in re.finditer(r"\s+-\s+", header):
        pairs.append((header[: match.start()], header[match.end() :]))
    # A bare "-" (Qualtrics' 2017 and legacy exports), tried once the spaced ones failed.
    for match in re.finditer(r"\s*-\s*", header):
        pair = (header[: match.start()], header[match.end() :])
        if pair[0] and pair[1] and pair not in pairs:
            pairs.append(pair)
    # Alchemer: "<option>:<question>", "<row>:<grid title>" (the sub-label first).
    for match in re.finditer(r"\s*:\s*", header):
        pair = (header[match.end() :], header[: match.start()])
        if pair[0] and pair[1] and pair not in pairs:
            pairs.append(pair)
    # Microsoft Forms' Likert rows: "<question>.<statement>".
    for match in re.finditer(r"\.\s*", header):
        pair = (header[: match.start() + 1], header[match.end() :])
        if pair[0] and pair[1] and pair not in pairs:
            pairs.append(pair)
            pairs.append((header[: match.start()], header[match.end() :]))
    return pairs


#: A heading that is codes, as LimeSurvey's "Question code" headings: ``role``,
#: ``ai_uses[visuals]``, ``opinions[ai_useful]``, ``industry[other]``.
_CODE_HEADING = re.compile(r"([a-z][a-z0-9_]*)(?:\[([a-z0-9_]+)\])?")


def _resolve_code(column: SourceColumn, lookups: _Lookups) -> ResolvedColumn | None:
    """A column headed with the questionnaire's own codes, exactly (a survey built with them)."""
    match = _CODE_HEADING.fullmatch(column.header.strip()) if column.sub_label is None else None
    if match is None:
        return None
    first, second = match.groups()
    codes = {q.code: q for q in lookups.book.questions}
    if first in lookups.grids and second in codes and codes[second].grid == first:
        return ResolvedColumn(column.index, second, None, "answer", None)
    question = codes.get(first)
    if question is None:
        return None
    if second is None:
        return ResolvedColumn(column.index, first, None, "text" if question.type == "text" else "answer", None)
    option = next((o for o in question.options if o.code == second), None)
    if option is not None and option.other_text and question.type == "single":
        return ResolvedColumn(column.index, first, option.code, "other_text", None)
    if option is not None:
        return ResolvedColumn(column.index, first, option.code, "answer", None)
    if second == "other" and question.other_option is not None:
        return ResolvedColumn(column.index, first, question.other_option.code, "other_text", None)
    return None


def _resolve_one(column: SourceColumn, lookups: _Lookups) -> ResolvedColumn | None:
    by_code = _resolve_code(column, lookups)
    if by_code is not None:
        return by_code
    for left, right in _pairs(column):
        left_key = header_key(left)
        if right is None:
            found = lookups.question_of(left_key)
            if found:
                question, language = found
                role = "text" if question.type == "text" else "answer"
                return ResolvedColumn(column.index, question.code, None, role, language)
            continue
        right_key = header_key(right)
        grid = lookups.prompt_of(left_key)
        if grid is not None:
            found = lookups.question_text.get(right_key)
            if found and found[0].grid == grid:
                return ResolvedColumn(column.index, found[0].code, None, "answer", found[1])
            continue
        found = lookups.question_of(left_key)
        if not found:
            # A grid item under a prompt worded otherwise ("Opinions - <statement>").
            item = lookups.question_text.get(right_key)
            if item and item[0].grid is not None:
                return ResolvedColumn(column.index, item[0].code, None, "answer", item[1])
            continue
        question, language = found
        if right_key in WHOLE_ANSWER:
            role = "text" if question.type == "text" else "answer"
            return ResolvedColumn(column.index, question.code, None, role, language)
        if (
            right_key in _OTHER_WORDS
            and question.other_option is not None
            and lookups.option_of(question, right) is None
        ):
            # LimeSurvey's "<question> [Other]": the typed text of the question's "Other".
            return ResolvedColumn(column.index, question.code, question.other_option.code, "other_text", language)
        if right_key in _TEXT_BOX:
            if question.type == "text":
                return ResolvedColumn(column.index, question.code, None, "text", language)
            if question.other_option is not None:
                return ResolvedColumn(column.index, question.code, question.other_option.code, "other_text", language)
            continue
        text_entry = _TEXT_SUFFIX.search(right_key)
        option = lookups.option_of(question, _TEXT_SUFFIX.sub("", right_key))
        if option is not None:
            # A split column: one per option (multi-select, or an "expanded" single choice),
            # or the free-text box of an "Other (please specify)" option.
            is_other_box = bool(text_entry) and question.option(option).other_text
            return ResolvedColumn(
                column.index, question.code, option, "other_text" if is_other_box else "answer", language
            )
    return None


def resolve_columns(
    columns: tuple[SourceColumn, ...], *, book: Codebook
) -> tuple[list[ResolvedColumn], list[SourceColumn]]:
    """Match every column to a question; returns (resolved, not part of the questionnaire).

    Columns headed by an option label alone (Typeform) are read in file order: a run of
    option labels (side by side, a new run where a label repeats) belongs to the
    multi-select whose options they all are, wherever it stands; where the labels of a
    run fit several questions, the run continues the current question until one of its
    options repeats, else goes to the next such question in questionnaire order.
    """
    lookups = _Lookups(book)
    resolved: list[ResolvedColumn] = []
    ignored: list[SourceColumn] = []
    current: Question | None = None  # the question the previous column belonged to
    taken: set[str] = set()  # options already seen in the current run
    ordered = sorted(columns, key=lambda c: c.index)
    literal = [_resolve_one(column, lookups) for column in ordered]
    owners = _run_owners(ordered, literal, lookups)
    for column, result in zip(ordered, literal):
        if result is None and column.sub_label is None:
            result = _resolve_bare_label(column, lookups, current, taken, owners.get(column.index))
        if result is None:
            ignored.append(column)
            continue
        if current is None or result.question != current.code:
            current, taken = book.question(result.question), set()
        if result.option is not None:
            taken.add(result.option)
        resolved.append(result)
    return resolved, ignored


def _run_owners(ordered: list[SourceColumn], literal: list, lookups: _Lookups) -> dict[int, Question]:
    """Column index -> the one multi-select whose options hold every label of the column's
    run, where exactly one does. A run: option-label columns side by side, as long as some
    multi-select holds all their labels and none repeats (else the next run starts)."""
    owners: dict[int, Question] = {}
    run: list[tuple[int, str]] = []

    def fitting(labels: set[str]) -> list[Question]:
        return [q for q in lookups.book.multi if labels <= lookups.option_label[q.code].keys()]

    def close() -> None:
        owner = fitting({key for _, key in run})
        if run and len(owner) == 1:
            owners.update({index: owner[0] for index, _ in run})
        run.clear()

    for column, result in zip(ordered, literal):
        key = header_key(column.header)
        is_label = (
            result is None
            and column.sub_label is None
            and any(key in lookups.option_label[q.code] for q in lookups.book.multi)
        )
        labels = {k for _, k in run}
        if not is_label or (run and (column.index != run[-1][0] + 1 or key in labels or not fitting(labels | {key}))):
            close()
        if is_label:
            run.append((column.index, key))
    close()
    return owners


def _resolve_bare_label(
    column: SourceColumn, lookups: _Lookups, current: Question | None, taken: set[str], owner: Question | None = None
) -> ResolvedColumn | None:
    key = header_key(column.header)
    if key in _OTHER_WORDS and current is not None and current.other_option is not None:
        return ResolvedColumn(column.index, current.code, current.other_option.code, "other_text", None)
    if owner is not None:
        return ResolvedColumn(column.index, owner.code, lookups.option_of(owner, key), "answer", None)
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


def column_text(column: SourceColumn) -> str:
    """What a person reads as the column's header: ``question - sub-label`` where the tool
    splits them over two header cells, HTML removed."""
    text = column.header if column.sub_label is None else f"{column.header} - {column.sub_label}"
    return " ".join(html.unescape(_TAG.sub("", _BREAK_TAG.sub(" ", text))).split())


def questions_found(resolved: list[ResolvedColumn]) -> set[str]:
    """Question codes that at least one column of the file answers."""
    return {column.question for column in resolved}


def closest_questions(
    columns: tuple[SourceColumn, ...], *, book: Codebook, limit: int = 3
) -> list[tuple[str, str, float]]:
    """(the file's header, the questionnaire's closest wording, similarity 0-1), best first.

    One pair per distinct question text (SurveyMonkey repeats a question over its option
    columns, whose sub-labels are options, not wordings), compared with every question's
    wording in every language.
    """
    wordings = {header_key(text): text for q in book.questions for text in q.text.values()}
    pairs: dict[str, tuple[str, str, float]] = {}
    for column in columns:
        key = header_key(column.header)
        if not key or key in pairs:
            continue
        shown = column_text(SourceColumn(column.index, column.header))
        matcher = difflib.SequenceMatcher(autojunk=False)
        matcher.set_seq2(key)
        best: tuple[str, float] = ("", 0.0)
        for wording_key, wording in wordings.items():
            matcher.set_seq1(wording_key)
            if matcher.real_quick_ratio() > best[1] and matcher.quick_ratio() > best[1]:
                ratio = matcher.ratio()
                if ratio > best[1]:
                    best = (wording, ratio)
        pairs[key] = (shown, best[0], best[1])
    return sorted(pairs.values(), key=lambda pair: (-pair[2], pair[0]))[:limit]
