"""A questionnaire drafted from one export: what ``surveyhouse study init`` writes.

Handed what a layout made of the file (its answer columns with their headers, the
cells as the file has them, one row per response), it returns the questionnaire as a
dict in the format of ``questionnaire.yaml``, to be checked and edited by a person:

- Columns that share a question text (``Q - option``, ``Q [item]``, ``option:Q``,
  ``Q.item``, SurveyMonkey's two header rows) are one question: a multi-select where
  their cells only say "chosen" (the option's label, ``1``, ``Yes``, ``Y``, ``Oui``, ...),
  else a grid whose items are single-choice questions. A run of columns headed by the
  option a cell repeats (Typeform) is a multi-select with no wording in the file.
- A column alone is free text when it holds many distinct long values; a multi-select
  when its cells join several labels (``;`` after each, Microsoft Forms; ``, `` Google
  Forms; ``,`` Qualtrics, not between digits); else a single choice. Options are the
  labels in the order first seen; numbers alone (numeric exports without labels) are
  options ``1`` to the largest, so that a number is its option's position.
- A free-text box (``... - Text``, ``[Other]``, a column headed ``Other`` after a
  question) marks its question's "Other" option ``other_text`` (adding one if needed).
- Personal data (a column headed email, name, phone or IP address, or whose cells are
  mostly email addresses) is never copied: its header is listed in ``left_out``.
- Codes are slugs of the wordings and labels: ASCII, lower_snake, unique, starting with
  a letter, never a column name of the warehouse's own.

Nothing here reads a file or a clock: the command line reads the export and writes the
folder.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field

import polars as pl

from schemas.names import RESERVED_CODES
from transforms.headers import column_text, header_key
from transforms.layouts import CHOSEN_WORDS, NOT_CHOSEN_WORDS, WHOLE_ANSWER, SourceColumn
from transforms.privacy import masked_texts

#: Cells that mean "this option was chosen" / "not chosen" in a split multi-select column.
#: (the draft reads raw cells: also LimeSurvey's answer codes Y and N, and its "convert N to" 2)
CHOSEN = CHOSEN_WORDS | {"y"}
NOT_CHOSEN = NOT_CHOSEN_WORDS | {"n", "2"}
OTHER_WORDS = {"other", "autre", "sonstiges", "andere", "otro", "otra", "altro", "outro"}
_BOX = re.compile(r"(?:^|\s*-\s*)(text|texte)$")
_PERSONAL_HEADER = re.compile(
    r"^(?:your\s+|votre\s+)?(e-?mail(\s+address)?|adresse\s+(e-?mail|de\s+messagerie)|(first\s+|last\s+|full\s+)?name"
    r"|nom|prénom|phone(\s+number)?|téléphone|ip(\s+address)?|adresse\s+ip)\s*[?:]?$"
)
_EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
#: Words frequent in questionnaires, by language, to tell the export's language.
_STOPWORDS = {
    "en": "the you your what how do does is are of and to in for with which would please",
    "fr": "le la les vous votre vos quel quelle est des et pour dans avec que qui une",
    "de": "der die das sie ihr ihre was wie ist sind und für mit welche bitte ein eine",
    "es": "el la los las usted su qué cómo es son y para con en una por",
    "it": "il lo la gli le lei suo che come è sono e per con una della",
    "pt": "o a os as você seu sua que como é são e para com uma em",
    "nl": "de het u uw wat hoe is zijn en voor met welke een van",
}
_DEFAULT_LANGUAGE = "en"
#: Wordings that ask for several answers.
_ASKS_FOR_SEVERAL = re.compile(
    r"all that apply|select all|check all|several answers|plusieurs réponses|toutes les réponses|mehrere antworten"
    r"|mehrfachnennung|varias respuestas|todas las que"
)
#: The largest number read as an option's position; larger ones were typed (ages, amounts).
MAX_SCALE = 50
#: More distinct answers than this in a column: typed, not picked from a list.
MAX_OPTIONS = 60
#: In front of a wording copied into a language it is not written in.
TO_TRANSLATE = "[to translate] "


@dataclass
class _Question:
    text: str
    type: str
    options: list[str] = field(default_factory=list)
    other: str | None = None  # the label of the option whose text is typed in a box
    grid: str | None = None
    grid_text: str | None = None


@dataclass(frozen=True)
class _Values:
    """What a column holds: its distinct non-empty values in order seen, how many cells
    hold each (folded with ``header_key``), how many cells, their mean length."""

    distinct: list[str]
    counts: dict[str, int]
    count: int
    mean_length: float

    def share(self, keys: set[str]) -> float:
        """The share of the cells whose folded value is one of ``keys``."""
        return sum(n for key, n in self.counts.items() if key in keys) / self.count if self.count else 0.0


def _values(wide: pl.DataFrame, column: SourceColumn) -> _Values:
    cells = wide.get_column(str(column.index)).cast(pl.Utf8).str.strip_chars().replace("", None).drop_nulls()
    distinct = cells.unique(maintain_order=True).to_list()
    counts: dict[str, int] = {}
    for value, n in cells.value_counts().iter_rows():
        counts[header_key(value)] = counts.get(header_key(value), 0) + n
    return _Values(distinct, counts, cells.len(), float(cells.str.len_chars().mean() or 0.0))


def slug(text: str, *, words: int = 6, limit: int = 40, prefix: str = "q") -> str:
    """``text`` as a code: ASCII, lower_snake, its first ``words`` words, at most ``limit``
    characters, starting with a letter (``prefix`` + ``_`` in front of a digit)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    parts = re.findall(r"[a-z0-9]+", ascii_text.lower())[:words]
    code = "_".join(parts)[:limit].strip("_") or prefix
    return f"{prefix}_{code}" if code[0].isdigit() else code


