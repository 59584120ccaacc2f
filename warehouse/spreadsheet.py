"""The one rule for text that goes to a spreadsheet (CSV, XLSX).

A spreadsheet runs a cell that starts with ``=``, ``+``, ``-`` or ``@`` (or a tab or
carriage return) as a formula: such text is written with a leading single quote, so
that a free-text answer like ``=HYPERLINK(...)`` stays text (OWASP's advice against CSV
injection). Numbers are never touched. ``warehouse.export`` applies it as a Polars
expression, ``surveyhouse sql --format csv`` value by value (without Polars).
"""

from __future__ import annotations

import re

FORMULA_START = r"^[=+\-@\t\r]"
_FORMULA = re.compile(FORMULA_START)


def formula_safe_value(value: object) -> object:
    """A text value with a leading ``'`` when a spreadsheet would run it as a formula; anything else unchanged."""
    if isinstance(value, str) and _FORMULA.match(value):
        return "'" + value
    return value
