"""Write ``tests/cases/exports/``: the same dozen respondents in every layout and language.

Run it explicitly, and review the diff, when a writer or the respondents change:

    .venv/bin/python tests/cases/make_exports.py

The outputs are committed; tests only read them. The respondents are
``tests/flows/respondents.py``'s ``small_respondents()`` (every question, multi-selects,
"Other" texts, blanks, invalid answers, one response in progress), answered in English for
``*_en*`` files and in French for ``*_fr*`` files.

exports/
  qualtrics_{en,fr}_{labels,numeric}_{joined,split}.csv   the Qualtrics API CSV (zones in row 3)
  qualtrics_en_2017_numeric.csv, qualtrics_fr_2017_labels.csv
                                                           the 2017 ("Insights") export: ImportIds
                                                           written Python-style, no zone
  qualtrics_en_legacy_labels.csv, qualtrics_fr_legacy_numeric.csv
                                                           the legacy export: V1..V10, two header
                                                           rows, BOM, empty last column, no zone
  surveymonkey_{en,fr}.csv, surveymonkey_{en,fr}.xlsx      SurveyMonkey CSV and XLSX downloads
  google_forms_{en,fr}.csv                                 the response sheet as CSV
  typeform_{en,fr}.csv                                     Typeform CSV
  spss_en_missing.sav, spss_fr_zero.sav                    SPSS (not chosen = system-missing / 0)
  excel_*.csv, excel_*.xlsx                                Excel re-saves of the files above

The French team's account writes local times of Europe/Paris where the tool writes no zone
(SurveyMonkey, Google Forms, SPSS, Qualtrics' 2017 and legacy exports): those files need
``time_zones`` for these tools set to Europe/Paris, as its settings would say. Excel re-saves are written as Excel writes them:
a French locale saves ``;``-separated Windows-1252 with dates re-formatted
``02/10/2023 15:05`` (seconds dropped); an English one ``,``-separated, Windows-1252 ("CSV")
or UTF-8 with BOM ("CSV UTF-8"), dates ``10/2/2023 13:05``; CRLF; cells quoted only where
needed; a workbook stores the dates it recognised as date cells and digits as numbers.
(Excel also turns a label such as ``2-10`` into a date; that defect is not simulated here:
validation reports it as an invalid answer.)

exports/broken/: files a landing folder receives that cannot or must not be loaded (see
``tests/flows/test_cases_exports.py`` for what each must give).
"""

from __future__ import annotations

import csv
import io
import random
import re
import sys
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from demo.exports.alchemer import write_alchemer  # noqa: E402
from demo.exports.google_forms import write_google_forms  # noqa: E402
from demo.exports.limesurvey import write_limesurvey  # noqa: E402
from demo.exports.microsoft_forms import write_microsoft_forms  # noqa: E402
from demo.exports.qualtrics import write_qualtrics  # noqa: E402
from demo.exports.spss import write_spss  # noqa: E402
from demo.exports.surveymonkey import write_surveymonkey  # noqa: E402
from demo.exports.typeform import write_typeform  # noqa: E402
from demo.exports.workbook import write_workbook  # noqa: E402
from tests.flows.respondents import small_respondents  # noqa: E402

OUT = Path(__file__).resolve().parent / "exports"
PARIS = ZoneInfo("Europe/Paris")
#: The formats tools write dates in (whole cell), and how each reads.
_DATE_FORMATS = (
    (re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$"), "%Y-%m-%d %H:%M:%S"),  # Qualtrics, Typeform
    (re.compile(r"^\d{2}/\d{2}/\d{4} \d{2}:\d{2}:\d{2} [AP]M$"), "%m/%d/%Y %I:%M:%S %p"),  # SurveyMonkey
    (re.compile(r"^\d{1,2}/\d{1,2}/\d{4} \d{1,2}:\d{2}:\d{2}$"), "%m/%d/%Y %H:%M:%S"),  # Google Forms
)
_NUMBER = re.compile(r"^-?(?:0|[1-9]\d{0,14})(?:\.\d+)?$")


def _date(cell: str) -> tuple[datetime, str] | None:
    for pattern, fmt in _DATE_FORMATS:
        if pattern.match(cell):
            return datetime.strptime(cell, fmt), fmt
    return None


def _format(value: datetime, fmt: str) -> str:
    """A date as the tool wrote it (Google Forms does not pad month, day and hour)."""
    if fmt == "%m/%d/%Y %H:%M:%S":
        return f"{value.month}/{value.day}/{value.year} {value.hour}:{value.minute:02d}:{value.second:02d}"
    return value.strftime(fmt)


def read_rows(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle))


