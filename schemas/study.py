"""A study: everything surveyhouse knows of one survey, loaded once and passed explicitly.

A study folder holds ``questionnaire.yaml`` (codes, options, NETs, derived segments,
languages: the codebook) and, optionally, ``published_figures.csv`` (the report's
published figures, any ids, an optional ``wave`` column) and ``weights.yaml`` (raking
targets ``segment: {value: share}``). The built-in study is read from this package's
data through the same path as any study folder::

    study = load_study()                       # the built-in study (the demo's)
    study = load_study(Path("my-study"))       # a study folder

``study_problems(folder)`` lists every mistake of a folder, one line each (file, line,
problem; fix), for ``surveyhouse study check``; ``load_study`` raises ``StudyError`` with
the first. Nothing in the pipeline fetches a study by itself: the command line (or the
flow) loads it once and hands it down.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

import polars as pl
import yaml

from schemas.codebook import Codebook, _parse
from schemas.outline import OUTLINE, Outline, OutlineError, default_outline, parse_outline
from schemas.questionnaire_checks import line_numbers, questionnaire_problems
from schemas.versions import Versions, book_for, every_wave_book, versions_of
from schemas.waves import Wave, parse_waves

QUESTIONNAIRE = "questionnaire.yaml"
FIGURES = "published_figures.csv"
WEIGHTS = "weights.yaml"
FIGURE_COLUMNS = {
    "id": pl.Utf8,
    "question": pl.Utf8,
    "answers": pl.Utf8,
    "segment": pl.Utf8,
    "published_pct": pl.Float64,
    "note": pl.Utf8,
    "wave": pl.Int32,
}
#: How much a segment's weighting shares may miss 1 (rounding of the targets as written).
SHARE_TOLERANCE = 0.001


class StudyError(ValueError):
    """A study folder that cannot be used: the message is its first mistake (file, line, fix),
    ``problems`` every one of them."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or [message]


@dataclass(frozen=True)
class Study:
    """One survey: its codebook, its published figures, its weighting targets and its report outline."""

    book: Codebook
    figures: pl.DataFrame  # one row per figure the report prints (FIGURE_COLUMNS, `wave` filled in); may be empty
    source: str  # where it was loaded from, for messages
    weighting_targets: dict[str, dict[str, float]] | None = None  # weights.yaml: segment -> value -> share
    versions: Versions = Versions()  # what changes between waves (schemas.versions); empty: nothing
    declared_waves: tuple[Wave, ...] = ()  # questionnaire.yaml `waves:` (schemas/waves.py)
    outline: Outline = field(default=None)  # type: ignore[assignment]  # the report outline (schemas/outline.py)

    def __post_init__(self) -> None:
        if self.outline is None:
            object.__setattr__(self, "outline", default_outline(self.book))

    def book_for(self, wave: int) -> Codebook:
        """The codebook of one wave: what it asked, in its wording, options numbered in its list (cached)."""
        return book_for(self.book, self.versions, wave)

    @property
    def name(self) -> str:
        return self.book.study

    @property
    def waves(self) -> tuple[Wave, ...]:
        """The declared waves (field periods, landing folders), else the one `wave:` without a field period."""
        return self.declared_waves or (Wave(self.book.wave),)

    @property
    def languages(self) -> tuple[str, ...]:
        """The questionnaire's languages, in file order (the first is the default label language)."""
        return self.book.languages

    @property
    def nets(self) -> dict[str, dict[str, tuple[str, ...]]]:
        """NETs by question: question code -> NET code -> member option codes."""
        return {q.code: dict(q.nets) for q in self.book.questions if q.nets}

    def report_language(self, wanted: str | None) -> str:
        """The report page's language: ``wanted`` (SURVEYHOUSE_REPORT_LANG, --lang) when the study
        has it, the study's first language when None; ``StudyError`` for a language it lacks."""
        if wanted is None:
            return self.book.default_language
        if wanted not in self.languages:
            raise StudyError(
                f"the report language {wanted!r} is not a language of the study {self.source} "
                f"(its `languages:` are {', '.join(self.languages)}); choose one of them"
            )
        return wanted

    @property
    def figures_wave(self) -> int:
        """The wave whose report the published figures come from (the questionnaire's `wave:`)."""
        return self.book.wave


def load_study(folder: Path | None = None) -> Study:
    """The study in ``folder``, or the built-in study when ``folder`` is None; ``StudyError``
    (one line: file, line, problem and fix) when the folder has a mistake."""
    if folder is None:
        return builtin_study()
    return _loaded(Path(folder), str(folder))


@cache
def builtin_study() -> Study:
    """The built-in study (the 2023 survey of social-media professionals), parsed once per process."""
    return _loaded(resources.files("schemas").joinpath("data"), "schemas/data")


def study_problems(folder: Path) -> list[str]:
    """Every mistake of the study folder, one line each (file, line N: problem; fix); empty when none."""
    return _read(Path(folder), str(folder))[1]


def _loaded(folder: Path | Traversable, name: str) -> Study:
    study, problems = _read(folder, name)
    if problems:
        more = f" ({len(problems) - 1} more: `surveyhouse study check {name}` lists them)" if len(problems) > 1 else ""
        raise StudyError(problems[0] + more, problems)
    return study


def _read(folder: Path | Traversable, name: str) -> tuple[Study | None, list[str]]:
    """(the study, or None where its questionnaire is unusable; every mistake of the folder)."""
    questionnaire = folder.joinpath(QUESTIONNAIRE)
    if not questionnaire.is_file():
        return None, [
            f"{name}: no {QUESTIONNAIRE} in it; a study folder holds its questionnaire "
            "(`surveyhouse study init --from EXPORT` drafts one)"
        ]
    text, problems = study_file_text(questionnaire, f"{name}/{QUESTIONNAIRE}")
    if text is None:
        return None, problems
    problems = questionnaire_problems(text, name=f"{name}/{QUESTIONNAIRE}")
    if problems:
        return None, problems
    raw = yaml.safe_load(text)
    versions = versions_of(raw)
    book = every_wave_book(_parse(raw), versions)
    figures, figure_problems = _figures(folder.joinpath(FIGURES), f"{name}/{FIGURES}", book=book)
    targets, weight_problems = _weights(folder.joinpath(WEIGHTS), f"{name}/{WEIGHTS}", book=book)
    outline, outline_problems = _outline(folder.joinpath(OUTLINE), f"{name}/{OUTLINE}", book=book, raw=raw)
    problems = figure_problems + weight_problems + outline_problems
    study = Study(
        book=book,
        figures=figures,
        source=name,
        weighting_targets=targets,
        versions=versions,
        outline=outline,
        declared_waves=parse_waves(raw),
    )
    return study, problems


def study_file_text(file: Path | Traversable, name: str) -> tuple[str | None, list[str]]:
    """(the text of a study's file, or None; its mistake): UTF-8, with or without a byte-order
    mark, or UTF-16 with one (Notepad's "Unicode"); any other encoding is one line naming the
    file, the line of the first byte that is not UTF-8, and the fix."""
    data = file.read_bytes()
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16"), []
    try:
        return data.decode("utf-8-sig"), []
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        return None, [
            f"{name}, line {line}: the file is not UTF-8 text (byte 0x{data[error.start]:02x}: saved in another "
            "encoding, e.g. Windows-1252); save it as UTF-8 (in Notepad: Save as, Encoding UTF-8)"
        ]


def _outline(file: Path | Traversable, name: str, *, book: Codebook, raw: dict) -> tuple[Outline, list[str]]:
    """The report outline: ``report.yaml`` when the folder has one, else the questionnaire's default."""
    if not file.is_file():
        return default_outline(book, raw), []
    try:
        text, problems = study_file_text(file, name)
        return (
            (parse_outline(text, name=name, book=book), [])
            if text is not None
            else (default_outline(book, raw), problems)
        )
    except OutlineError as error:
        return default_outline(book, raw), [str(error)]


def _figures(file: Path | Traversable, name: str, *, book: Codebook) -> tuple[pl.DataFrame, list[str]]:
    """The published figures (empty where there is no file) and every mistake of their rows."""
    empty = pl.DataFrame(schema=FIGURE_COLUMNS)
    if not file.is_file():
        return empty, []
    text, problems = study_file_text(file, name)
    if text is None:
        return empty, problems
    header = text.split("\n", 1)[0]  # a European Excel saves CSV with semicolons
    try:
        raw = pl.read_csv(
            text.encode("utf-8"), infer_schema=False, separator=";" if header.count(";") > header.count(",") else ","
        )
    except (pl.exceptions.PolarsError, UnicodeDecodeError) as error:
        return empty, [f"{name}: not a readable CSV ({str(error).splitlines()[0]}); save it as UTF-8 CSV"]
    needed = [column for column in FIGURE_COLUMNS if column not in ("note", "wave")]
    missing = [column for column in needed if column not in raw.columns]
    if missing:
        return empty, [f"{name}, line 1: no column {', '.join(missing)}; the header is {','.join(FIGURE_COLUMNS)}"]
    problems = [
        f"{name}, line {index + 2}: figure {row['id']} {problem}"
        for index, row in enumerate(raw.iter_rows(named=True))
        for problem in _figure_row_problems(row, book=book)
    ]
    if problems:
        return empty, problems
    filled = raw.with_columns(
        note=pl.col("note") if "note" in raw.columns else pl.lit(None, pl.Utf8),
        wave=pl.col("wave").fill_null(str(book.wave)) if "wave" in raw.columns else pl.lit(str(book.wave)),
    )
    return filled.select([pl.col(column).cast(dtype) for column, dtype in FIGURE_COLUMNS.items()]), []


