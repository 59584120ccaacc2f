"""The errors a command reports as one line, and their exit statuses."""

from __future__ import annotations


class UserError(Exception):
    """An error the user can fix; shown as `Error: ...` without a traceback (exit status 2)."""


#: Exit statuses (README: Command line).
OK, FAILED, USAGE, LOCKED, PUBLISHED_WITH_PROBLEMS = 0, 1, 2, 3, 4
