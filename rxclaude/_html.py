"""Small HTML building blocks for the notebook displays (``_repr_html_``), safe for any text.

Every piece of text goes through :func:`text`: HTML-escaped, and control characters (C0,
DEL, C1, bidi controls) and lone surrogates shown as ``\\uXXXX``, so a stream's content can
neither inject markup nor reach a terminal or a browser raw. Knows nothing of the stream.
"""

from __future__ import annotations

import dataclasses
import html
import json
import re
from collections.abc import Iterable, Mapping
from enum import Enum

__all__ = [
    "Raw",
    "details",
    "fields_table",
    "figure",
    "json_block",
    "pre",
    "table",
    "text",
    "titled",
    "visible",
]

_UNSAFE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)
"""Controls (tab and newline excepted), bidi controls and surrogates."""

STYLE = "font-family:monospace;font-size:12px;border-collapse:collapse"
CELL = "padding:1px 8px;text-align:left;vertical-align:top;border-bottom:1px solid #ddd"


def visible(value: object) -> str:
    """``value``'s text with controls shown as ``\\uXXXX`` (for plain-text displays)."""
    return _UNSAFE.sub(lambda match: f"\\u{ord(match.group()):04x}", str(value))


def text(value: object) -> str:
    """``value`` as HTML text: escaped, controls shown as ``\\uXXXX``."""
    return html.escape(visible(value), quote=True)


def pre(value: object) -> str:
    """A preformatted block of ``value``'s text, wrapping long lines."""
    return f'<pre style="white-space:pre-wrap;margin:2px 0">{text(value)}</pre>'


def json_block(value: object) -> str:
    """``value`` as indented JSON, preformatted."""
    return pre(json.dumps(value, indent=2, ensure_ascii=False, default=repr))


def details(summary: str, body_html: str, *, open_: bool = False) -> str:
    """A collapsible section: ``summary`` is text, ``body_html`` already HTML."""
    flag = " open" if open_ else ""
    return f"<details{flag}><summary>{text(summary)}</summary>{body_html}</details>"


def table(rows: Iterable[tuple[object, ...]], header: tuple[str, ...] = ()) -> str:
    """A table of text cells; a cell of type :class:`Raw` is inserted as HTML."""
    head = "".join(f'<th style="{CELL}">{text(cell)}</th>' for cell in header)
    body = "".join(
        "<tr>" + "".join(f'<td style="{CELL}">{_cell(cell)}</td>' for cell in row) + "</tr>"
        for row in rows
    )
    return f'<table style="{STYLE}">' + (f"<tr>{head}</tr>" if head else "") + body + "</table>"


def titled(title: str, body_html: str) -> str:
    """``body_html`` under a bold ``title``, in one block."""
    return f"<div><b>{text(title)}</b>{body_html}</div>"


def figure(value: object) -> str:
    """A value as a table shows it: floats to 6 significant digits, enums by value, None
    as a dash."""
    if value is None:
        return "—"
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def fields_table(instance: object, title: str) -> str:
    """A dataclass instance as a table of its fields; a mapping field as a nested table."""
    rows: list[tuple[object, ...]] = []
    for field in dataclasses.fields(instance):  # type: ignore[arg-type]
        value = getattr(instance, field.name)
        if isinstance(value, Mapping):
            nested = table((figure(key), figure(item)) for key, item in value.items())
            rows.append((field.name, Raw(nested)))
        else:
            rows.append((field.name, figure(value)))
    return titled(title, table(rows))


class Raw(str):
    """Markup already made safe, to put in a :func:`table` cell as it is."""

    __slots__ = ()


def _cell(cell: object) -> str:
    return str(cell) if isinstance(cell, Raw) else text(cell)