def _figure_row_problems(row: dict, *, book: Codebook) -> list[str]:
    """What is wrong with one published figure (``problem; fix``), in the questionnaire's terms."""
    questions = [q.code for q in book.closed]
    if row["question"] not in questions:
        return [f"names question {row['question']!r}, which is no closed question; use one of {', '.join(questions)}"]
    problems = []
    try:
        float(row["published_pct"])
    except (TypeError, ValueError):
        problems.append(f"has published_pct {row['published_pct']!r}; write a percentage, 0-100 (e.g. 42)")
    if row.get("wave") not in (None, "") and not str(row["wave"]).strip().isdigit():
        problems.append(f"has wave {row['wave']!r}; write the wave as a whole number (e.g. {book.wave})")
    question = book.question(row["question"])
    members = str(row["answers"] or "").split("|")
    problems += _members_problems(
        members, question.option_codes, what=f"question {question.code}", groups=question.nets
    )
    if row["segment"] != "all":
        problems += _segment_problems(str(row["segment"] or ""), book=book)
    return problems


def _members_problems(members: list[str], codes: list[str], *, what: str, groups: dict) -> list[str]:
    """Option codes of ``what`` (several: exactly the members of one of ``groups``), each wrong one said."""
    unknown = [member for member in members if member not in codes]
    if unknown:
        return [f"names {', '.join(map(repr, unknown))}, no option of {what}; use {', '.join(codes)}"]
    if len(members) > 1 and not any(set(group) == set(members) for group in groups.values()):
        return [
            f"names {'|'.join(members)}, which is no group of {what} (a NET or derived segment group has exactly "
            "those members); name one option, or add that group to the questionnaire"
        ]
    return []


def _segment_problems(segment: str, *, book: Codebook) -> list[str]:
    """What is wrong with a figure's segment ``<segment question>=<code>[|<code>...]``."""
    source, _, values = segment.partition("=")
    segments = [q.code for q in book.segment_questions]
    if source not in segments or not values:
        return [
            f"names segment {segment!r}, which is not `all` nor `<segment>=<code>` (`<code>|<code>` for a derived "
            f"group); use one of {', '.join(segments)}"
        ]
    groups = {
        f"{d.code}.{g}": members for d in book.derived_segments if d.source == source for g, members in d.groups.items()
    }
    return _members_problems(
        values.split("|"), book.question(source).option_codes, what=f"segment {source}", groups=groups
    )


def _weights(file: Path | Traversable, name: str, *, book: Codebook) -> tuple[dict | None, list[str]]:
    """The raking targets of ``weights.yaml`` (None where there is no file) and every mistake in it."""
    if not file.is_file():
        return None, []
    text, problems = study_file_text(file, name)
    if text is None:
        return None, problems
    try:
        raw = yaml.safe_load(text)
        lines = line_numbers(yaml.compose(text, Loader=yaml.SafeLoader)) if raw is not None else {}
    except yaml.YAMLError as error:
        return None, [f"{name}: not valid YAML ({str(error).splitlines()[0]}); fix the syntax"]
    problems = weights_problems(raw, book=book)
    if problems:
        return None, [f"{name}, line {_line_of(lines, where)}: {message}" for where, message in problems]
    return {str(segment): {str(k): float(v) for k, v in shares.items()} for segment, shares in raw.items()}, []


def _line_of(lines: dict, where: tuple) -> int:
    """The line of a weights entry (its segment's where the value's key is spelt otherwise)."""
    keys = tuple(map(str, where))
    return lines.get(keys) or lines.get(keys[:1]) or 1


def weights_problems(raw: object, *, book: Codebook) -> list[tuple[tuple[str, ...], str]]:
    """Every mistake of raking targets ``segment: {value: share}``: (where, ``problem; fix``)."""
    if not isinstance(raw, dict) or not raw or not all(isinstance(v, dict) for v in raw.values()):
        return [((), "expected `segment: {value: share, ...}` entries; write one mapping per segment")]
    values = {q.code: q.option_codes for q in book.segment_questions}
    values |= {d.code: list(d.groups) for d in book.derived_segments}
    problems = []
    for segment, shares in raw.items():
        if segment not in values:
            problems.append(((segment,), f"{segment!r} is no segment; use one of {', '.join(values)}"))
            continue
        for value, share in shares.items():
            if str(value) not in values[segment]:
                problems.append(
                    ((segment, value), f"{value!r} is no value of {segment}; use {', '.join(values[segment])}")
                )
            elif isinstance(share, bool) or not isinstance(share, int | float) or share < 0:
                problems.append(
                    ((segment, value), f"{segment}.{value} has share {share!r}; write a number from 0 to 1")
                )
        total = sum(v for v in shares.values() if isinstance(v, int | float) and not isinstance(v, bool))
        if abs(total - 1) > SHARE_TOLERANCE:
            problems.append(((segment,), f"the shares of {segment} add up to {total:g}; make them add up to 1"))
    return problems