def _unique(code: str, taken: set[str]) -> str:
    candidate, n = code, 2
    while candidate in taken or candidate in RESERVED_CODES:
        candidate, n = f"{code}_{n}", n + 1
    taken.add(candidate)
    return candidate


#: Scripts written by one language mostly: a letter's Unicode name prefix -> the language.
_SCRIPTS = (
    ("HIRAGANA", "ja"), ("KATAKANA", "ja"), ("HANGUL", "ko"), ("CJK", "zh"), ("CYRILLIC", "ru"),
    ("ARABIC", "ar"), ("HEBREW", "he"), ("GREEK", "el"), ("THAI", "th"), ("DEVANAGARI", "hi"),
)  # fmt: skip


def _script_language(char: str) -> str | None:
    """The language a letter of a script other than Latin says (None for Latin and the rest)."""
    if not char.isalpha() or char.isascii():
        return None
    name = unicodedata.name(char, "")
    return next((language for prefix, language in _SCRIPTS if name.startswith(prefix)), None)


def _script_of(texts: list[str]) -> str | None:
    """The language of the texts' script, where a third of their letters are in one that one
    language writes (Chinese characters with a tenth of kana: Japanese); else None."""
    scripts = Counter(language for text in texts for char in text if (language := _script_language(char)))
    letters = sum(char.isalpha() for text in texts for char in text)
    if scripts["ja"] >= 0.1 * letters and scripts["ja"] + scripts["zh"] > letters / 3:
        return "ja"
    language, count = scripts.most_common(1)[0] if scripts else (None, 0)
    return language if count > letters / 3 else None


def export_language(texts: list[str], recorded: list[str | None] = ()) -> str:
    """The export's language: the one most respondents answered in where the tool records
    it (two-letter codes), else the language of its script where one language writes it
    (``_script_of``), else the one whose frequent words the texts use most."""
    codes = [code for code in recorded if code and re.fullmatch(r"[a-z]{2}", code)]
    if codes:
        return max(sorted(set(codes)), key=codes.count)
    by_script = _script_of(texts)
    if by_script:
        return by_script
    words = re.findall(r"[^\W\d_]+", " ".join(texts).lower())
    scores = {language: sum(word in set(listed.split()) for word in words) for language, listed in _STOPWORDS.items()}
    best = max(scores, key=lambda language: scores[language])
    return best if scores[best] else _DEFAULT_LANGUAGE


def _is_box(item: str) -> bool:
    key = header_key(item)
    return bool(_BOX.search(key)) or key in OTHER_WORDS or key.startswith(("other (", "autre ("))


def _box_option(item: str) -> str | None:
    """The option a text box belongs to (``Other (please specify) - Text`` -> its label)."""
    label = re.sub(r"\s*-\s*(text|texte)\s*$", "", item.strip(), flags=re.IGNORECASE).strip()
    return label if label and header_key(label) not in {"text", "texte"} else None


#: Where a header splits into question text and sub-label: ``Q - item`` (Qualtrics), ``Q:item``
#: read as ``item:Q`` (Alchemer), ``Q?.item`` (Microsoft Forms' Likert rows, after a question
#: mark or a stop: ``cong.state`` is a field name), a bare ``-`` that joins no
#: two letters (Qualtrics' 2017 and legacy ``Q?-item``).
_SPLITS = (r"\s+-\s+", r"\s*:\s*", r"(?<=[?.])\.(?=\S)", r"(?<![^\W\d_])-|-(?![^\W\d_])")


def _stems(column: SourceColumn) -> dict[str, tuple[str, str]]:
    """Question key -> (question text, sub-label) for every way the header splits."""
    if column.sub_label is not None:
        return {header_key(column.header): (column.header.strip(), column.sub_label.strip())}
    header = column_text(column)
    pairs: list[tuple[str, str]] = []
    bracket = re.fullmatch(r"(.*\S)\s*\[(.+)\]\s*", header, flags=re.S)
    if bracket:
        pairs.append((bracket.group(1), bracket.group(2)))
    for number, pattern in enumerate(_SPLITS):
        for match in re.finditer(pattern, header):
            left, right = header[: match.start()], header[match.end() :]
            pairs.append((right, left) if number == 1 else (left, right))
    return {header_key(left): (left.strip(), right.strip()) for left, right in pairs if left.strip() and right.strip()}


def group_columns(columns: tuple[SourceColumn, ...]) -> list[tuple[str | None, list[tuple[SourceColumn, str]]]]:
    """Adjacent columns sharing a question text: (that text, [(column, its sub-label)]);
    a column alone is (None, [(column, its whole header)])."""
    ordered = sorted(columns, key=lambda c: c.index)
    stems = [_stems(column) for column in ordered]
    groups: list[tuple[str | None, list[tuple[SourceColumn, str]]]] = []
    i = 0
    while i < len(ordered):
        best_key, best_run = None, 1
        for key in stems[i]:
            run = 1
            while i + run < len(ordered) and key in stems[i + run]:
                run += 1
            if run > best_run:
                best_key, best_run = key, run
        if best_key is None:
            whole = _whole_answer(ordered[i], stems[i])
            if whole is not None:
                groups.append((None, [(ordered[i], whole)]))
            elif stems[i] and any(_is_box(item) for _, item in stems[i].values()):
                text, item = next((t, s) for t, s in stems[i].values() if _is_box(s))
                groups.append((text, [(ordered[i], item)]))
            else:
                groups.append((None, [(ordered[i], column_text(ordered[i]))]))
            i += 1
            continue
        members = ordered[i : i + best_run]
        groups.append((stems[i][best_key][0], [(c, stems[i + n][best_key][1]) for n, c in enumerate(members)]))
        i += best_run
    return groups


def _whole_answer(column: SourceColumn, stems: dict[str, tuple[str, str]]) -> str | None:
    """The question text of a column that is one question's own answer (``Q - Selected
    Choice``, SurveyMonkey's ``Response``), else None; a column with no sub-label: None."""
    for text, item in stems.values():
        if header_key(item) in WHOLE_ANSWER:
            return text
    return None


