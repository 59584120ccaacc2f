"""What is decided of a whole export file: is it this questionnaire's, in which language
are its headers, is it too broken to trust, and what a person does next.

The rules of the study for a file, in one place; surveyhouse/staging.py applies them.
Nothing here reads a file: it is handed the file's columns and its quarantine rows.
"""

from __future__ import annotations

import polars as pl

from schemas.codebook import Codebook
from transforms.display import display_name, excerpt, printable
from transforms.headers import closest_questions, questions_found
from transforms.layouts import SourceColumn, supported_tools
from transforms.privacy import masked

#: Default share of a file's rows that may fail the checks before the file is rejected whole.
MAX_QUARANTINED_SHARE = 0.2
#: A file whose columns hold fewer than this share of the questionnaire's questions is another survey's.
MATCHED_SHARE = 0.5

#: What a person can do next, by the whole-file check that failed.
NEXT_STEP = {
    "file_readable": "Export the file again from the survey tool (or copy it again) and drop it in the landing folder.",
    "layout_known": (
        f"surveyhouse reads the response exports of {supported_tools()}, with their header rows as the tool "
        "wrote them: if the file is one of those with edited header rows, drop the tool's own export in the "
        "landing folder instead; any other file, take it out of the landing folder."
    ),
    "questionnaire_matched": (
        "If it belongs to another survey, take it out of the landing folder; if it is this survey's, export it "
        "with the question wording (not only question ids or numbers) and drop it in the landing folder again."
    ),
    "required_question_present": (
        "Export it again with every question of the survey (check the export's column selection) "
        "and drop it in the landing folder."
    ),
}


class FileRejected(ValueError):
    """The whole file is unusable, why in plain language, and the whole-file check it failed."""

    def __init__(self, reason: str, *, check: str) -> None:
        super().__init__(reason)
        self.check = check


def header_language(resolved: list) -> str | None:
    """The language most of the file's recognised headers are written in (None: no vote)."""
    languages = [r.language for r in resolved if r.language]
    # Any of the questionnaire's languages; a tie goes to the language of the first header that tells.
    return max(dict.fromkeys(languages), key=languages.count) if languages else None


def check_questionnaire(columns: tuple[SourceColumn, ...], resolved: list, *, book: Codebook) -> None:
    """Raise FileRejected when the file is another questionnaire or lacks a required question."""
    found = questions_found(resolved)
    if len(found) < MATCHED_SHARE * len(book.questions):
        closest = closest_questions(columns, book=book)
        near = "; ".join(
            f"'{excerpt(masked(header), 80)}' ~ {wording!r} ({ratio:.0%} alike)" for header, wording, ratio in closest
        )
        raise FileRejected(
            f"it is not an export of this questionnaire ({book.study}): {len(found)} of its {len(book.questions)} "
            f"questions were found among the file's {len(columns)} columns"
            + (f"; the file's closest wordings: {near}" if near else "")
            + " (all its columns are listed in files.columns_ignored)",
            check="questionnaire_matched",
        )
    missing = [q for q in book.questions if q.required and q.code not in found]
    if missing:
        named = ", ".join(f"{q.code} ({' / '.join(repr(text) for text in q.text.values())})" for q in missing)
        plural = "s" if len(missing) > 1 else ""
        raise FileRejected(
            f"required question{plural} missing: {named}; every response would fail for lack of it",
            check="required_question_present",
        )


def is_too_broken(rows_read: int, quarantined: int, *, max_share: float) -> bool:
    """Whether more of the file's rows failed the checks than a file may have: it is rejected whole."""
    return bool(rows_read) and quarantined > max_share * rows_read


def rejection_message(record: dict, quarantine: pl.DataFrame, *, max_share: float) -> str:
    """Why a file with too many failed rows was rejected, and what to do."""
    rows = quarantine.filter(pl.col("source_row").is_not_null())
    by_check = (
        rows.group_by("check")
        .agg(n=pl.col("source_row").n_unique(), columns=pl.col("column").drop_nulls().unique().sort())
        .sort(["n", "check"], descending=[True, False])
    )
    details = ", ".join(
        f"{check} {n} row{'s' if n > 1 else ''}" + (f" ({', '.join(columns)})" if columns else "")
        for check, n, columns in by_check.iter_rows()
    )
    failed, total = record["quarantined"], record["rows_read"]
    return (
        f"{display_name(record['source_file'])} was rejected: {failed} of its {total} rows ({failed / total:.0%}) "
        f"failed the checks, more than the {max_share:.0%} a file may have ({details}). None of its responses were "
        "loaded; each failed row is in the quarantine table with its reason. Look at them (surveyhouse quality), "
        "correct the survey or its export, and drop the corrected file in the landing folder; if so many failures "
        "are expected, raise SURVEYHOUSE_MAX_QUARANTINED_SHARE."
    )


def not_loaded_message(source_file: str, *, check: str, reason: str) -> str:
    """The one line saying a file was not loaded at all, why, and what to do next."""
    for named in (f"{source_file} ", f"{display_name(source_file)} "):  # the reader names the file, as is or printable
        if reason.startswith(named):
            reason = "the file " + reason[len(named) :]
            break
    return (
        f"{display_name(source_file)} was not loaded: {printable(reason)}. The file is kept in the archive and the "
        f"rest of the run went on. {NEXT_STEP.get(check, NEXT_STEP['file_readable'])}"
    )
