"""Writing demo respondents as a Qualtrics CSV export (current format, as the API writes it).

Three header rows: column ids, what the account shows (question text, metadata names in
the account's language), an ImportId JSON per column. Then one row per response: the
metadata block Qualtrics always exports, then the questionnaire in order:

single choice     ``Qn``; with an "Other (please specify)" option the row-2 text ends
                  `` - Selected Choice`` and its free text goes to ``Qn_<pos>_TEXT``
grid (opinions)   ``Qn_1, Qn_2, Qn_3``, row 2 ``<grid prompt> - <statement>``
multi-select      ``joined``: ``Qn``, the chosen labels joined by ``,``; ``split``: one
                  ``Qn_<pos>`` per option headed ``<question> - <option label>`` holding the
                  label (``1`` when numeric); the "Other" text in ``Qn_<pos>_TEXT`` after them
text              ``Qn`` (ImportId ``QIDn_TEXT``)

``numeric=True`` writes 1-based option positions instead of labels (Qualtrics' "numeric
values"). An answer starting with ``!`` is written verbatim without the ``!`` (an invalid
answer); in a split multi-select, such an element fills the first option column the
respondent left empty. Timestamps are written in the export's zone, named in row 3
(Europe/Paris for French exports, America/New_York for English ones). A respondent without
``submitted_at`` is a response in progress: Finished false, no RecordedDate, EndDate = start.

``variant`` writes the exports Qualtrics wrote before the current format (as
``transforms.layouts.qualtrics`` reads them, and as the real files of those years show):

2017      the "Insights" export: three header rows, row 3 a Python-style
          ``{'ImportId': 'QID8-9-TEXT'}`` per column; metadata ``ResponseID, ResponseSet,
          IPAddress, StartDate, EndDate, RecipientLastName, RecipientFirstName,
          RecipientEmail, ExternalDataReference, Finished, Status`` (row 2 repeats the
          names, in English whatever the account's language), the questions, then
          ``LocationLatitude, LocationLongitude, LocationAccuracy``. Row 2 joins question and
          sub-label with a bare ``-`` (``<question>-<option>``, ``<prompt>-<statement>``); a
          single choice's "Other" text is ``Qn_TEXT`` (ImportId ``QIDn-TEXT``, headed by the
          question alone), a multi-select's ``Qn_<pos>_TEXT`` (``QIDn-<pos>-TEXT``, headed
          ``<question>-<option>``) after the option columns; a text question's ImportId is
          ``QIDn-TEXT``. UTF-8 without BOM, LF.
legacy    the legacy exporter: two header rows, ``V1..V10`` then the question ids, then
          ``LocationLatitude, LocationLongitude, LocationAccuracy`` and an empty last column
          (every row ends with ``,``); row 2 ``ResponseID, ResponseSet, Name,
          ExternalDataReference, EmailAddress, IPAddress, Status, StartDate, EndDate,
          Finished`` (English names; the values ``Default Response Set``/``Anonymous`` in
          the account's language) then the question texts, ``-`` joined as above; a single
          choice's "Other" text is ``Qn_TEXT`` headed ``<question>-TEXT``, a multi-select's
          ``Qn_<pos>_TEXT`` headed ``<question>-<option>-TEXT``, right after its option.
          UTF-8 with BOM, LF.

Both always split a multi-select (one column per option: ``1`` when numeric, else the
label), write Finished ``1``/``0`` and Status ``0`` as numbers, cut a question text longer
than 100 characters to its first 97 and ``...`` (what those exports did to long
wordings), and name no time zone: their times are local times of ``time_zone`` (UTC, the
export's default, unless the account was set to another zone). They export recorded
responses only: a respondent without ``submitted_at`` is a partial response Qualtrics
closed (Finished 0, EndDate its last activity = start), with an ``R_`` id.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from demo.exports import numbered_questions
from schemas.codebook import Codebook, Question, codebook

TIME_ZONES = {"en": "America/New_York", "fr": "Europe/Paris"}
VARIANTS = ("current", "2017", "legacy")
_WORDS = {
    "en": {"selected": "Selected Choice", "text": "Text", "status": "IP Address"},
    "fr": {"selected": "Choix sélectionné", "text": "Texte", "status": "Adresse IP"},
}
#: column id, ImportId, row-2 label (en, fr): the metadata block of every Qualtrics export.
_META = (
    ("StartDate", "startDate", "Start Date", "Date de début"),
    ("EndDate", "endDate", "End Date", "Date de fin"),
    ("Status", "status", "Response Type", "Type de réponse"),
    ("IPAddress", "ipAddress", "IP Address", "Adresse IP"),
    ("Progress", "progress", "Progress", "Progression"),
    ("Duration (in seconds)", "duration", "Duration (in seconds)", "Durée (en secondes)"),
    ("Finished", "finished", "Finished", "Terminé"),
    ("RecordedDate", "recordedDate", "Recorded Date", "Date d'enregistrement"),
    ("ResponseId", "_recordId", "Response ID", "ID de réponse"),
    ("RecipientLastName", "recipientLastName", "Recipient Last Name", "Nom du destinataire"),
    ("RecipientFirstName", "recipientFirstName", "Recipient First Name", "Prénom du destinataire"),
    ("RecipientEmail", "recipientEmail", "Recipient Email", "E-mail du destinataire"),
    ("ExternalReference", "externalDataReference", "External Data Reference", "Référence de données externe"),
    ("LocationLatitude", "locationLatitude", "Location Latitude", "Latitude de l'emplacement"),
    ("LocationLongitude", "locationLongitude", "Location Longitude", "Longitude de l'emplacement"),
    ("DistributionChannel", "distributionChannel", "Distribution Channel", "Canal de distribution"),
    ("UserLanguage", "userLanguage", "User Language", "Langue de l'utilisateur"),
)
_TIMESTAMPED = {"startDate", "endDate", "recordedDate"}
_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


@dataclass(frozen=True)
class _Out:
    column_id: str
    label: str
    import_id: str
    value: pl.Expr  # Utf8, null = empty cell


def _verbatim(value: pl.Expr, mapping: dict[str, str]) -> pl.Expr:
    """An option code as its label/position; ``!text`` as ``text``."""
    invalid = value.str.starts_with("!")
    return pl.when(invalid).then(value.str.slice(1)).otherwise(value.replace_strict(mapping, default=None))


def _mapping(question: Question, *, language: str, numeric: bool) -> dict[str, str]:
    return {o.code: str(o.position) if numeric else o.labels[language] for o in question.options}


def _random_text(seed: int, length: int) -> pl.Expr:
    """Seeded alphanumerics, one string per row (8 characters per 64-bit hash)."""
    chars = []
    for block in range(0, length, 8):
        hashed = pl.int_range(pl.len(), dtype=pl.UInt64).hash(seed * 1_000 + block)
        for k in range(min(8, length - block)):
            chars.append(pl.lit(_ALPHABET).str.slice((hashed // 62**k % 62).cast(pl.Int64), 1))
    return pl.concat_str(chars)


def _question_columns(frame: pl.DataFrame, *, language: str, numeric: bool, multi: str, book: Codebook) -> list[_Out]:
    words = _words(language)
    outs: list[_Out] = []
    for question, n, k in numbered_questions(book):
        text, value = question.text[language], pl.col(question.code)
        if question.type == "text":
            outs.append(_Out(f"Q{n}", text, f"QID{n}_TEXT", value.cast(pl.Utf8)))
            continue
        mapping = _mapping(question, language=language, numeric=numeric)
        other = question.other_option
        chosen_label = f"{text} - {words['selected']}" if other else text
        if question.grid:
            prompt = book.grids[question.grid][language]
            outs.append(_Out(f"Q{n}_{k}", f"{prompt} - {text}", f"QID{n}_{k}", _verbatim(value.cast(pl.Utf8), mapping)))
        elif question.type == "single":
            outs.append(_Out(f"Q{n}", chosen_label, f"QID{n}", _verbatim(value.cast(pl.Utf8), mapping)))
        elif multi == "joined":
            joined = value.cast(pl.List(pl.Utf8)).list.eval(_verbatim(pl.element(), mapping)).list.join(",")
            outs.append(_Out(f"Q{n}", chosen_label, f"QID{n}", pl.when(joined != "").then(joined)))
        else:
            outs.extend(_split_columns(question, n, language=language, numeric=numeric))
        if other:
            other_text = pl.col(f"{question.code}_other") if f"{question.code}_other" in frame.columns else pl.lit(None)
            label = f"{text} - {other.labels[language]} - {words['text']}"
            outs.append(
                _Out(f"Q{n}_{other.position}_TEXT", label, f"QID{n}_{other.position}_TEXT", other_text.cast(pl.Utf8))
            )
    return outs


def _split_columns(question: Question, n: int, *, language: str, numeric: bool) -> list[_Out]:
    """One column per option; ``!`` elements fill the columns left empty, in order."""
    outs = []
    for option, value in _split_values(question, language=language, numeric=numeric):
        label = f"{question.text[language]} - {option.labels[language]}"
        outs.append(_Out(f"Q{n}_{option.position}", label, f"QID{n}_{option.position}", value))
    return outs


def _utc(frame: pl.DataFrame, name: str) -> pl.Expr:
    column = pl.col(name)
    return (
        column.dt.replace_time_zone("UTC")
        if frame.schema[name].time_zone is None
        else column.dt.convert_time_zone("UTC")
    )


def _meta_columns(frame: pl.DataFrame, *, language: str, numeric: bool, seed: int, progress: pl.Expr) -> list[pl.Expr]:
    zone = _zone(language)
    started, submitted = _utc(frame, "started_at"), _utc(frame, "submitted_at")
    local = lambda ts: ts.dt.convert_time_zone(zone).dt.strftime("%Y-%m-%d %H:%M:%S")  # noqa: E731
    finished = submitted.is_not_null()
    email = pl.col("email").cast(pl.Utf8)
    coordinate = lambda s, low, span: pl.int_range(pl.len(), dtype=pl.UInt64).hash(s) % 10**9 / 1e9 * span + low  # noqa: E731
    values = {
        "startDate": local(started),
        "endDate": local(pl.coalesce(submitted, started)),
        "status": pl.lit("0" if numeric else _words(language)["status"]),
        "ipAddress": pl.col("ip_address").cast(pl.Utf8),
        "progress": pl.when(finished).then(pl.lit("100")).otherwise(progress),
        "duration": (submitted - started).dt.total_seconds().cast(pl.Utf8),
        "finished": pl.when(finished)
        .then(pl.lit("1" if numeric else "True"))
        .otherwise(pl.lit("0" if numeric else "False")),
        "recordedDate": local(submitted),
        "_recordId": pl.concat_str(pl.lit("R_"), _random_text(seed, 15)),
        "recipientEmail": email,
        "locationLatitude": coordinate(seed + 1, 43.0, 6.0 if language == "fr" else 10.0).round(4).cast(pl.Utf8),
        "locationLongitude": coordinate(
            seed + 2, -1.0 if language == "fr" else -95.0, 8.0 if language == "fr" else 20.0
        )
        .round(4)
        .cast(pl.Utf8),
        "distributionChannel": pl.when(email.is_not_null()).then(pl.lit("email")).otherwise(pl.lit("anonymous")),
        "userLanguage": pl.col("language").cast(pl.Utf8).fill_null(language).str.to_uppercase(),
    }
    return [values.get(import_id, pl.lit(None, pl.Utf8)).cast(pl.Utf8) for _, import_id, _, _ in _META]


def _progress(frame: pl.DataFrame, book: Codebook) -> pl.Expr:
    """Share (percent) of the closed questions answered: the Progress of a partial response."""
    closed = book.closed
    answered = [
        (pl.col(q.code).list.len() > 0) if q.type == "multi" else pl.col(q.code).is_not_null()
        for q in closed
        if q.code in frame.columns
    ]
    return (pl.sum_horizontal([a.fill_null(False).cast(pl.Int32) for a in answered]) * 100 // len(closed)).cast(pl.Utf8)


def _check_codes(frame: pl.DataFrame, book: Codebook) -> None:
    """Fail on an answer code the questionnaire does not have (``!`` answers are meant)."""
    for question in book.closed:
        values = frame.get_column(question.code).cast(pl.List(pl.Utf8) if question.type == "multi" else pl.Utf8)
        values = values.explode() if question.type == "multi" else values
        unknown = values.filter(~values.str.starts_with("!") & ~values.is_in(question.option_codes)).unique()
        if unknown.len():
            raise ValueError(f"{question.code}: unknown option codes {sorted(unknown.to_list())}")


def write_qualtrics(
    frame: pl.DataFrame,
    path: Path,
    *,
    language: str = "en",
    numeric: bool = False,
    multi: str | None = None,
    seed: int = 0,
    variant: str = "current",
    time_zone: str = "UTC",
    book: Codebook | None = None,
) -> None:
    """Write one Qualtrics export of these respondents, one row each: the current format
    (UTF-8, CRLF; ``multi`` joined by default, or split), or the ``2017`` or ``legacy``
    one (always split; local times of ``time_zone``). ``book``: the study's questionnaire
    (default the built-in one); ``language``: one of its languages."""
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {', '.join(VARIANTS)}, not {variant!r}")
    multi = multi or ("joined" if variant == "current" else "split")
    book = book or codebook()
    if language not in book.languages or multi not in ("joined", "split"):
        raise ValueError(
            f"language must be one of {', '.join(book.languages)} and multi joined or split, not {language!r}, {multi!r}"
        )
    if variant != "current" and multi != "split":
        raise ValueError(f"the {variant} export splits every multi-select: multi must be split, not {multi!r}")
    _check_codes(frame, book)
    if variant != "current":
        _write_older(
            frame, path, variant=variant, language=language, numeric=numeric, seed=seed, time_zone=time_zone, book=book
        )
        return
    questions = _question_columns(frame, language=language, numeric=numeric, multi=multi, book=book)
    meta = _meta_columns(frame, language=language, numeric=numeric, seed=seed, progress=_progress(frame, book))
    names = [f"c{i}" for i in range(len(_META) + len(questions))]
    data = frame.select([expr.alias(name) for expr, name in zip([*meta, *(q.value for q in questions)], names)])
    label_at = 3 if language == "fr" else 2  # the metadata's labels: French or English
    zone = _zone(language)

    def import_cell(import_id: str) -> str:
        content = {"ImportId": import_id, **({"timeZone": zone} if import_id in _TIMESTAMPED else {})}
        return json.dumps(content, separators=(",", ":"), ensure_ascii=False)

    header = [
        [m[0] for m in _META] + [q.column_id for q in questions],
        [m[label_at] for m in _META] + [q.label for q in questions],
        [import_cell(m[1]) for m in _META] + [import_cell(q.import_id) for q in questions],
    ]
    head = pl.DataFrame(header, schema={name: pl.Utf8 for name in names}, orient="row")
    pl.concat([head, data.cast(pl.Utf8)]).write_csv(path, include_header=False, line_terminator="\r\n")


# The exports before the current format: 2017 ("Insights") and legacy.

#: The question text those exports keep: longer wordings are cut to 97 characters and ``...``.
_OLD_TEXT_LIMIT = 100
#: The metadata block of the 2017 export: column id (row 1 and row 2), ImportId.
_META_2017 = (
    ("ResponseID", "responseId"),
    ("ResponseSet", "responseSetId"),
    ("IPAddress", "ipAddress"),
    ("StartDate", "startDate"),
    ("EndDate", "endDate"),
    ("RecipientLastName", "panel-RecipientLastName"),
    ("RecipientFirstName", "panel-RecipientFirstName"),
    ("RecipientEmail", "panel-RecipientEmail"),
    ("ExternalDataReference", "panel-ExternalDataReference"),
    ("Finished", "finished"),
    ("Status", "status"),
)
#: The legacy export's metadata block, V1..V10 (the row-2 names).
_META_LEGACY = (
    "ResponseID", "ResponseSet", "Name", "ExternalDataReference", "EmailAddress",
    "IPAddress", "Status", "StartDate", "EndDate", "Finished",
)  # fmt: skip
_LOCATION = ("LocationLatitude", "LocationLongitude", "LocationAccuracy")


def _words(language: str) -> dict[str, str]:
    """The account's own words: English where the demo has none in ``language``."""
    return _WORDS.get(language, _WORDS["en"])