def _is_marker(values: _Values, item: str) -> bool:
    """Whether a split column's cells (most of them: a few may hold what a respondent
    wrote instead) only say "chosen" or "not chosen"."""
    return values.count == 0 or values.share(CHOSEN | NOT_CHOSEN | {header_key(item)}) >= 0.8


def _joined_separator(values: _Values, *, numeric: bool) -> str | None:
    """The separator of a column whose cells join several labels, else None."""
    if not values.distinct:
        return None
    if any(v.endswith(";") for v in values.distinct):
        return ";"
    if numeric:  # positions joined by ","
        return "," if any(re.fullmatch(r"\d+(,\d+)+", v) for v in values.distinct) else None
    pattern = r"(?<!\d),(?!\d)\s*"
    split = {v: [part.strip() for part in re.split(pattern, v) if part.strip()] for v in values.distinct}
    joined = [v for v, parts in split.items() if len(parts) > 1]
    if not joined:
        return None
    # What people pick recurs: the same combination in several responses, or its labels
    # in several combinations; what people type does not.
    seen_in = Counter(header_key(part) for parts in split.values() for part in set(parts))
    tokens = [header_key(part) for v in joined for part in split[v]]
    repeated = any(values.counts.get(header_key(v), 0) >= 2 for v in joined)
    return pattern if repeated or sum(seen_in[t] >= 2 for t in tokens) >= 0.5 * len(tokens) else None


def is_numeric_export(values: list[_Values]) -> bool:
    """Whether most values of the file's columns are small whole numbers (alone or joined by
    ``,``): a numeric export (Qualtrics "numeric values"), whose numbers are positions."""
    distinct = [v for column in values for v in column.distinct]
    numbers = sum(bool(re.fullmatch(r"\d{1,3}(,\d{1,3})*", v)) for v in distinct)
    return bool(distinct) and numbers >= 0.5 * len(distinct)


def _labels_in_order(values: list[str], *, numeric: bool = False) -> list[str]:
    """Distinct labels in order seen (one spelling per label: ``Yes`` and ``yes `` are one);
    numbers (a numeric export, or a column of small numbers) are ``1`` .. the largest, so
    that a number is its option's position, the other labels after them."""
    first: dict[str, str] = {}
    for value in values:
        first.setdefault(_label_key(value), value)
    labels = list(first.values())
    numbers = [int(v) for v in labels if re.fullmatch(r"\d{1,3}", v)]
    if not numbers or not (numeric or len(numbers) >= 0.8 * len(labels)):
        return labels
    texts = [v for v in labels if not re.fullmatch(r"\d{1,3}", v)]
    zero = ["0"] if 0 in numbers else []  # a no (Typeform's yes/no) or a scale from 0: by its label
    return [str(n) for n in range(1, max(numbers) + 1)] + zero + texts


def _label_key(label: str) -> str:
    """Spellings of one label: folded, without the final stop people add or leave out."""
    return header_key(label).rstrip(" .!")


def _is_typed_number(values: _Values) -> bool:
    """Numbers people typed (an age, a zip code, an amount): too many or too large to be a
    scale's positions, read as text."""
    numbers = [v for v in values.distinct if re.fullmatch(r"-?\d+([.,]\d+)?", v)]
    if len(numbers) < 0.8 * len(values.distinct):
        return False
    whole = [int(v) for v in numbers if re.fullmatch(r"\d{1,6}", v)]
    return len(whole) < len(numbers) or max(whole, default=0) > MAX_SCALE


def _is_personal(column: SourceColumn, values: _Values) -> bool:
    if _PERSONAL_HEADER.match(header_key(column_text(column))):
        return True
    emails = sum(bool(re.match(_EMAIL, v)) for v in values.distinct)
    return bool(values.distinct) and emails > 0.5 * len(values.distinct)


def _is_free_text(values: _Values) -> bool:
    """Many distinct long values, or more distinct values than a list of options has:
    what people typed, not options they picked."""
    many = values.count > 0 and len(values.distinct) >= 0.6 * values.count and values.mean_length >= 20
    return many or len(values.distinct) > MAX_OPTIONS


