"""How a message shows itself: a compact ``repr``, a notebook ``_repr_html_`` and a rich
``__rich__`` table.

Both read only a message's public attributes and its ``raw`` JSON (this module imports no
message class: the classes import it). The readable content is the text, thinking, tool
calls and results of ``assistant`` and ``user`` frames, a ``result``'s text and totals,
a ``stream_event``'s event and delta, a parse error's reason and excerpt; the HTML adds
the frame's JSON in a collapsed ``<details>``. All stream text is escaped by
:mod:`rxclaude._html` (controls shown as ``\\uXXXX`` in the rich table too, and never read
as rich markup).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from rxclaude import _html

if TYPE_CHECKING:
    from rich.table import Table

__all__ = ["message_html", "message_repr", "message_rich", "readable"]

REPR_CHARS = 60
"""How much readable content a ``repr`` shows."""


def readable(message: Any) -> list[tuple[str, str]]:
    """``(label, text)`` lines of the message's readable content."""
    if message.raw is None:
        return [
            (message.reason, message.detail),
            ("excerpt", repr(message.excerpt)),
        ] if hasattr(message, "reason") else []  # fmt: skip
    raw: dict[str, Any] = message.raw
    inner = raw.get("message")
    if message.type in ("assistant", "user") and isinstance(inner, dict):
        content = inner.get("content")
        if isinstance(content, str):
            return [("text", content)]
        return [line for block in content or () if isinstance(block, dict)
                for line in _block(block)]  # fmt: skip
    if message.type == "result":
        lines = [("result", str(raw.get("result") or "; ".join(map(str, raw.get("errors") or ()))))]
        for key in ("total_cost_usd", "num_turns", "duration_ms", "is_error"):
            if key in raw:
                lines.append((key, str(raw[key])))
        return lines
    if message.type == "stream_event":
        event = _object(raw.get("event"))
        delta = _object(event.get("delta"))
        shown = delta.get("text") or delta.get("thinking") or delta.get("partial_json")
        event_type = str(event.get("type"))
        return [(event_type, str(shown) if shown is not None else f"({event_type})")]
    skip = {"type", "subtype", "session_id", "uuid", "message"}
    return [(key, _short_json(value)) for key, value in raw.items() if key not in skip][:8]


def message_repr(message: Any) -> str:
    """``ClassName(type/subtype, offset=…, nbytes=…: 'content…')``, safe to print."""
    kind = _printable(message.type + (f"/{message.subtype}" if message.subtype is not None else ""))
    lines = readable(message)
    content = " ".join(value for _, value in lines if value)
    if len(content) > REPR_CHARS:
        content = content[: REPR_CHARS - 1] + "…"
    tail = f": {content!r}" if content else ""
    return (
        f"{type(message).__name__}({kind}, offset={message.offset}, nbytes={message.nbytes}{tail})"
    )


def message_html(message: Any) -> str:
    """A small card: type and subtype, where and when, the readable content, the raw JSON."""
    kind = message.type + (f" / {message.subtype}" if message.subtype is not None else "")
    where = f"offset {message.offset}, {message.nbytes} bytes, {message.received_at:%H:%M:%S.%f}"
    rows = [(label, _html.Raw(_html.pre(value))) for label, value in readable(message)]
    body = _html.table(rows) if rows else ""
    raw = message.raw
    source = _html.details("raw JSON", _html.json_block(raw)) if raw is not None else ""
    title = f"{type(message).__name__} — {kind}"
    return _html.titled(title, f"<div>{_html.text(where)}</div>{body}{source}")


def message_rich(message: Any) -> Table:
    """The readable content as a two-column table titled with the class, type and place."""
    from rich.table import Table  # noqa: PLC0415 -- only when shown: rich is slow to import
    from rich.text import Text  # noqa: PLC0415

    kind = message.type + (f"/{message.subtype}" if message.subtype is not None else "")
    title = f"{type(message).__name__} {kind} · offset {message.offset}, {message.nbytes} bytes"
    table = Table(title=Text(_html.visible(title)), show_header=False, box=None)
    for label, value in readable(message):
        table.add_row(Text(_html.visible(label), style="bold"), Text(_html.visible(value)))
    return table


def _block(block: dict[str, Any]) -> list[tuple[str, str]]:
    block_type = str(block.get("type"))
    if block_type == "text":
        return [("text", str(block.get("text", "")))]
    if block_type == "thinking":
        return [("thinking", str(block.get("thinking", "")))]
    if "tool_use" in block_type:
        return [(f"tool_use {block.get('name')}", _short_json(block.get("input")))]
    if block_type.endswith("tool_result"):
        flag = " (error)" if block.get("is_error") is True else ""
        return [(f"{block_type}{flag}", _result_text(block.get("content")))]
    return [(block_type, _short_json(block))]


def _result_text(content: object) -> str:
    if isinstance(content, list):
        return "".join(
            str(part.get("text", "")) if isinstance(part, dict) else str(part) for part in content
        )
    return content if isinstance(content, str) else _short_json(content)


def _printable(value: str) -> str:
    """``value`` with what ``repr`` would escape (controls, bidi marks) escaped."""
    return "".join(char if char.isprintable() else repr(char)[1:-1] for char in value)


def _object(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _short_json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, default=repr)
