"""The questionnaire as the project's codebook.

The questionnaire (``schemas/data/questionnaire.yaml``, the study's input contract) is
loaded once into frozen dataclasses. Answer codes become ``pl.Enum`` types whose
category order is the questionnaire order, which is also report order.

Nothing here reads anything but the packaged questionnaire file it was handed.
"""

from __future__ import annotations

import threading
import unicodedata
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache, wraps
from importlib import resources
from pathlib import Path
from typing import TypeVar

import polars as pl
import yaml

from schemas.questionnaire_checks import QuestionnaireError as QuestionnaireError  # load_codebook raises it
from schemas.questionnaire_checks import check_questionnaire, yaml_error


def normalize_label(text: str) -> str:
    """Fold a label for matching: Unicode NFKC, straight quotes, single spaces, lower case.

    Survey tools and Excel re-saves change typographic details (curly apostrophes,
    non-breaking spaces before French punctuation, doubled spaces); none of them
    changes which option a respondent chose.
    """
    text = unicodedata.normalize("NFKC", text)
    for curly, straight in (
        ("\u2019", "'"),
        ("\u2018", "'"),
        ("\u201c", '"'),
        ("\u201d", '"'),
        ("\u00ab", '"'),
        ("\u00bb", '"'),
    ):
        text = text.replace(curly, straight)
    return " ".join(text.split()).lower()


_Coded = TypeVar("_Coded", "Option", "Question", "DerivedSegment")


def _by_code(items: tuple[_Coded, ...], code: str, *, missing: str) -> _Coded:
    """The item of ``items`` whose ``code`` is ``code``; KeyError(``missing``) where none is."""
    found = next((item for item in items if item.code == code), None)
    if found is None:
        raise KeyError(missing)
    return found


@dataclass(frozen=True)
class Option:
    code: str
    position: int  # 1-based, as numeric exports code it
    labels: dict[str, str]  # language -> label
    exclusive: bool = False
    other_text: bool = False


@dataclass(frozen=True)
class Question:
    code: str
    type: str  # single | multi | text
    required: bool
    text: dict[str, str]
    options: tuple[Option, ...] = ()
    segment: bool = False
    ordered: bool = False
    grid: str | None = None
    expected: str | None = None  # quality check: the answer an attentive respondent gives
    nets: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def is_closed(self) -> bool:
        return self.type in ("single", "multi")

    @property
    def option_codes(self) -> list[str]:
        return [option.code for option in self.options]

    @property
    def answer_codes(self) -> list[str]:
        """Option codes then NET names: every value the crosstab's `answer` takes."""
        return self.option_codes + list(self.nets)

    @property
    def dtype(self) -> pl.Enum:
        return pl.Enum(self.option_codes)

    def option(self, code: str) -> Option:
        return _by_code(self.options, code, missing=f"{self.code} has no option {code!r}")

    @property
    def exclusive_codes(self) -> list[str]:
        return [option.code for option in self.options if option.exclusive]

    @property
    def other_option(self) -> Option | None:
        return next((option for option in self.options if option.other_text), None)


@dataclass(frozen=True)
class DerivedSegment:
    code: str
    source: str  # the segment question it groups
    groups: dict[str, tuple[str, ...]]  # group -> option codes

    @property
    def dtype(self) -> pl.Enum:
        return pl.Enum(list(self.groups))


D = TypeVar("D")
_DERIVED: dict[int, dict[str, object]] = {}
_DERIVED_LOCK = threading.Lock()


def once_per_codebook(derive: Callable[[Codebook], D]) -> Callable[[Codebook], D]:
    """``derive(book)`` computed once per codebook object, then served from memory for as long as
    that object lives: what is derived from the questionnaire alone (schemas, label tables) is built
    once per night, not once per file. A second study's codebook, or a study read again after it
    changed, is another object, with its own. What it returns is shared: never modify it."""
    name = f"{derive.__module__}.{derive.__qualname__}"

    @wraps(derive)
    def derived(book: Codebook) -> D:
        with _DERIVED_LOCK:
            values = _DERIVED.get(id(book))
            if values is None:
                values = _DERIVED[id(book)] = {}
                weakref.finalize(book, _DERIVED.pop, id(book), None)  # the id may be reused once it is gone
        if name not in values:  # two threads may both derive it: the same value
            values[name] = derive(book)
        return values[name]  # type: ignore[return-value]

    return derived


