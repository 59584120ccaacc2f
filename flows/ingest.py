"""One export file in: read, recognise, map, validate, stage.

Each file is processed once, identified by the SHA-256 of its bytes: its result (the
accepted responses, its quarantine rows and its `files` record) is staged as Parquet
under the state folder and never recomputed. A file's stage is complete only when its
record is written, last, so a run killed half-way reprocesses the file next time.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import pandera.polars as pa
import polars as pl

from flows.read import UnreadableExport, file_sha256, read_export
from schemas.canonical import canonical_schema
from schemas.codebook import Codebook
from transforms.headers import resolve_columns
from transforms.layouts import UnknownLayout, detect_layout
from transforms.mapping import canonical_responses, map_cells, resolved_frame
from transforms.privacy import hash_personal_data
from transforms.quarantine import QUARANTINE_SCHEMA, quarantine_rows, typed_responses

RECORD = "file.json"


class FileRejected(ValueError):
    """The whole file is unusable (and why, in plain language)."""


@dataclass(frozen=True)
class StagedFile:
    sha256: str
    folder: Path
    record: dict

    @property
    def responses(self) -> Path:
        return self.folder / "responses.parquet"

    @property
    def quarantine(self) -> Path:
        return self.folder / "quarantine.parquet"


def staged_files(staged_dir: Path) -> list[StagedFile]:
    """Every completely staged file, in ingestion order."""
    found = []
    for record_path in staged_dir.glob(f"*/{RECORD}"):
        record = json.loads(record_path.read_text(encoding="utf-8"))
        found.append(StagedFile(record["file_sha256"], record_path.parent, record))
    return sorted(found, key=lambda staged: staged.record["file_order"])


def response_columns(book: Codebook) -> list[str]:
    """Column order of staged responses (every file's Parquet has exactly these)."""
    texts = [q.code for q in book.text] + [f"{q.code}_other" for q in book.closed if q.other_option is not None]
    return [
        "wave", "source_tool", "response_id", "language", "started_at", "submitted_at", "duration_s",
        *[q.code for q in book.closed], *texts, "email_hash", "ip_hash",
        "source_file", "source_row", "file_order",
    ]


def _validate(canonical: pl.DataFrame, book: Codebook) -> pl.DataFrame:
    """Every failed check of every row at once (pandera, lazy, on materialised data)."""
    try:
        canonical_schema(book).validate(canonical, lazy=True)
    except pa.errors.SchemaErrors as errors:
        return errors.failure_cases
    return pl.DataFrame()


def process_export(path: Path, *, run_id: str, file_order: int, wave: int, book: Codebook, key: bytes) -> tuple[dict, pl.DataFrame, pl.DataFrame]:
    """(files record, accepted responses, quarantine rows) of one export file."""
    record = {
        "source_file": path.name, "run_id": run_id, "wave": wave, "file_order": file_order,
        "source_tool": None, "layout": None, "language": None, "encoding": None,
        "rows_read": 0, "quarantined": 0, "columns_ignored": None, "status": "loaded", "message": None,
    }
    raw = read_export(path)
    record["encoding"] = raw.encoding
    layout = detect_layout(raw.header)
    record.update(source_tool=layout.source_tool, layout=layout.name)
    parsed = layout.parse(raw.frame.lazy(), raw.header)
    meta = parsed.meta.collect()
    record["rows_read"] = meta.height
    resolved, ignored = resolve_columns(parsed.columns, book=book)
    record["columns_ignored"] = ", ".join(column.header for column in ignored) or None
    if not resolved:
        raise FileRejected(
            f"none of the columns of {path.name} is a question of the questionnaire "
            f"(first columns: {', '.join(c.header for c in parsed.columns[:4])})"
        )
    languages = [r.language for r in resolved if r.language]
    header_language = max(set(languages), key=languages.count) if languages else None
    record["language"] = header_language
    answers, texts = map_cells(parsed.cells, resolved_frame(resolved), book=book, other_in_place=layout.other_in_place)
    canonical = canonical_responses(meta.lazy(), answers, texts, book=book, header_language=header_language).collect()
    quarantine = quarantine_rows(_validate(canonical, book), canonical, run_id=run_id, source_file=path.name)
    record["quarantined"] = quarantine["source_row"].n_unique()
    accepted = canonical.filter(~pl.col("source_row").is_in(quarantine["source_row"].implode()))
    text_columns = [c for c in response_columns(book) if c.endswith("_other") or c in {q.code for q in book.text}]
    for column in text_columns:
        if column not in accepted.columns:
            accepted = accepted.with_columns(pl.lit(None, pl.Utf8).alias(column))
    accepted = (
        typed_responses(accepted.lazy(), book=book)
        .collect()
        .pipe(hash_personal_data, key=key, text_columns=text_columns)
        .with_columns(
            wave=pl.lit(wave, pl.Int32),
            source_tool=pl.lit(layout.source_tool),
            source_file=pl.lit(path.name),
            file_order=pl.lit(file_order, pl.Int64),
            language=pl.col("language").cast(pl.Enum(["en", "fr"])),
        )
        .select(response_columns(book))
    )
    return record, accepted, quarantine


def failed_record(path: Path, *, run_id: str, file_order: int, wave: int, error: Exception, rows_read: int) -> tuple[dict, pl.DataFrame]:
    check = {UnreadableExport: "file_readable", UnknownLayout: "layout_known"}.get(type(error), "file_usable")
    message = (
        f"{path.name} was not loaded: {error}. The file is kept in the archive and the rest of the run went on; "
        "fix or re-export it and drop it in the landing folder again."
    )
    record = {
        "source_file": path.name, "run_id": run_id, "wave": wave, "file_order": file_order,
        "source_tool": None, "layout": None, "language": None, "encoding": None,
        "rows_read": rows_read, "quarantined": rows_read, "columns_ignored": None, "status": "failed", "message": message,
    }
    quarantine = pl.DataFrame(
        [{"run_id": run_id, "source_file": path.name, "source_row": None, "response_id": None, "column": None,
          "check": check, "failure_case": None, "message": message}],
        schema=QUARANTINE_SCHEMA,
    )
    return record, quarantine


def stage_export(path: Path, *, staged_dir: Path, archive_dir: Path, run_id: str, file_order: int, wave: int, book: Codebook, key: bytes) -> StagedFile:
    """Process one export and stage its result; the raw file goes to the archive."""
    sha = file_sha256(path)
    archive_dir.mkdir(parents=True, exist_ok=True)
    archived = archive_dir / f"{sha}{path.suffix.lower()}"
    if not archived.exists():
        shutil.copyfile(path, archived.with_suffix(archived.suffix + ".part"))
        archived.with_suffix(archived.suffix + ".part").replace(archived)
    try:
        record, accepted, quarantine = process_export(path, run_id=run_id, file_order=file_order, wave=wave, book=book, key=key)
    except (UnreadableExport, UnknownLayout, FileRejected) as error:
        rows = _data_rows(path)
        record, quarantine = failed_record(path, run_id=run_id, file_order=file_order, wave=wave, error=error, rows_read=rows)
        accepted = pl.DataFrame(schema={c: pl.Utf8 for c in response_columns(book)})
    record["file_sha256"] = sha
    record["archived_as"] = archived.name
    folder = staged_dir / sha
    folder.mkdir(parents=True, exist_ok=True)
    staged = StagedFile(sha, folder, record)
    if record["status"] == "loaded":
        accepted.write_parquet(staged.responses)
    quarantine.write_parquet(staged.quarantine)
    partial = folder / (RECORD + ".part")
    partial.write_text(json.dumps(record, indent=1), encoding="utf-8")
    partial.replace(folder / RECORD)
    return staged


def _data_rows(path: Path) -> int:
    """Rows of an unusable file, as far as it can be read (0 if not at all)."""
    try:
        return max(read_export(path).frame.height - 1, 0)
    except UnreadableExport:
        return 0
