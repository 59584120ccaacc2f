"""What a warehouse setting names, without opening anything (and without Polars, so that
`surveyhouse sql` starts fast): a DuckDB file path, or a DuckLake ``ducklake:<catalog>``.

The one place that tells the two apart by their setting; ``warehouse.store`` gives the
objects that publish and read them.
"""

from __future__ import annotations

from pathlib import Path

LAKE_PREFIX = "ducklake:"
CATALOG = "lake"  # a lake's short name when its catalog names no database


def is_lake_spec(spec: object) -> bool:
    """Whether a warehouse setting names a DuckLake (``ducklake:...``) rather than a file."""
    return isinstance(spec, str) and spec.startswith(LAKE_PREFIX)


def catalog_name(spec: str) -> str:
    """A short name for a lake, for file names of its local state: its dbname, else 'lake'."""
    for part in spec.removeprefix(LAKE_PREFIX).split(":", 1)[-1].split():
        key, _, value = part.partition("=")
        if key == "dbname" and value:
            return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in value)
    return CATALOG


def warehouse_name(spec: str | Path) -> str:
    """The warehouse's short name, for its files in the state folder (file stem, or the lake's dbname)."""
    return catalog_name(spec) if is_lake_spec(spec) else Path(spec).stem


def default_state_dir(spec: str | Path, lake_data: Path | None) -> Path:
    """The state folder beside the warehouse file, or beside a lake's data folder (a reader
    without one: the current folder)."""
    if is_lake_spec(spec):
        return (lake_data.parent if lake_data else Path.cwd()) / ".surveyhouse"
    return Path(spec).parent / ".surveyhouse"


def default_report_file(spec: str | Path, state_dir: Path) -> Path:
    """The report page each publish writes: beside the warehouse file (a lake: beside its state folder)."""
    folder = state_dir.parent if is_lake_spec(spec) else Path(spec).parent
    return folder / f"{warehouse_name(spec)}.report.html"
