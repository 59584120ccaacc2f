"""Exports of tools surveyhouse recognises but does not read: a file from one of them is
named for what it is ("a KoboToolbox export, which surveyhouse does not read"), not sent
back to the survey tool to be exported again, which cannot help.

Each rule names the headers its tool's documentation gives:

- LimeSurvey's "VV" survey file (Export > VV survey file, for re-importing responses):
  row 1 the question texts, row 2 the field names ``id, submitdate, lastpage,
  startlanguage`` (LimeSurvey manual, "Export responses" / "VV export"), tab-separated;
  its response export (``transforms.layouts.limesurvey``) is read instead.
- KoboToolbox / ODK: ``_id``, ``_uuid``, ``_submission_time``, ``_index`` (KoboToolbox
  help, "Exporting and downloading your data": the submission metadata columns).
- SoSci Survey: ``CASE, SERIAL, REF, QUESTNNR, MODE, STARTED`` (SoSci Survey manual,
  "Variables in the data set").
"""

from __future__ import annotations

from collections.abc import Callable


def _names(header: list[list[str | None]], row: int) -> set[str]:
    cells = header[row] if len(header) > row else []
    return {(cell or "").replace("\ufeff", "").strip().lower() for cell in cells}


def _limesurvey_vv(header: list[list[str | None]]) -> bool:
    return {"id", "submitdate", "lastpage", "startlanguage"} <= _names(header, 1)


def _kobotoolbox(header: list[list[str | None]]) -> bool:
    return {"_uuid", "_submission_time"} <= _names(header, 0)


def _sosci_survey(header: list[list[str | None]]) -> bool:
    return {"case", "serial", "questnnr", "mode", "started"} <= _names(header, 0)


#: (what the file is, its rule), tried once no supported layout matched.
RECOGNISED: tuple[tuple[str, Callable[[list[list[str | None]]], bool]], ...] = (
    ("a LimeSurvey VV survey file (LimeSurvey's response export is read, not its VV file)", _limesurvey_vv),
    ("a KoboToolbox export", _kobotoolbox),
    ("a SoSci Survey export", _sosci_survey),
)


def recognised_tool(header: list[list[str | None]]) -> str | None:
    """What an export of a tool surveyhouse does not read is, or None."""
    return next((what for what, rule in RECOGNISED if rule(header)), None)
