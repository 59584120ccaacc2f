"""Microsoft Forms: the response workbook ("Open in Excel" / "Download a copy"), or a CSV
saved from it.

Sources, as summarised in the team's notes (export-formats.md §6): Microsoft's support
articles (anonymous "anyone can respond" forms record no names; the "Record name"
setting; MicrosoftDocs SupportArticles-docs forms-response-columns-out-of-order.md), and
code and tests written against real exports:

- One header row; the metadata block first: ``ID, Start time, Completion time, Email,
  Name`` (some copies ``Id``), sometimes ``Last modified time``; in the exporting
  person's interface language (French ``Heure de début``, ``Heure de fin``, ``Adresse de
  messagerie``, ``Nom``; German ``Startzeit``, ``Fertigstellungszeit``, ``E-Mail``;
  Spanish ``Hora de inicio``, ``Hora de finalización``, ``Correo electrónico``,
  ``Nombre``). Recognised here by ``ID`` and a start and a completion time header.
- ``Email`` holds ``anonymous`` (read as no email) for anyone-can-respond forms, else the
  work address; ``Name`` the display name: personal data, never read.
- Quizzes add ``Total points``, ``Quiz feedback``, and ``Points - <question>`` /
  ``Feedback - <question>`` after each question: scores, not answers, left out.
- Times carry no zone (read in the ``time_zone`` the caller gives); Excel date cells or
  re-saved texts (``7/2/20 11:00:22``), one day/month order per file.
- A multi-select ("Choice" with several answers) is one cell, each chosen option
  followed by ``;`` (``AGOL;Cartography;``): ``transforms.mapping`` splits it on the
  known labels and drops the separators. A typed "Other" is read where the tool puts it,
  in place of the option (``other_in_place``; not verified on a real file).
- Likert rows: ``<question>.<statement>`` (the resolver splits after the ``.``).
"""

from __future__ import annotations

import re

import polars as pl

from transforms.layouts import Layout, ParsedExport, Votes, parsed_cells
from transforms.layouts.one_header import (
    DATA_FROM_ROW,
    header_name,
    meta_dates,
    meta_text,
    read_meta,
    split_header,
)

_STARTS = {"start time", "heure de début", "startzeit", "hora de inicio", "ora di inizio", "hora de início"}
_COMPLETIONS = {
    "completion time",
    "heure de fin",
    "fertigstellungszeit",
    "hora de finalización",
    "ora di completamento",
    "hora de conclusão",
}
_FIELDS: dict[str, str | None] = {
    "id": "response_id",
    **dict.fromkeys(_STARTS, "started_at"),
    **dict.fromkeys(_COMPLETIONS, "submitted_at"),
    **dict.fromkeys(["email", "adresse de messagerie", "e-mail", "correo electrónico", "posta elettronica"], "email"),
    **dict.fromkeys(["name", "nom", "nombre", "nome"], None),
    **dict.fromkeys(["last modified time", "heure de la dernière modification"], None),
    **dict.fromkeys(["total points", "quiz feedback", "gesamtpunktzahl", "prüfungsfeedback"], None),
}
#: A quiz's per-question score and feedback columns.
_QUIZ = re.compile(r"^(points|feedback|punkte|feedback zu|points -|commentaires) - ", re.IGNORECASE)
_ANONYMOUS = "anonymous"


def detect(header: list[list[str | None]]) -> bool:
    """``ID`` first (as Forms writes it) with a start and a completion time header."""
    names = {header_name(cell) for cell in (header[0] if header else [])}
    first = header_name(header[0][0]) if header and header[0] else ""
    return first == "id" and bool(names & _STARTS) and bool(names & _COMPLETIONS)


def parse(
    frame: pl.LazyFrame, header: list[list[str | None]], *, time_zone: str = "UTC", votes: Votes | None = None
) -> ParsedExport:
    meta_index, columns = split_header(header[0], _FIELDS, is_system=lambda key: bool(_QUIZ.match(key)))
    email = meta_text(meta_index, "email")
    meta, reads = read_meta(
        frame,
        meta_index,
        time_zone=time_zone,
        # Forms keeps submitted responses only: a row is a completed form.
        is_finished=pl.lit(True),
        email=pl.when(email.str.to_lowercase() != _ANONYMOUS).then(email),
        votes=votes,
    )
    dates = meta_dates(frame, meta_index)
    return parsed_cells(meta, columns, frame, data_from_row=DATA_FROM_ROW)._replace(dates=dates, date_reads=reads)


LAYOUTS = (
    Layout(
        name="microsoft_forms",
        source_tool="microsoft_forms",
        detect=detect,
        parse=parse,
        other_in_place=True,
        batched=True,
    ),
)