def _holds_personal_data(values: _Values) -> bool:
    """Some answer holds an email or a phone number (as the warehouse masks them): typed by a
    person, and never to be copied into the questionnaire as an option's label."""
    distinct = pl.Series(values.distinct, dtype=pl.Utf8)
    return bool((masked_texts(distinct) != distinct).any())


def _alone(text: str, values: _Values, *, numeric: bool = False) -> _Question:
    """The question of a column alone: free text, a joined multi-select or a single choice."""
    if not values.distinct or _is_typed_number(values) or _holds_personal_data(values):
        return _Question(text, "text")
    separator = _joined_separator(values, numeric=numeric)
    if separator is None and _is_free_text(values):
        return _Question(text, "text")
    if separator is None:
        return _Question(text, "single", _labels_in_order(values.distinct, numeric=numeric))
    tokens = [part.strip() for value in values.distinct for part in re.split(separator, value)]
    return _Question(text, "multi", _labels_in_order([token for token in tokens if token], numeric=numeric))


def most_chosen(wide: pl.DataFrame, columns: list[SourceColumn]) -> int:
    """The most columns of a group any one response chose (a cell neither empty nor "not chosen")."""
    if wide.is_empty() or not columns:
        return 0
    folded = [pl.col(str(c.index)).cast(pl.Utf8).str.strip_chars().str.to_lowercase() for c in columns]
    chosen = [(cell.is_not_null() & (cell != "") & ~cell.is_in(sorted(NOT_CHOSEN))).cast(pl.Int32) for cell in folded]
    return int(wide.select(pl.sum_horizontal(chosen).max()).item() or 0)


def _group(
    text: str, members: list[tuple[SourceColumn, str]], values: list[_Values], numeric: bool, most: int
) -> list[_Question]:
    """The questions of columns sharing a question text: one multi-select, or a grid's items."""
    whole = [n for n, (_, item) in enumerate(members) if header_key(item) in WHOLE_ANSWER]
    if whole:
        # One question's own column and the free-text boxes of its options.
        question = _alone(text, values[whole[0]], numeric=numeric)
        for n, (_, item) in enumerate(members):
            if n not in whole and question.type != "text":
                _attach_other(question, _box_option(item))
        return [question]
    markers = [_is_marker(v, item) for v, (_, item) in zip(values, members)]
    if sum(markers) * 2 >= len(members):
        # One column per option: a multi-select, unless no response ever chose two and the
        # wording does not ask for several (SurveyMonkey may split a single choice so).
        kind = "multi" if most > 1 or _ASKS_FOR_SEVERAL.search(header_key(text)) else "single"
        question = _Question(text, kind, [item for (_, item), m in zip(members, markers) if m])
        for (_, item), is_marker in zip(members, markers):
            if not is_marker:
                _attach_other(question, _box_option(item) if _is_box(item) else item)
        return [question]
    grid = slug(text, words=4, prefix="g")
    items = [_alone(item, v, numeric=numeric) for (_, item), v in zip(members, values)]
    for item in items:
        item.grid, item.grid_text = (grid, text) if item.type == "single" else (None, None)
    return items


def _attach_other(question: _Question, label: str | None) -> None:
    """Mark the option a free-text box belongs to (added when the file never shows it)."""
    label = label or "Other"
    found = next((o for o in question.options if header_key(o) == header_key(label)), None)
    if found is None:
        found = next((o for o in question.options if header_key(o).split(" (")[0] in OTHER_WORDS), None)
    if found is None:
        question.options.append(label)
        found = label
    question.other = found


def _same(text: str, other: str) -> bool:
    return header_key(text) == header_key(other)


def _is_label_column(column: SourceColumn, values: _Values) -> bool:
    """A column headed by the option its cells repeat (Typeform's multi-selects)."""
    return column.sub_label is None and values.share({header_key(column.header)}) >= 0.5