def write_rows(rows: list[list[str]], path: Path, *, delimiter: str = ",", encoding: str = "utf-8") -> None:
    """As Excel writes a CSV: CRLF records, cells quoted only where needed."""
    buffer = io.StringIO(newline="")
    csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL).writerows(rows)
    path.write_bytes(buffer.getvalue().encode(encoding))


def to_paris(path: Path) -> None:
    """Rewrite a tool's UTC dates as local times of Europe/Paris (the account's zone)."""
    rows = read_rows(path)
    for row in rows:
        for i, cell in enumerate(row):
            found = _date(cell)
            if found:
                value, fmt = found
                row[i] = _format(value.replace(tzinfo=UTC).astimezone(PARIS), fmt)
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, lineterminator="\r\n").writerows(rows)


def excel_csv(source: Path, path: Path, *, locale: str, encoding: str) -> None:
    """An Excel re-save of a CSV export in a French or English locale."""
    rows = read_rows(source)
    for row in rows:
        for i, cell in enumerate(row):
            found = _date(cell)
            if found:
                value = found[0]
                row[i] = (
                    value.strftime("%d/%m/%Y %H:%M")
                    if locale == "fr"
                    else f"{value.month}/{value.day}/{value.year} {value.hour}:{value.minute:02d}"
                )
    write_rows(rows, path, delimiter=";" if locale == "fr" else ",", encoding=encoding)


def workbook_of(source: Path, path: Path, *, dates_as_cells: bool) -> None:
    """A CSV export as a workbook: numbers as numbers, recognised dates as date cells (seconds dropped)."""
    rows: list[list] = []
    for r, row in enumerate(read_rows(source)):
        out: list = []
        for cell in row:
            found = _date(cell) if dates_as_cells else None
            if cell == "":
                out.append(None)
            elif found:
                out.append(found[0].replace(second=0))
            elif r > 0 and _NUMBER.match(cell):
                out.append(int(cell) if re.fullmatch(r"-?\d+", cell) else float(cell))
            else:
                out.append(cell)
        rows.append(out)
    write_workbook(rows, path)


def write_exports(out: Path = OUT) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    people = {language: small_respondents(language=language) for language in ("en", "fr")}
    written: list[Path] = []

    def target(name: str) -> Path:
        written.append(out / name)
        return out / name

    for language, frame in people.items():
        for numeric in (False, True):
            for multi in ("joined", "split"):
                name = f"qualtrics_{language}_{'numeric' if numeric else 'labels'}_{multi}.csv"
                write_qualtrics(frame, target(name), language=language, numeric=numeric, multi=multi, seed=3)
        zone = "Europe/Paris" if language == "fr" else "UTC"
        for variant, numeric in (("2017", language == "en"), ("legacy", language == "fr")):
            name = f"qualtrics_{language}_{variant}_{'numeric' if numeric else 'labels'}.csv"
            write_qualtrics(
                frame, target(name), language=language, numeric=numeric, variant=variant, time_zone=zone, seed=3
            )
        write_surveymonkey(frame, target(f"surveymonkey_{language}.csv"), seed=3)
        write_google_forms(frame, target(f"google_forms_{language}.csv"))
        write_typeform(frame, target(f"typeform_{language}.csv"), seed=3)
        if language == "fr":
            to_paris(out / "surveymonkey_fr.csv")
            to_paris(out / "google_forms_fr.csv")
        workbook_of(out / f"surveymonkey_{language}.csv", target(f"surveymonkey_{language}.xlsx"), dates_as_cells=False)
        # LimeSurvey: English full question texts; French "code & question text" headings, Oui/Non cells.
        headings = "full" if language == "en" else "code_text"
        write_limesurvey(frame, target(f"limesurvey_{language}.csv"), headings=headings, seed=3)
        write_microsoft_forms(frame, target(f"microsoft_forms_{language}.xlsx"))
        write_alchemer(frame, target(f"alchemer_{language}.csv"), seed=3)
    write_limesurvey(people["fr"], target("limesurvey_fr.xlsx"), headings="code_text", excel=True, seed=3)
    write_limesurvey(people["en"], target("limesurvey_en_codes.csv"), headings="code", seed=3)
    write_spss(people["en"], target("spss_en_missing.sav"), language="en", dichotomy="missing", seed=3)
    write_spss(
        people["fr"], target("spss_fr_zero.sav"), language="fr", dichotomy="zero", time_zone="Europe/Paris", seed=3
    )

    excel_csv(
        out / "qualtrics_fr_labels_split.csv",
        target("excel_fr_qualtrics_fr_labels_split.csv"),
        locale="fr",
        encoding="cp1252",
    )
    excel_csv(out / "typeform_fr.csv", target("excel_fr_typeform_fr.csv"), locale="fr", encoding="cp1252")
    excel_csv(out / "surveymonkey_en.csv", target("excel_en_surveymonkey_en.csv"), locale="en", encoding="utf-8-sig")
    excel_csv(out / "google_forms_en.csv", target("excel_en_google_forms_en.csv"), locale="en", encoding="cp1252")
    workbook_of(
        out / "qualtrics_en_numeric_joined.csv",
        target("excel_en_qualtrics_en_numeric_joined.xlsx"),
        dates_as_cells=True,
    )
    written += write_broken(out / "broken", people["en"])
    return written


