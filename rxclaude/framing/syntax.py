"""What a piece of JSON text is, for the lines the fast path cannot take.

:class:`Values` splits a text into its leading JSON values and what is left, and tells an
incomplete rest (``continues``: more lines may complete it; ``truncated``: cut inside a
string, literal, number or escape) from an invalid one. :class:`OpenObject` follows an
object pretty-printed over several lines, one line at a time. Values are decoded by the
standard library's strict decoder here, which reports where and why it stopped; the fast
path's ``msgspec`` decoder does not.
"""

from __future__ import annotations

import json
import re
from typing import Any, Literal

from rxclaude.framing.depth import MAX_NESTING_DEPTH, TOO_DEEP, _nesting_limit_index

_JSON_WHITESPACE = re.compile(r"[ \t\n\r]*")
_STACK_EXHAUSTED = "the JSON value nests too deeply for the caller's stack"

RestKind = Literal["continues", "truncated", "invalid", "not_an_object"]

# A value cut inside a literal, a number or an escape: the JSON decoder fails where one
# of these begins, and it runs to the end of the text.
_CUT_LITERAL = re.compile(r"t(?:ru?)?|f(?:a(?:ls?)?)?|n(?:ul?)?|-")
_CUT_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.|(?:\.[0-9]+)?[eE][-+]?)")
_NUMBER_CHARACTERS = frozenset("0123456789.eE+-")
_CUT_ESCAPE = re.compile(r"u[0-9a-fA-F]{0,4}(?:\\(?:u[0-9a-fA-F]{0,3})?)?")  # from its "u"


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


_strict_decoder = json.JSONDecoder(parse_constant=_reject_constant)


def _classify_failure(
    error: ValueError | RecursionError, text: str, start: int
) -> tuple[RestKind, str]:
    """Whether ``text`` that failed to decode from ``start`` is incomplete (how) or invalid."""
    if isinstance(error, RecursionError):
        return "invalid", _STACK_EXHAUSTED
    if not isinstance(error, json.JSONDecodeError):
        return "invalid", str(error)
    if error.msg.startswith("Unterminated string"):
        return "truncated", "the line ends inside a JSON string"
    if error.pos >= len(text.rstrip(" \t\n\r")):
        return "continues", "the JSON value is incomplete"
    if _is_cut_token(error, text, start, len(text) - text.endswith("\r")):
        return "truncated", "the line ends inside a JSON literal, number or escape"
    return "invalid", f"{error.msg} (character {error.pos} of the line)"


def _is_cut_token(error: json.JSONDecodeError, text: str, start: int, end: int) -> bool:
    """Whether the value from ``start`` fails only because ``text`` ends inside a token."""
    position = error.pos
    if error.msg.startswith("Invalid \\uXXXX escape"):
        return _CUT_ESCAPE.fullmatch(text, position, end) is not None
    if error.msg.startswith("Invalid \\escape"):  # a backslash, then the CRLF line end
        return position == end - 1
    if error.msg == "Expecting value":  # a value begins here: inside an object or array?
        return position > start and _CUT_LITERAL.fullmatch(text, position, end) is not None
    # A number just ended here ("Expecting ',' delimiter"): was it cut before "." or "e"?
    begin = position
    while begin > start and text[begin - 1] in _NUMBER_CHARACTERS:
        begin -= 1
    return begin < position and _CUT_NUMBER.fullmatch(text, begin, end) is not None


class Values:
    """What one piece of text decodes to: leading JSON values, then what is left.

    The decoder only sees the text before a bracket nested past the limit: the value
    that reaches it is the rest, ``invalid`` and too deep.
    """

    __slots__ = ("detail", "rest_kind", "rest_start", "values")

    def __init__(self, text: str, start: int) -> None:
        self.values: list[tuple[Any, int, int]] = []
        self.rest_start: int | None = None
        self.rest_kind: RestKind = "invalid"
        self.detail = ""
        position = _JSON_WHITESPACE.match(text, start).end()  # type: ignore[union-attr]
        too_deep = _nesting_limit_index(text, position)
        decoded = text if too_deep < 0 else text[:too_deep]
        while position < len(text):
            try:
                value, end = _strict_decoder.raw_decode(decoded, position)
            except (ValueError, RecursionError) as error:
                self.rest_start = position
                if isinstance(error, json.JSONDecodeError) and 0 <= too_deep <= error.pos:
                    self.detail = TOO_DEEP
                else:
                    self.rest_kind, self.detail = _classify_failure(error, text, position)
                return
            self.values.append((value, position, end))
            position = _JSON_WHITESPACE.match(text, end).end()  # type: ignore[union-attr]