def draft_questions(wide: pl.DataFrame, columns: tuple[SourceColumn, ...]) -> tuple[list[_Question], list[str]]:
    """The questions of an export's answer columns, in file order, and the headers of the
    personal-data columns left out."""
    questions: list[_Question] = []
    left_out: list[str] = []
    labels: list[str] = []  # a run of Typeform option columns, not yet closed
    empty: list[str] = []  # empty columns with a header alone: options of a run next to them, else texts

    def close_labels() -> None:
        if labels:
            questions.append(_Question("(select all that apply) " + " / ".join(labels), "multi", list(labels)))
            labels.clear()
        questions.extend(_Question(text, "text") for text in empty)
        empty.clear()

    groups = [
        (stem, members, [_values(wide, column) for column, _ in members]) for stem, members in group_columns(columns)
    ]
    numeric = is_numeric_export([v for _, _, values in groups for v in values])
    for stem, members, values in groups:
        first, item = members[0]
        if stem is None and _is_personal(first, values[0]):
            close_labels()
            left_out.append(column_text(first))
        elif stem is None and values[0].count == 0 and not _is_box(first.header):
            empty.append(item)
        elif stem is None and _is_label_column(first, values[0]) and not _is_box(first.header):
            labels.extend([*empty, first.header.strip()])
            empty.clear()
        elif (stem is None and header_key(item) in OTHER_WORDS) or (len(members) == 1 and _is_box(item)):
            close_labels()
            previous = questions[-1] if questions else None
            if previous is not None and previous.type != "text" and (stem is None or _same(previous.text, stem)):
                _attach_other(previous, _box_option(item) if stem is not None else None)
            else:  # a text question's own box (``Q - Text``)
                questions.append(_Question(stem or item, "text"))
        else:
            close_labels()
            questions += (
                [_alone(item, values[0], numeric=numeric)]
                if stem is None
                else _group(stem, members, values, numeric, most_chosen(wide, [c for c, _ in members]))
            )
    close_labels()
    return questions, left_out


def draft_questionnaire(
    wide: pl.DataFrame,
    columns: tuple[SourceColumn, ...],
    *,
    study: str,
    wave: int,
    language: str,
    label_languages: tuple[str, ...] | None = None,
) -> tuple[dict, list[str]]:
    """(the questionnaire drafted from an export, as ``questionnaire.yaml`` holds it; the
    headers of the personal-data columns left out). ``wide``: one row per response and one
    Utf8 column per answer column, named ``str(index)`` (a layout's ``wide``, collected);
    every text and label is given under each of ``label_languages`` (default: ``language``),
    as exported under the first, marked ``[to translate]`` under the others."""
    questions, left_out = draft_questions(wide, columns)
    keys = label_languages or (language,)
    taken: set[str] = set()
    grids: dict[str, dict[str, str]] = {}
    drafted = []
    for question in questions:
        entry: dict = {"code": _unique(slug(question.text), taken), "type": question.type, "required": False}
        if question.grid:
            grids.setdefault(question.grid, _labels(question.grid_text or "", keys))
            entry["grid"] = question.grid
        entry["text"] = _labels(question.text, keys)
        if question.type != "text":
            entry["options"] = _options(question, keys)
        drafted.append(entry)
    questionnaire = {"study": slug(study, prefix="s"), "wave": wave, "languages": [language]}
    if grids:
        questionnaire["grids"] = grids
    questionnaire["questions"] = drafted
    return questionnaire, left_out


def _labels(text: str, keys: tuple[str, ...]) -> dict[str, str]:
    """A wording under each language: as exported in the first, marked to translate in the others
    (so that no label of the export's language is taken for another language's)."""
    return {key: text if n == 0 else f"{TO_TRANSLATE}{text}" for n, key in enumerate(keys)}


def _options(question: _Question, keys: tuple[str, ...]) -> list[dict]:
    taken: set[str] = set()
    options = []
    for label in question.options:
        option = {"code": _unique(slug(label, words=5, limit=30, prefix="o"), taken), **_labels(label, keys)}
        if label == question.other:
            option["other_text"] = True
        options.append(option)
    return options