def _zone(language: str) -> str:
    """The account's time zone: the demo's for English and French, else UTC."""
    return TIME_ZONES.get(language, "UTC")


_RESPONSE_SET = {"en": "Default Response Set", "fr": "Ensemble de réponses par défaut"}
_ANONYMOUS = {"en": "Anonymous", "fr": "Anonyme"}


def _old_text(text: str) -> str:
    """A question wording as the 2017 and legacy exports head it: cut past 100 characters."""
    return text if len(text) <= _OLD_TEXT_LIMIT else text[:97].rstrip() + "..."


def _older_question_columns(
    frame: pl.DataFrame, *, variant: str, language: str, numeric: bool, book: Codebook
) -> list[_Out]:
    """The questionnaire's columns as the 2017 or legacy export writes them (import_id
    empty for legacy)."""
    legacy = variant == "legacy"
    outs: list[_Out] = []

    def import_id(value: str) -> str:
        return "" if legacy else value

    for question, n, k in numbered_questions(book):
        text, value = _old_text(question.text[language]), pl.col(question.code)
        if question.type == "text":
            outs.append(_Out(f"Q{n}", text, import_id(f"QID{n}-TEXT"), value.cast(pl.Utf8)))
            continue
        mapping = _mapping(question, language=language, numeric=numeric)
        other = question.other_option
        other_text = pl.col(f"{question.code}_other") if f"{question.code}_other" in frame.columns else pl.lit(None)
        if question.grid:
            prompt = _old_text(book.grids[question.grid][language])
            outs.append(
                _Out(
                    f"Q{n}_{k}",
                    f"{prompt}-{question.text[language]}",
                    import_id(f"QID{n}-{k}"),
                    _verbatim(value.cast(pl.Utf8), mapping),
                )
            )
        elif question.type == "single":
            outs.append(_Out(f"Q{n}", text, import_id(f"QID{n}"), _verbatim(value.cast(pl.Utf8), mapping)))
            if other:
                label = f"{text}-TEXT" if legacy else text
                outs.append(_Out(f"Q{n}_TEXT", label, import_id(f"QID{n}-TEXT"), other_text.cast(pl.Utf8)))
        else:
            options = _split_values(question, language=language, numeric=numeric)
            boxes = []
            for option, selected in options:
                label = f"{text}-{option.labels[language]}"
                outs.append(_Out(f"Q{n}_{option.position}", label, import_id(f"QID{n}-{option.position}"), selected))
                if option.other_text:
                    box = _Out(
                        f"Q{n}_{option.position}_TEXT",
                        f"{label}-TEXT" if legacy else label,
                        import_id(f"QID{n}-{option.position}-TEXT"),
                        other_text.cast(pl.Utf8),
                    )
                    # The legacy export writes the box right after its option, 2017 after them all.
                    (outs if legacy else boxes).append(box)
            outs.extend(boxes)
    return outs


