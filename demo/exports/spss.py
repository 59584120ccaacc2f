"""Writing demo respondents as an SPSS data file (.sav), as Qualtrics' "SPSS" download
writes it and ``transforms.layouts.spss`` reads it.

Variables, in order: the metadata block (``StartDate``, ``EndDate``, ``RecordedDate`` as
SPSS datetimes in the account's zone, ``Status`` and ``Finished`` numeric with value labels,
``IPAddress``, ``Progress``, ``Duration__in_seconds_``, ``ResponseId``, ``RecipientEmail``,
``DistributionChannel``, ``UserLanguage``), then the questionnaire in order, each variable
labelled with what the account shows, in the file's language:

single choice     ``Qn``, the option's 1-based position, value labels = option labels; with
                  an "Other (please specify)" option the label ends `` - Selected Choice``
                  and the free text is the string ``Qn_<pos>_TEXT``
grid (opinions)   ``Qn_1, Qn_2, Qn_3`` labelled ``<grid prompt> - <statement>``
multi-select      one ``Qn_<pos>`` per option labelled ``<question> - <option>``, value label
                  ``1`` = the option; not chosen is system-missing (``dichotomy="missing"``,
                  Qualtrics' default) or ``0`` (``dichotomy="zero"``); the "Other" text after
text              ``Qn``, a string

An answer starting with ``!`` (an invalid answer) cannot be a number: it is written as the
unlabelled code 99, and in a multi-select fills the first option variable the respondent
left empty. A respondent without ``submitted_at`` is in progress: Finished 0, no
RecordedDate, EndDate = start. SPSS datetimes carry no zone: they are written as local
times of ``time_zone`` (seconds, as Qualtrics writes them). The file header's creation
stamp is the last submission (local), so the same respondents always give the same bytes.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from demo.exports import numbered_questions
from schemas.codebook import Codebook, Question, codebook
from transforms.layouts.google_forms import hex_digits, stable_hash

INVALID_CODE = 99.0
#: Where the system file header keeps its creation date ("dd Mon yy") and time ("hh:mm:ss").
_CREATION_STAMP = slice(92, 109)
_WORDS = {
    "en": {"selected": "Selected Choice", "text": "Text", "status": "IP Address"},
    "fr": {"selected": "Choix sélectionné", "text": "Texte", "status": "Adresse IP"},
}
#: name, label (en, fr)
_META_LABELS = {
    "StartDate": ("Start Date", "Date de début"),
    "EndDate": ("End Date", "Date de fin"),
    "Status": ("Response Type", "Type de réponse"),
    "IPAddress": ("IP Address", "Adresse IP"),
    "Progress": ("Progress", "Progression"),
    "Duration__in_seconds_": ("Duration (in seconds)", "Durée (en secondes)"),
    "Finished": ("Finished", "Terminé"),
    "RecordedDate": ("Recorded Date", "Date d'enregistrement"),
    "ResponseId": ("Response ID", "ID de réponse"),
    "RecipientEmail": ("Recipient Email", "E-mail du destinataire"),
    "DistributionChannel": ("Distribution Channel", "Canal de distribution"),
    "UserLanguage": ("User Language", "Langue de l'utilisateur"),
}


def _utc(frame: pl.DataFrame, name: str) -> pl.Expr:
    column = pl.col(name)
    return (
        column.dt.replace_time_zone("UTC")
        if frame.schema[name].time_zone is None
        else column.dt.convert_time_zone("UTC")
    )


def _check_codes(frame: pl.DataFrame, book: Codebook) -> None:
    """Fail on an answer code the questionnaire does not have (``!`` answers are meant)."""
    for question in book.closed:
        values = frame.get_column(question.code).cast(pl.List(pl.Utf8) if question.type == "multi" else pl.Utf8)
        values = (values.explode() if question.type == "multi" else values).drop_nulls()
        unknown = values.filter(~values.str.starts_with("!") & ~values.is_in(question.option_codes))
        if unknown.len():
            raise ValueError(f"{question.code}: unknown option codes {sorted(unknown.unique().to_list())}")


def _position(value: pl.Expr, question: Question) -> pl.Expr:
    """An option code as its 1-based position; ``!text`` as the invalid code."""
    positions = {option.code: float(option.position) for option in question.options}
    return (
        pl.when(value.str.starts_with("!"))
        .then(pl.lit(INVALID_CODE))
        .otherwise(value.replace_strict(positions, default=None, return_dtype=pl.Float64))
    )


def _variables(
    frame: pl.DataFrame, *, language: str, dichotomy: str, book: Codebook
) -> list[tuple[str, str, pl.Expr, dict | None]]:
    """(name, label, value, value labels) of every question variable, in questionnaire order."""
    words = _WORDS.get(language, _WORDS["en"])  # the account's words: English where it has no others
    out: list[tuple[str, str, pl.Expr, dict | None]] = []
    for question, n, k in numbered_questions(book):
        text, value = question.text[language], pl.col(question.code)
        if question.type == "text":
            out.append((f"Q{n}", text, value.cast(pl.Utf8), None))
            continue
        labels = {float(o.position): o.labels[language] for o in question.options}
        other = question.other_option
        if question.grid:
            label = f"{book.grids[question.grid][language]} - {text}"
            out.append((f"Q{n}_{k}", label, _position(value.cast(pl.Utf8), question), labels))
        elif question.type == "single":
            label = f"{text} - {words['selected']}" if other else text
            out.append((f"Q{n}", label, _position(value.cast(pl.Utf8), question), labels))
        else:
            out.extend(_dichotomies(question, n, language=language, dichotomy=dichotomy))
        if other:
            name = f"{question.code}_other"
            typed = pl.col(name).cast(pl.Utf8) if name in frame.columns else pl.lit(None, pl.Utf8)
            label = f"{text} - {other.labels[language]} - {words['text']}"
            out.append((f"Q{n}_{other.position}_TEXT", label, typed, None))
    return out


def _dichotomies(question: Question, n: int, *, language: str, dichotomy: str) -> list[tuple[str, str, pl.Expr, dict]]:
    """One variable per option: 1 where chosen, the invalid code where a ``!`` element lands."""
    chosen = pl.col(question.code).cast(pl.List(pl.Utf8))
    invalid = chosen.list.eval(pl.element().filter(pl.element().str.starts_with("!")))
    not_chosen = pl.lit(0.0) if dichotomy == "zero" else pl.lit(None, pl.Float64)
    out, free_before = [], pl.lit(0, dtype=pl.UInt32)
    for option in question.options:
        selected = chosen.list.contains(option.code).fill_null(False)
        misplaced = invalid.list.get(free_before, null_on_oob=True).is_not_null()
        value = (
            pl.when(selected).then(pl.lit(1.0)).when(misplaced).then(pl.lit(INVALID_CODE))
            .otherwise(pl.when(chosen.is_not_null()).then(not_chosen))
        )  # fmt: skip
        label = f"{question.text[language]} - {option.labels[language]}"
        out.append((f"Q{n}_{option.position}", label, value, {1.0: option.labels[language]}))
        free_before = free_before + (~selected).cast(pl.UInt32)
    return out


def _meta(frame: pl.DataFrame, *, language: str, time_zone: str, seed: int) -> list[tuple[str, pl.Expr, dict | None]]:
    started, submitted = _utc(frame, "started_at"), _utc(frame, "submitted_at")

    def local(ts: pl.Expr) -> pl.Expr:
        return ts.dt.convert_time_zone(time_zone).dt.replace_time_zone(None).dt.truncate("1s")

    row = pl.int_range(pl.len(), dtype=pl.Int64).cast(pl.Utf8)
    token = hex_digits(stable_hash(pl.concat_str(pl.lit(f"spss:{seed}:"), row)), 15)
    finished = submitted.is_not_null()
    email = pl.col("email").cast(pl.Utf8)
    values = {
        "StartDate": (local(started), None),
        "EndDate": (local(pl.coalesce(submitted, started)), None),
        "Status": (pl.lit(0.0), {0.0: _WORDS.get(language, _WORDS["en"])["status"]}),
        "IPAddress": (pl.col("ip_address").cast(pl.Utf8), None),
        "Progress": (pl.when(finished).then(pl.lit(100.0)).otherwise(pl.lit(50.0)), None),
        "Duration__in_seconds_": ((submitted - started).dt.total_seconds().cast(pl.Float64), None),
        "Finished": (finished.cast(pl.Float64), {0.0: "False", 1.0: "True"}),
        "RecordedDate": (local(submitted), None),
        "ResponseId": (pl.concat_str(pl.lit("R_"), token), None),
        "RecipientEmail": (email, None),
        "DistributionChannel": (
            pl.when(email.is_not_null()).then(pl.lit("email")).otherwise(pl.lit("anonymous")),
            None,
        ),
        "UserLanguage": (pl.col("language").cast(pl.Utf8).fill_null(language).str.to_uppercase(), None),
    }
    return [(name, value, labels) for name, (value, labels) in values.items()]


def write_spss(
    frame: pl.DataFrame,
    path: Path,
    *,
    language: str = "en",
    dichotomy: str = "missing",
    time_zone: str = "UTC",
    seed: int = 0,
    book: Codebook | None = None,
) -> None:
    """Write one SPSS .sav export of these respondents, one case each (``book``: the study's
    questionnaire, default the built-in one; ``language``: one of its languages)."""
    import pyreadstat

    book = book or codebook()
    if language not in book.languages or dichotomy not in ("missing", "zero"):
        raise ValueError(
            f"language must be one of {', '.join(book.languages)} and dichotomy missing or zero, "
            f"not {language!r}, {dichotomy!r}"
        )
    _check_codes(frame, book)
    meta = _meta(frame, language=language, time_zone=time_zone, seed=seed)
    questions = _variables(frame, language=language, dichotomy=dichotomy, book=book)
    at = 1 if language == "fr" else 0  # the metadata labels: French or English
    data = frame.select(
        [value.alias(name) for name, value, _ in meta] + [value.alias(name) for name, _, value, _ in questions]
    )
    labels = {name: _META_LABELS[name][at] for name, _, _ in meta} | {name: label for name, label, _, _ in questions}
    value_labels = {name: vl for name, _, vl in meta if vl} | {name: vl for name, _, _, vl in questions if vl}
    pyreadstat.write_sav(
        data,
        str(path),
        column_labels=labels,
        variable_value_labels=value_labels,
        variable_format={name: "DATETIME20" for name in ("StartDate", "EndDate", "RecordedDate")},
    )
    last = data.select(pl.col("EndDate").max()).item()
    if last is not None:
        content = bytearray(path.read_bytes())
        content[_CREATION_STAMP] = last.strftime("%d %b %y%H:%M:%S").encode("ascii")
        path.write_bytes(bytes(content))
