"""Text helpers the commands share: untrusted text made safe to print, values shortened to
a line, figures (counts, durations, costs) written for people, and the colours.

Everything a recording says is untrusted: :func:`styled` and :func:`safe` show its
control characters (escape codes among them) as symbols, never send them to the
terminal, and never read it as markup. :func:`json_snippet` shows a value of any depth
or size for about ``limit`` characters of work.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from rich.text import Text

__all__ = [
    "SNIPPET",
    "STYLE_DONE",
    "STYLE_ERROR",
    "STYLE_NOTE",
    "STYLE_RESULT",
    "STYLE_THINKING",
    "STYLE_TOOL",
    "STYLE_WARNING",
    "dollars",
    "json_snippet",
    "milliseconds",
    "outcome",
    "plural",
    "safe",
    "safe_json",
    "shorten",
    "styled",
]

SNIPPET = 100
"""Characters shown of a tool input, a result line or a subagent's text."""

STYLE_TOOL = "bold cyan"
STYLE_RESULT = "dim"
STYLE_ERROR = "bold red"
STYLE_WARNING = "yellow"
STYLE_THINKING = "dim italic"
STYLE_DONE = "bold green"
STYLE_NOTE = "dim"

_UNSAFE = (
    "\x00-\x08\x0b-\x1f\x7f-\x9f"  # C0 but newline and tab, DEL, C1 (U+009B is a CSI)
    "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"  # bidi marks, embeddings, isolates
    "\ud800-\udfff"  # lone surrogates
)
_CONTROL = re.compile(f"[{_UNSAFE}]")


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x20:
        return chr(0x2400 + code)  # the Control Pictures block: ␛ for ESC, ␀ for NUL
    return "␡" if code == 0x7F else f"\\u{code:04x}"


def safe(text: str) -> str:
    """``text`` with what a terminal would act on shown instead: C0 controls (escape codes
    among them) as symbols, DEL as ␡; C1 controls, bidi controls and lone surrogates as
    ``\\uXXXX``. Newlines and tabs stay."""
    return _CONTROL.sub(_visible, text)


def _json_escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def safe_json(text: str) -> str:
    """JSON text with the characters :func:`safe` neutralises written as ``\\uXXXX``
    escapes (inside JSON strings, where they can only be, that is the same JSON value)."""
    return _CONTROL.sub(_json_escape, text)


def styled(text: str, style: str = "") -> Text:
    """A ``Text`` of untrusted ``text`` (never markup, control characters neutralised)."""
    return Text(safe(text), style=style)


def shorten(text: str, limit: int = SNIPPET) -> str:
    """``text`` on one line, cut to ``limit`` characters with an ellipsis."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def json_snippet(value: object, limit: int = SNIPPET) -> str:
    """``json.dumps(value, ensure_ascii=False)``, or its first ``limit`` characters and "…".

    Written with a stack of its own and stopped at ``limit``: a value of any depth or
    size costs about ``limit`` characters of work, and never the interpreter's stack.
    """
    pieces: list[str] = []
    length = 0
    for piece in _json_pieces(value, limit):
        pieces.append(piece)
        length += len(piece)
        if length > limit:
            return "".join(pieces)[:limit] + "…"
    return "".join(pieces)


def _json_pieces(value: object, limit: int) -> Iterator[str]:
    """The text of ``json.dumps(value, ensure_ascii=False)`` piece by piece (strings cut
    after ``limit`` characters)."""
    open_containers: list[tuple[Iterator[Any], bool]] = []  # entries left, whether a dict
    while True:
        if isinstance(value, dict) and value:
            entries: Iterator[Any] = iter(value.items())
            key, value = next(entries)
            open_containers.append((entries, True))
            yield "{" + _json_scalar(str(key), limit) + ": "
            continue
        if isinstance(value, list | tuple) and value:
            entries = iter(value)
            value = next(entries)
            open_containers.append((entries, False))
            yield "["
            continue
        yield _json_scalar(value, limit)
        while open_containers:
            entries, is_dict = open_containers[-1]
            entry: Any = next(entries, _END)
            if entry is _END:
                open_containers.pop()
                yield "}" if is_dict else "]"
            elif is_dict:
                key, value = entry
                yield ", " + _json_scalar(str(key), limit) + ": "
                break
            else:
                value = entry
                yield ", "
                break
        else:
            return


_END = object()


def _json_scalar(value: object, limit: int) -> str:
    """A value that holds no other (an empty container too) as JSON."""
    if isinstance(value, str) and len(value) > limit:
        value = value[: limit + 1]  # its JSON is longer than ``limit`` all the same
    return json.dumps(value, ensure_ascii=False)


def outcome(
    is_error: bool,
    subtype: str | None,
    terminal_reason: str | None = None,
    api_error_status: int | None = None,
) -> str:
    """How a turn ended, from a ``result`` frame's fields: ``✓ done · completed``,
    ``✗ error · terminal_reason api_error · API 529``, ``✗ error_max_turns · …``.

    ``is_error`` decides (the CLI writes ``subtype: "success"`` with ``is_error: true``
    for a turn that died on an API error); an error subtype names the failure, and a
    subtype other than ``success`` on a turn that did not fail is shown in parentheses.
    """
    if is_error:
        label = subtype if subtype is not None and subtype.startswith("error") else "error"
        parts = [f"✗ {label}"]
        if terminal_reason is not None:
            parts.append(f"terminal_reason {terminal_reason}")
    else:
        odd = subtype is not None and subtype != "success"
        parts = [f"✓ done ({subtype})" if odd else "✓ done"]
        if terminal_reason is not None:
            parts.append(terminal_reason)
    if api_error_status is not None:
        parts.append(f"API {api_error_status}")
    return " · ".join(parts)


def plural(count: int | None, noun: str) -> str:
    """``1 turn``, ``2 turns``, ``? turns``."""
    if count is None:
        return f"? {noun}s"
    return f"{count} {noun}" + ("" if count == 1 else "s")


def milliseconds(value: float | None) -> str:
    """``262 ms`` or ``12.3 s``."""
    if value is None:
        return "?"
    return f"{value:.0f} ms" if value < 1000 else f"{value / 1000:.1f} s"


def dollars(value: float | None) -> str:
    """``$0.000762``, ``$0.0396``, ``$1.24``: enough digits to see a small cost."""
    if value is None:
        return "$?"
    digits = f"{value:.6f}" if value < 0.01 else f"{value:.4f}" if value < 1 else f"{value:.2f}"
    return "$" + (digits.rstrip("0").rstrip(".") if "." in digits else digits)
