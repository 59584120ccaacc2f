"""How anything that came from a file is shown to a person: short, and without control characters.

Every message, log line and quarantine text that quotes a file's name or content goes
through these: a 200 MB cell becomes 200 characters, a newline or an escape sequence in a
file name becomes a visible ``\\n`` or ``\\x1b`` instead of moving the terminal's cursor.
"""

from __future__ import annotations

#: At most this many characters of anything from a file in a message.
EXCERPT_CHARS = 200

_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def printable(text: str) -> str:
    """``text`` with every control character (C0, DEL, C1) written as an escape."""
    return "".join(_ESCAPES.get(c, f"\\x{ord(c):02x}") if _is_control(c) else c for c in text)


def excerpt(text: object, limit: int = EXCERPT_CHARS) -> str:
    """At most ``limit`` characters of ``text``, printable, with how many of its characters
    were left out. Only the head is escaped: a 200 MB cell costs no copy of it."""
    text = str(text)
    shown = printable(text[: limit + 1])
    if len(shown) <= limit:
        return shown
    kept, width = 0, 0
    for character in text[:limit]:  # the whole characters whose escapes fit in ``limit``
        step = len(_ESCAPES.get(character, "\\x00")) if _is_control(character) else 1
        if width + step > limit:
            break
        kept, width = kept + 1, width + step
    return f"{printable(text[:kept])}... ({len(text) - kept:,} more characters)"


def display_name(name: object) -> str:
    """A file name (or path) as it may be printed: emails and phone numbers masked, control
    characters escaped, at most 200 characters."""
    from transforms.privacy import masked_file_name  # Polars, which this module does without

    return excerpt(masked_file_name(str(name)))


def _is_control(character: str) -> bool:
    code = ord(character)
    return code < 0x20 or 0x7F <= code < 0xA0


def spreadsheet_column(index: int) -> str:
    """The letters a spreadsheet shows for a column: 0 -> A, 25 -> Z, 26 -> AA."""
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters
