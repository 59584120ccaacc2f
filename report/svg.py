"""SVG elements as strings, every text and attribute value escaped for XML.

The report's charts (charts.py) are written with these few helpers, in plain Python: no
drawing library, nothing to import but markupsafe. Escaping is markupsafe's (`&`, `<`,
`>`, `"`, `'` become references), and characters XML 1.0 cannot hold at all (control
characters other than tab and newline) are dropped, so any label of any language
renders as text and never as markup.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from markupsafe import escape

_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def xml_text(value: object) -> str:
    """The value as XML character data or an attribute value: escaped, without characters XML forbids."""
    return str(escape(_NOT_XML.sub("", str(value))))


def number(value: float) -> str:
    """A coordinate to 1/100 px, without trailing zeros: 12.5, 3, -0.25."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _attributes(attributes: dict[str, object]) -> str:
    parts = []
    for key, value in attributes.items():
        if value is None:
            continue
        shown = number(value) if isinstance(value, float) else value
        parts.append(f' {key.rstrip("_").replace("_", "-")}="{xml_text(shown)}"')
    return "".join(parts)


def element(tag: str, text: str | None = None, /, **attributes: object) -> str:
    """One element: `element("text", "5%", x=3.0, font_weight="bold")`; names take - for _, a trailing _ is dropped."""
    if text is None:
        return f"<{tag}{_attributes(attributes)}/>"
    return f"<{tag}{_attributes(attributes)}>{xml_text(text)}</{tag}>"


def group(children: Iterable[str], /, **attributes: object) -> str:
    """Elements already written, inside one <g> (or another container tag given as tag_=...)."""
    tag = str(attributes.pop("tag_", "g"))
    return f"<{tag}{_attributes(attributes)}>{''.join(children)}</{tag}>"


def lines_text(lines: list[str], *, x: float, y: float, line_px: float, **attributes: object) -> str:
    """Text of one or more lines, the first line's baseline at y (one <tspan> a line)."""
    if len(lines) == 1:
        return element("text", lines[0], x=x, y=y, **attributes)
    spans = [element("tspan", line, x=x, dy=0.0 if i == 0 else line_px) for i, line in enumerate(lines)]
    return group(spans, tag_="text", x=x, y=y, **attributes)