def _split_values(question: Question, *, language: str, numeric: bool) -> list[tuple]:
    """(option, cell) per option of a split multi-select; ``!`` elements fill the columns
    left empty, in order."""
    chosen = pl.col(question.code).cast(pl.List(pl.Utf8))
    invalid = chosen.list.eval(pl.element().filter(pl.element().str.starts_with("!")).str.slice(1))
    values, free_before = [], pl.lit(0, dtype=pl.UInt32)
    for option in question.options:
        selected = chosen.list.contains(option.code).fill_null(False)
        mark = "1" if numeric else option.labels[language]
        values.append(
            (option, pl.when(selected).then(pl.lit(mark)).otherwise(invalid.list.get(free_before, null_on_oob=True)))
        )
        free_before = free_before + (~selected).cast(pl.UInt32)
    return values


def _older_meta(
    frame: pl.DataFrame, *, variant: str, language: str, seed: int, time_zone: str
) -> list[tuple[str, str, pl.Expr]]:
    """(column id, ImportId or row-2 name, value) of the metadata block."""
    started, submitted = _utc(frame, "started_at"), _utc(frame, "submitted_at")
    local = lambda ts: ts.dt.convert_time_zone(time_zone).dt.strftime("%Y-%m-%d %H:%M:%S")  # noqa: E731
    email = pl.col("email").cast(pl.Utf8)
    values = {
        "ResponseID": pl.concat_str(pl.lit("R_"), _random_text(seed, 15)),
        "ResponseSet": pl.lit(_RESPONSE_SET.get(language, _RESPONSE_SET["en"])),
        "Name": pl.when(email.is_null()).then(pl.lit(_ANONYMOUS.get(language, _ANONYMOUS["en"]))),
        "IPAddress": pl.col("ip_address").cast(pl.Utf8),
        "StartDate": local(started),
        "EndDate": local(pl.coalesce(submitted, started)),
        "RecipientEmail": email,
        "EmailAddress": email,
        "Finished": pl.when(submitted.is_not_null()).then(pl.lit("1")).otherwise(pl.lit("0")),
        "Status": pl.lit("0"),
    }
    none = pl.lit(None, pl.Utf8)
    if variant == "legacy":
        return [(f"V{i}", name, values.get(name, none)) for i, name in enumerate(_META_LEGACY, start=1)]
    return [(name, import_id, values.get(name, none)) for name, import_id in _META_2017]


def _location(seed: int, language: str) -> list[pl.Expr]:
    coordinate = lambda s, low, span: pl.int_range(pl.len(), dtype=pl.UInt64).hash(s) % 10**9 / 1e9 * span + low  # noqa: E731
    return [
        coordinate(seed + 1, 43.0, 6.0 if language == "fr" else 10.0).round(4).cast(pl.Utf8),
        coordinate(seed + 2, -1.0 if language == "fr" else -95.0, 8.0 if language == "fr" else 20.0)
        .round(4)
        .cast(pl.Utf8),
        pl.lit("-1"),
    ]


def _write_older(
    frame: pl.DataFrame,
    path: Path,
    *,
    variant: str,
    language: str,
    numeric: bool,
    seed: int,
    time_zone: str,
    book: Codebook,
) -> None:
    """Write the 2017 or the legacy export (see the module's docstring)."""
    meta = _older_meta(frame, variant=variant, language=language, seed=seed, time_zone=time_zone)
    questions = _older_question_columns(frame, variant=variant, language=language, numeric=numeric, book=book)
    values = [v for _, _, v in meta] + [q.value for q in questions] + _location(seed, language)
    ids = [c for c, _, _ in meta] + [q.column_id for q in questions] + list(_LOCATION)
    if variant == "legacy":
        header = [ids, [name for _, name, _ in meta] + [q.label for q in questions] + list(_LOCATION)]
        values.append(pl.lit(None, pl.Utf8))  # the empty last column: every row ends with ","
        header = [row + [None] for row in header]
    else:
        labels = [c for c, _, _ in meta] + [q.label for q in questions] + list(_LOCATION)
        import_ids = (
            [i for _, i, _ in meta] + [q.import_id for q in questions] + [f"Location-{name}" for name in _LOCATION]
        )
        header = [ids, labels, [f"{{'ImportId': '{i}'}}" for i in import_ids]]
    names = [f"c{i}" for i in range(len(values))]
    data = frame.select([expr.cast(pl.Utf8).alias(name) for expr, name in zip(values, names)])
    head = pl.DataFrame(header, schema={name: pl.Utf8 for name in names}, orient="row")
    pl.concat([head, data]).write_csv(path, include_header=False, line_terminator="\n", include_bom=variant == "legacy")
