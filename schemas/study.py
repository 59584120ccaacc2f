"""A study: everything surveyhouse knows of one survey, loaded once and passed explicitly.

The questionnaire (codes, options, NETs, derived segments, languages: the codebook), the
report's published figures (possibly none) and the report outline (the questions the
report page shows, in order). The built-in study is read from this package's data
through the same path as any study folder::

    study = load_study()                       # the built-in study (the demo's)
    study = load_study(Path("my-study"))       # questionnaire.yaml [+ published_figures.csv]

Nothing in the pipeline fetches a study by itself: the command line (or the flow) loads
it once and hands it down.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

import polars as pl
import yaml

from schemas.codebook import LANGUAGES, Codebook, Question, _parse
from schemas.waves import Wave, parse_waves

QUESTIONNAIRE = "questionnaire.yaml"
FIGURES = "published_figures.csv"
FIGURE_COLUMNS = {
    "id": pl.Utf8,
    "question": pl.Utf8,
    "answers": pl.Utf8,
    "segment": pl.Utf8,
    "published_pct": pl.Float64,
    "note": pl.Utf8,
}


@dataclass(frozen=True)
class Study:
    """One survey: its codebook, its published figures and its report outline."""

    book: Codebook
    figures: pl.DataFrame  # one row per figure the report prints (FIGURE_COLUMNS); may be empty
    source: str  # where it was loaded from, for messages
    declared_waves: tuple[Wave, ...] = ()  # questionnaire.yaml `waves:` (schemas/waves.py)

    @property
    def name(self) -> str:
        return self.book.study

    @property
    def waves(self) -> tuple[Wave, ...]:
        """The declared waves (field periods, landing folders), else the one `wave:` without a field period."""
        return self.declared_waves or (Wave(self.book.wave),)

    @property
    def languages(self) -> tuple[str, ...]:
        return LANGUAGES

    @property
    def nets(self) -> dict[str, dict[str, tuple[str, ...]]]:
        """NETs by question: question code -> NET code -> member option codes."""
        return {q.code: dict(q.nets) for q in self.book.questions if q.nets}

    @property
    def outline(self) -> tuple[Question, ...]:
        """The questions the report shows, in questionnaire order (closed questions)."""
        return tuple(self.book.closed)

    @property
    def figures_wave(self) -> int:
        """The wave whose report the published figures come from."""
        return self.book.wave


def load_study(folder: Path | None = None) -> Study:
    """The study in ``folder`` (``questionnaire.yaml``, optional ``published_figures.csv``),
    or the built-in study when ``folder`` is None."""
    if folder is None:
        return builtin_study()
    return _study_from(Path(folder), str(folder))


@cache
def builtin_study() -> Study:
    """The built-in study (the 2023 survey of social-media professionals), parsed once per process."""
    return _study_from(resources.files("schemas").joinpath("data"), "the built-in study")


def _study_from(folder: Path | Traversable, source: str) -> Study:
    questionnaire = folder.joinpath(QUESTIONNAIRE)
    if not questionnaire.is_file():
        raise FileNotFoundError(f"{source}: no {QUESTIONNAIRE} in it (a study folder holds its questionnaire)")
    raw = yaml.safe_load(questionnaire.read_text(encoding="utf-8"))
    book = _parse(raw)
    figures_file = folder.joinpath(FIGURES)
    figures = (
        _read_figures(figures_file.read_bytes()) if figures_file.is_file() else pl.DataFrame(schema=FIGURE_COLUMNS)
    )
    return Study(book=book, figures=figures, source=source, declared_waves=parse_waves(raw))


def _read_figures(data: bytes) -> pl.DataFrame:
    return pl.read_csv(data, schema_overrides={"published_pct": pl.Float64, "note": pl.Utf8}).select(
        [pl.col(name).cast(dtype) for name, dtype in FIGURE_COLUMNS.items()]
    )
