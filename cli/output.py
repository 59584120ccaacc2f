"""How query results reach the terminal: a table for people, CSV and JSON for programs.

A table shows at most ``TABLE_CELL_CHARS`` characters of a cell (control characters
escaped): a 50 MB answer is one line, not 50 MB of terminal. CSV and JSON keep every
value whole; CSV text that a spreadsheet would run as a formula gets a leading ``'``
(``warehouse.spreadsheet``, the rule ``export`` applies too).
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterable, Sequence

from transforms.display import excerpt
from warehouse.spreadsheet import formula_safe_value

#: At most this many characters of one cell in a table.
TABLE_CELL_CHARS = 200


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    return excerpt(value, TABLE_CELL_CHARS)


def print_table(columns: Sequence[str], rows: Sequence[tuple]) -> None:
    """Aligned columns, a rule, the rows and their count; wide cells cut to an excerpt."""
    cells = [[_cell(v) for v in row] for row in rows]
    headers = [excerpt(c, TABLE_CELL_CHARS) for c in columns]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(headers)]
    print("  ".join(c.ljust(w) for c, w in zip(headers, widths)))
    print("  ".join("-" * w for w in widths))
    for row in cells:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths)))
    print(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")


def write_csv(columns: Sequence[str], rows: Iterable[tuple]) -> None:
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows([formula_safe_value(v) for v in row] for row in rows)


def write_json(columns: Sequence[str], rows: Iterable[tuple]) -> None:
    json.dump([dict(zip(columns, row)) for row in rows], sys.stdout, default=str, ensure_ascii=False, indent=1)
    print()