# One JSON token after optional whitespace; the group that matched says which kind.
_TOKEN = re.compile(
    r"[ \t\n\r]*+(?:"
    r'("[^"\\\x00-\x1f]*+(?:\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4})[^"\\\x00-\x1f]*+)*+")'
    r"|(-?+(?:0|[1-9][0-9]*+)(?:\.[0-9]++)?+(?:[eE][-+]?+[0-9]++)?+|true|false|null)"
    r"|([{\[])|([}\]])|(:)|(,))"
)
_STRING, _SCALAR, _OPEN, _CLOSE, _COLON = 1, 2, 3, 4, 5
# What may come next in an open object: the state of OpenObject.
_VALUE, _FIRST_VALUE, _KEY, _FIRST_KEY, _AFTER_KEY, _AFTER_VALUE = range(6)
_VALUES = (_VALUE, _FIRST_VALUE)
_ScanVerdict = Literal["open", "closed", "invalid", "too_deep"]


class OpenObject:
    """The syntax of a JSON object whose ``{`` has been read, fed one line at a time.

    Each line costs time in its own length only, so an object spread over many lines is
    checked in linear time; it is decoded once, when its closing brace arrives.
    """

    __slots__ = ("expect", "open")

    def __init__(self) -> None:
        self.open = ["{"]
        self.expect = _FIRST_KEY

    def scan(self, text: str) -> _ScanVerdict:
        """``"open"`` while ``text`` continues the object, ``"closed"`` once it ends in it.

        ``"invalid"`` when ``text`` cannot continue it (the state is then undefined), and
        ``"too_deep"`` when it nests deeper than :data:`~rxclaude.framing.MAX_NESTING_DEPTH`.
        """
        opened, expect = self.open, self.expect
        position = 0
        while (token := _TOKEN.match(text, position)) is not None:
            position = token.end()
            kind = token.lastindex
            if kind == _STRING:
                if expect in _VALUES:
                    expect = _AFTER_VALUE
                elif expect in (_KEY, _FIRST_KEY):
                    expect = _AFTER_KEY
                else:
                    return "invalid"
            elif kind == _SCALAR:
                if expect not in _VALUES:
                    return "invalid"
                expect = _AFTER_VALUE
            elif kind == _OPEN:
                if expect not in _VALUES:
                    return "invalid"
                bracket = token[_OPEN]
                opened.append(bracket)
                if len(opened) > MAX_NESTING_DEPTH:
                    return "too_deep"
                expect = _FIRST_KEY if bracket == "{" else _FIRST_VALUE
            elif kind == _CLOSE:
                in_object = opened[-1] == "{"
                if (token[_CLOSE] == "}") != in_object:
                    return "invalid"
                if expect not in (_AFTER_VALUE, _FIRST_KEY if in_object else _FIRST_VALUE):
                    return "invalid"
                opened.pop()
                if not opened:
                    return "closed"
                expect = _AFTER_VALUE
            elif kind == _COLON:
                if expect != _AFTER_KEY:
                    return "invalid"
                expect = _VALUE
            else:  # a comma
                if expect != _AFTER_VALUE:
                    return "invalid"
                expect = _KEY if opened[-1] == "{" else _VALUE
        self.expect = expect
        if _JSON_WHITESPACE.match(text, position).end() < len(text):  # type: ignore[union-attr]
            return "invalid"
        return "open"


def json_type_name(value: Any) -> str:
    """The JSON name of a decoded value's type."""
    names = {str: "string", bool: "boolean", int: "number", float: "number", list: "array"}
    return names.get(type(value), "null")


def utf8_length(text: str, begin: int, end: int) -> int:
    """Bytes of ``text[begin:end]`` in UTF-8 (lone surrogates stand for one byte each)."""
    piece = text[begin:end]
    return len(piece) if piece.isascii() else len(piece.encode("utf-8", "surrogateescape"))


__all__ = ["OpenObject", "RestKind", "Values", "json_type_name", "utf8_length"]