@dataclass(frozen=True)
class Codebook:
    study: str
    wave: int
    questions: tuple[Question, ...]
    grids: dict[str, dict[str, str]]
    derived_segments: tuple[DerivedSegment, ...]
    languages: tuple[str, ...]  # the questionnaire's `languages:`, in file order (ISO 639-1)

    @property
    def default_language(self) -> str:
        """The first language of the questionnaire: the one descriptions and defaults use."""
        return self.languages[0]

    @property
    def language_dtype(self) -> pl.Enum:
        """The study's languages, in questionnaire order (a response's `language`)."""
        return pl.Enum(list(self.languages))

    def question(self, code: str) -> Question:
        return _by_code(self.questions, code, missing=f"the questionnaire has no question {code!r}")

    @property
    def closed(self) -> list[Question]:
        return [question for question in self.questions if question.is_closed]

    @property
    def single(self) -> list[Question]:
        return [question for question in self.questions if question.type == "single"]

    @property
    def multi(self) -> list[Question]:
        return [question for question in self.questions if question.type == "multi"]

    @property
    def text(self) -> list[Question]:
        return [question for question in self.questions if question.type == "text"]

    @property
    def segment_questions(self) -> list[Question]:
        return [question for question in self.questions if question.segment]

    @property
    def segments(self) -> list[str]:
        """Every segment name of the crosstab, questions then derived groupings."""
        return [q.code for q in self.segment_questions] + [d.code for d in self.derived_segments]

    def derived(self, code: str) -> DerivedSegment:
        return _by_code(self.derived_segments, code, missing=f"the questionnaire has no derived segment {code!r}")

    @property
    def attention_check(self) -> Question | None:
        return next((q for q in self.questions if q.expected is not None), None)

    def grid_items(self, grid: str) -> list[Question]:
        return [question for question in self.questions if question.grid == grid]

    @property
    def answer_dtype(self) -> pl.Enum:
        """Every option code and NET name of every closed question, in questionnaire order."""
        seen: dict[str, None] = {}
        for question in self.closed:
            for code in question.answer_codes:
                seen.setdefault(code, None)
        return pl.Enum(list(seen))

    @property
    def question_dtype(self) -> pl.Enum:
        return pl.Enum([question.code for question in self.questions])

    @property
    def segment_dtype(self) -> pl.Enum:
        return pl.Enum(["all", *self.segments, "language", "source_tool"])

    @once_per_codebook
    def label_table(self) -> pl.DataFrame:
        """One row per closed question and accepted spelling of an option.

        Spellings: the label in each language, the code itself and the 1-based
        position (numeric exports), each folded with :func:`normalize_label`.
        `language` is null where the spelling does not tell the language (codes,
        positions, labels identical in both languages).
        """
        rows: list[tuple[str, str, str, str | None]] = []
        for question in self.closed:
            for option in question.options:
                languages: dict[str, set[str]] = {}
                for language, label in option.labels.items():
                    languages.setdefault(normalize_label(label), set()).add(language)
                for key in (normalize_label(option.code), str(option.position)):
                    languages.setdefault(key, set(self.languages))
                spellings = {key: next(iter(langs)) if len(langs) == 1 else None for key, langs in languages.items()}
                rows.extend((question.code, key, option.code, language) for key, language in spellings.items())
        return pl.DataFrame(
            rows,
            schema={"question": pl.Utf8, "spelling": pl.Utf8, "answer": pl.Utf8, "spelling_language": pl.Utf8},
            orient="row",
        )


def _parse(raw: dict) -> Codebook:
    nets = raw.get("nets") or {}
    languages = tuple(raw.get("languages") or ())
    questions = tuple(_question(q, nets.get(q["code"]) or {}, languages) for q in raw["questions"])
    derived = tuple(
        DerivedSegment(
            code=code, source=spec["from"], groups={g: tuple(map(str, m)) for g, m in spec["groups"].items()}
        )
        for code, spec in (raw.get("derived_segments") or {}).items()
    )
    return Codebook(
        study=raw["study"],
        wave=int(raw["wave"]),
        questions=questions,
        grids={name: dict(text) for name, text in (raw.get("grids") or {}).items()},
        derived_segments=derived,
        languages=languages,
    )


def _question(q: dict, nets: dict, languages: tuple[str, ...]) -> Question:
    options = tuple(
        Option(
            code=str(o["code"]),
            position=i,
            labels={lang: o[lang] for lang in languages},
            exclusive=bool(o.get("exclusive", False)),
            other_text=bool(o.get("other_text", False)),
        )
        for i, o in enumerate(q.get("options") or [], start=1)
    )
    return Question(
        code=q["code"],
        type=q["type"],
        required=bool(q.get("required", False)),
        text=dict(q["text"]),
        options=options,
        segment=bool(q.get("segment", False)),
        ordered=bool(q.get("ordered", False)),
        grid=q.get("grid"),
        expected=(q.get("quality_check") or {}).get("expected"),
        nets={name: tuple(map(str, members)) for name, members in nets.items()},
    )


def _parse_file(text: str, name: str) -> Codebook:
    """A questionnaire's text to its codebook; ``name`` is how messages name the file."""
    try:
        raw = yaml.safe_load(text)
        check_questionnaire(raw, text=text, name=name)
    except yaml.YAMLError as error:
        raise yaml_error(error, name=name) from None
    return _parse(raw)


def load_codebook(path: Path) -> Codebook:
    """Parse a questionnaire file into a codebook; a mistake raises ``QuestionnaireError``
    (``schemas.questionnaire_checks``), one line naming the file, the line and the fix."""
    return _parse_file(path.read_text(encoding="utf-8"), str(path))


@cache
def codebook() -> Codebook:
    """The study's codebook, parsed once per process from the packaged questionnaire."""
    text = resources.files("schemas").joinpath("data/questionnaire.yaml").read_text(encoding="utf-8")
    return _parse_file(text, "schemas/data/questionnaire.yaml")