def write_broken(out: Path, frame: pl.DataFrame) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    (out / "empty.csv").write_bytes(b"")
    write_rows([["id", "name", "score"], ["1", "Ada", "12"], ["2", "Alan", "9"]], out / "unrecognised_layout.csv")

    full = out / "_full.csv"
    write_qualtrics(frame, full, language="en", seed=5)
    data = full.read_bytes()
    cut = data.rfind(b"\r\n", 0, len(data) * 2 // 3) + 40  # 40 bytes into a data row
    (out / "truncated_mid_row.csv").write_bytes(data[:cut])

    junk = random.Random(7).randbytes(3000)
    (out / "binary_junk.csv").write_bytes(b"\x00\x01" + junk)

    write_rows(
        [
            [
                "Timestamp",
                "How often do you eat hot dogs?",
                "Is a hot dog a sandwich?",
                "What is your current job title?",
            ],
            ["1/18/2024 14:18:57", "Once a month", "No", "Student"],
            ["1/18/2024 14:20:03", "Never", "Yes", "Data scientist"],
            ["1/19/2024 9:02:41", "Every week", "No", "Teacher"],
        ],
        out / "other_questionnaire.csv",
    )

    rows = read_rows(full)
    keep = [i for i, column_id in enumerate(rows[0]) if column_id != "Q3"]  # Q3: team_size
    write_rows([[row[i] for i in keep] for row in rows], out / "missing_required_question.csv")

    spoiled = frame.with_columns(
        role=pl.when(pl.int_range(pl.len()).is_in([0, 1, 2])).then(pl.lit("!Freelancer")).otherwise(pl.col("role"))
    )
    write_qualtrics(spoiled, out / "too_many_failed_rows.csv", language="en", seed=6)

    sav = out / "_full.sav"
    write_spss(frame, sav, language="en", seed=5)
    sav_bytes = sav.read_bytes()
    (out / "truncated.sav").write_bytes(sav_bytes[: len(sav_bytes) // 2])

    with zipfile.ZipFile(out / "zip_of_a_csv.xlsx", "w") as archive:
        info = zipfile.ZipInfo("AI in social media.csv", date_time=(1980, 1, 1, 0, 0, 0))
        archive.writestr(info, data)
    full.unlink()
    sav.unlink()
    names = ["empty.csv", "unrecognised_layout.csv", "truncated_mid_row.csv", "binary_junk.csv", "other_questionnaire.csv",
             "missing_required_question.csv", "too_many_failed_rows.csv", "truncated.sav", "zip_of_a_csv.xlsx"]  # fmt: skip
    return [out / name for name in names]


if __name__ == "__main__":
    for path in write_exports():
        print(path.relative_to(ROOT), path.stat().st_size)
