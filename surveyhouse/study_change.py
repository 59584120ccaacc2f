"""A study edited since its files were staged: a file is staged once, with the questionnaire
of its night (its columns are the questionnaire's codes, its answer types its options). A
question added, a code renamed or an option added since leaves staged files that the build
cannot read with today's questionnaire; the night says so and what to run, and does nothing.
"""

from __future__ import annotations

import shlex
from pathlib import Path

import polars as pl

from schemas.codebook import Codebook
from surveyhouse.settings import SettingsError
from surveyhouse.staging import StagedFile, staged_schema
from transforms.display import display_name


class StudyChanged(SettingsError):
    """The study's questionnaire is not the one the staged files were staged with."""


def changed_columns(staged: list[StagedFile], book: Codebook) -> tuple[list[str], int]:
    """(the columns of the staged responses that differ from what ``book`` stages, sorted; how
    many loaded files differ). Reads each file's Parquet footer only."""
    expected = staged_schema(book)
    differ: set[str] = set()
    files = 0
    for file in staged:
        if file.record["status"] != "loaded" or not file.responses.exists():
            continue
        found = dict(pl.read_parquet_schema(file.responses))
        columns = {column for column in set(found) | set(expected) if found.get(column) != expected.get(column)}
        differ |= columns
        files += bool(columns)
    return sorted(differ), files


def check_staged_with_this_questionnaire(staged: list[StagedFile], book: Codebook, *, study: Path | None) -> None:
    """StudyChanged, one line naming the questionnaire and `surveyhouse rebuild`, when files were
    staged with another version of the study's questionnaire."""
    columns, files = changed_columns(staged, book)
    if not files:
        return
    where = "the built-in study's questionnaire" if study is None else display_name(str(study / "questionnaire.yaml"))
    option = "" if study is None else f" --study {shlex.quote(display_name(str(study)))}"
    shown = ", ".join(columns[:5]) + (f" and {len(columns) - 5} more" if len(columns) > 5 else "")
    raise StudyChanged(
        f"{where} changed since {files} file(s) were staged with it (questions or options that differ: {shown}); "
        f"nothing was done. Run `surveyhouse rebuild{option}` to stage every archived file again with it, "
        "then run as usual (or put the questionnaire back as it was)"
    )
