"""Checksums of a warehouse's tables, for comparing a warehouse built today with one built
by earlier code (tests/golden/demo_warehouse.json): row counts and an order-free hash of
every column that does not name a run or a time of the run.

    python -m tests.golden.checksums WAREHOUSE > tests/golden/demo_warehouse.json
"""

from __future__ import annotations

import json
import sys

import duckdb
import pyarrow as pa

#: Columns that differ between any two runs (which run, when): never compared.
VOLATILE = {"run_id", "flow_run_id", "started_at", "finished_at", "settings", "exported_at", "file_modified_at"}


def table_checksums(
    path: str, columns: dict[str, list[str]] | None = None, *, ids: dict[str, str] | None = None
) -> dict[str, dict]:
    """Per table (and per view the golden file has as a table): rows, the columns compared, and the sum of each row's hash over them.
    ``columns``: compare these columns per table (those of the golden file), else all but VOLATILE.
    ``ids``: response ids taken as others (today's id -> the id the golden file was built with)."""
    out = {}
    with duckdb.connect(path, read_only=True) as connection:
        if ids:
            connection.register("golden_ids", pa.table({"today": list(ids), "golden": list(ids.values())}))
        # The warehouse's tables (those a build keeps for the next one, in schema _build, are not part of it).
        tables = [
            t
            for (t,) in connection.execute(
                "select table_name from duckdb_tables() where schema_name = 'main' order by 1"
            ).fetchall()
        ]
        # A table of the golden file that is a view today (`answers`, issue 18) is compared as one.
        views = [v for (v,) in connection.execute("select view_name from duckdb_views() where not internal").fetchall()]
        tables += sorted(v for v in views if v in (columns or {}))
        for table in tables:
            names = [row[0] for row in connection.execute(f'describe "{table}"').fetchall()]
            kept = (columns or {}).get(table) or [name for name in names if name not in VOLATILE]
            renamed = bool(ids) and "response_id" in kept
            cells = ", ".join(
                "coalesce(g.golden, t.response_id, '<null>')"
                if renamed and name == "response_id"
                else f"coalesce(t.\"{name}\"::varchar, '<null>')"
                for name in kept
            )
            source = f'"{table}" t' + (" left join golden_ids g on t.response_id = g.today" if renamed else "")
            rows, total = connection.execute(f"select count(*), sum(hash({cells})) from {source}").fetchone()
            out[table] = {"rows": rows, "columns": kept, "checksum": str(total)}
    return out


if __name__ == "__main__":
    json.dump(table_checksums(sys.argv[1]), sys.stdout, indent=1)
    print()
