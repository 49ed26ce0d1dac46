"""Incremental NDJSON framing: bytes in, typed messages and parse errors out.

:class:`FrameDecoder` is the engine behind ``parse_json_frames``; it is usable on its
own (``feed(chunk)`` … ``finish()``), without Rx.

Rules, in the order they apply to each line:

* Lines end at the byte ``\\n`` only (never ``str.splitlines``: U+2028/U+2029 may appear
  raw inside strings); a trailing ``\\r`` is not part of the frame; blank lines are
  skipped; a UTF-8 BOM at the very start of the stream is skipped.
* A line that decodes on its own to a JSON object is a frame. This is the fast path:
  the whole chunk is split at once and each line goes straight to ``msgspec``'s JSON decoder.
* Otherwise the line is examined (the slow path): several objects on one line are each
  a frame; a JSON object pretty-printed over several lines is put back together from
  the lines that cannot stand alone — but a line that is a JSON object by itself always
  stands alone, so a broken line never swallows the frames after it. Everything else
  becomes a :class:`~rxclaude.messages.ParseError` at its place in the stream.
* A value nesting deeper than :data:`MAX_NESTING_DEPTH` levels, on one line or over
  several, is ``invalid_json``; it never reaches a JSON decoder (a line is only scanned
  for it when it holds more brackets than the limit).
* A line longer than ``max_frame_bytes`` becomes one ``frame_too_large`` error; its
  bytes are counted and dropped as they arrive, never buffered.
* At the end, a last line without ``\\n`` is a frame if it is complete, and a
  ``truncated`` error if the stream stopped inside it (at any byte: inside a literal, a
  number, an escape or a UTF-8 character too).
"""

from __future__ import annotations

import json
import re
from array import array
from collections.abc import Callable
from datetime import datetime
from itertools import accumulate
from typing import Any, Literal, TypeAlias

import msgspec

from rxclaude.messages import (
    EXCERPT_BYTES,
    MESSAGE_TYPES,
    SYSTEM_SUBTYPES,
    Message,
    ParseError,
    ParseErrorReason,
    ResultMessage,
    SystemMessage,
    UnknownMessage,
    message_from_json,
)

BytesLike: TypeAlias = bytes | bytearray | memoryview
"""What the decoder takes as chunks."""

DEFAULT_MAX_FRAME_BYTES = 64 * 1024 * 1024
"""Frames longer than this (64 MiB) become ``frame_too_large`` errors."""

MAX_NESTING_DEPTH = 512
"""How deep a JSON value may nest (a frame's own object is the first level), on one line
or over several, before it is an ``invalid_json`` error.

Checked before any JSON decoder runs, so the outcome never depends on the caller's stack
(the decoders stop at the interpreter's recursion limit, which does) and a thread with a
small stack (256 KiB) cannot overflow it inside a decoder.
"""

_BOM = "\ufeff"
_JSON_WHITESPACE = re.compile(r"[ \t\n\r]*")
_BLANK = b" \t\r"
_TOO_DEEP = f"the JSON value nests deeper than {MAX_NESTING_DEPTH} levels"
_STACK_EXHAUSTED = "the JSON value nests too deeply for the caller's stack"

_RestKind = Literal["continues", "truncated", "invalid", "not_an_object"]
_REST_REASONS: dict[_RestKind, ParseErrorReason] = {
    "continues": "truncated",
    "truncated": "truncated",
    "invalid": "invalid_json",
    "not_an_object": "not_an_object",
}

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
) -> tuple[_RestKind, str]:
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


class _Values:
    """What one piece of text decodes to: leading JSON values, then what is left.

    The decoder only sees the text before a bracket nested past the limit: the value
    that reaches it is the rest, ``invalid`` and too deep.
    """

    __slots__ = ("detail", "rest_kind", "rest_start", "values")

    def __init__(self, text: str, start: int) -> None:
        self.values: list[tuple[Any, int, int]] = []
        self.rest_start: int | None = None
        self.rest_kind: _RestKind = "invalid"
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
                    self.detail = _TOO_DEEP
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
# What may come next in an open object: the state of _OpenObject.
_VALUE, _FIRST_VALUE, _KEY, _FIRST_KEY, _AFTER_KEY, _AFTER_VALUE = range(6)
_VALUES = (_VALUE, _FIRST_VALUE)
_ScanVerdict = Literal["open", "closed", "invalid", "too_deep"]


class _OpenObject:
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
        ``"too_deep"`` when it nests deeper than :data:`MAX_NESTING_DEPTH`.
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


class FrameDecoder:
    """Turns a byte stream, fed in chunks of any size, into messages in stream order.

    ``emit`` receives every :class:`~rxclaude.messages.Message` (frames and
    :class:`~rxclaude.messages.ParseError`\\ s); ``now`` gives the ``received_at`` stamp
    of the frames that a chunk completes.
    """

    def __init__(
        self,
        emit: Callable[[Message], None],
        now: Callable[[], datetime],
        max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES,
    ) -> None:
        if max_frame_bytes < 1:
            raise ValueError(f"max_frame_bytes must be positive, not {max_frame_bytes}")
        self._emit = emit
        self._now = now
        self._max_frame_bytes = max_frame_bytes
        self._json_decoder = msgspec.json.Decoder()
        # The line in progress: its stream offset, its parts so far and their length.
        self._line_start = 0
        self._line_parts: list[bytes] = []
        self._line_length = 0
        # Set while the line in progress is over the limit: only its excerpt is kept.
        self._oversized_excerpt: bytes | None = None
        # Lines that may be the start of a JSON object pretty-printed over several lines.
        self._held_start = 0
        self._held_lines: list[str] = []
        self._held_length = 0
        self._held_object = _OpenObject()
        self.last_result: ResultMessage | None = None
        """The last ``result`` frame decoded so far."""

    def feed(self, chunk: BytesLike) -> None:
        """Decode the frames that ``chunk`` completes and keep the rest for later.

        ``chunk`` may be ``bytes``, ``bytearray`` or ``memoryview`` (read when fed, so its
        buffer may be reused afterwards); anything else raises :exc:`TypeError`.
        """
        if not isinstance(chunk, bytes):
            chunk = chunk_bytes(chunk)
        if not chunk:
            return
        lines = chunk.split(b"\n")
        tail = lines.pop()
        if not lines:
            self._extend_line(tail)
            return
        now = self._now()
        position = self._line_start
        if self._oversized_excerpt is not None:
            position = self._finish_oversized(lines[0], position, now)
            del lines[0]
        elif self._line_parts:
            # Joined here, so that every line is decoded at the same depth of the stack.
            self._line_parts.append(lines[0])
            lines[0] = b"".join(self._line_parts)
            self._line_parts = []
        check_size = self._line_length + len(chunk) > self._max_frame_bytes
        position = self._decode_lines(lines, position, now, check_size)
        self._line_start = position
        self._line_length = 0
        if tail:
            self._extend_line(tail)

    def finish(self) -> None:
        """End of stream: decode or report the last line, and anything held back."""
        now = self._now()
        if self._oversized_excerpt is not None:
            self._line_start = self._finish_oversized(b"", self._line_start, now)
        elif self._line_parts:
            line = b"".join(self._line_parts)
            self._line_parts = []
            self._line_start = self._decode_lines([line], self._line_start, now, False, True)
        self._line_length = 0
        self._release_held(now, "the stream ended inside this JSON value")

    # -- the line in progress ---------------------------------------------------------

    def _extend_line(self, data: bytes) -> None:
        self._line_length += len(data)
        excerpt = self._oversized_excerpt
        if excerpt is not None:
            if len(excerpt) < EXCERPT_BYTES:
                self._oversized_excerpt = excerpt + data[: EXCERPT_BYTES - len(excerpt)]
            return
        if self._line_length <= self._max_frame_bytes:
            self._line_parts.append(data)
            return
        self._line_parts.append(data[:EXCERPT_BYTES])
        self._oversized_excerpt = b"".join(self._line_parts)[:EXCERPT_BYTES]
        self._line_parts = []

    def _finish_oversized(self, last_part: bytes, position: int, now: datetime) -> int:
        """Report the line over the limit, ending with ``last_part``; return the next offset."""
        excerpt = self._oversized_excerpt or b""
        excerpt += last_part[: EXCERPT_BYTES - len(excerpt)]
        self._oversized_excerpt = None
        length = self._line_length + len(last_part)
        self._report_oversized(position, length, excerpt, now)
        return position + length + 1

    def _report_oversized(self, position: int, length: int, excerpt: bytes, now: datetime) -> None:
        self._release_held(now, "a line over the size limit interrupted this JSON value")
        self._error(
            "frame_too_large",
            position,
            length,
            excerpt=excerpt,
            detail=f"the line is {length} bytes, over the limit of {self._max_frame_bytes} bytes",
            now=now,
        )

    # -- complete lines -----------------------------------------------------------------

    def _decode_lines(
        self,
        lines: list[bytes],
        position: int,
        now: datetime,
        check_size: bool,
        at_end: bool = False,
    ) -> int:
        """Decode complete lines starting at stream offset ``position``; return the end.

        ``check_size`` is False when the lines are known to fit under the limit; ``at_end``
        is True for the last line of the stream, which has no line end.
        """
        emit = self._emit
        loads = self._json_decoder.decode
        message_types = MESSAGE_TYPES
        depth_limit = MAX_NESTING_DEPTH
        held = self._held_lines
        for line in lines:
            length = len(line)
            if check_size and length > self._max_frame_bytes:
                self._report_oversized(position, length, line[:EXCERPT_BYTES], now)
                position += length + 1
                continue
            if length > depth_limit and _nests_too_deep(line):
                self._decode_slowly(line, position, now, at_end)  # never decodes past the limit
                position += length + 1
                continue
            try:
                raw = loads(line)
            except Exception:  # examined, and classified, by the slow path
                self._decode_slowly(line, position, now, at_end)
            else:
                if raw.__class__ is dict and not held:
                    frame_type = raw.get("type")
                    if frame_type.__class__ is str:
                        cls = message_types.get(frame_type, UnknownMessage)
                        if cls is SystemMessage:
                            subtype = raw.get("subtype")
                            if subtype.__class__ is str:
                                cls = SYSTEM_SUBTYPES.get(subtype, SystemMessage)
                    else:
                        frame_type, cls = "", UnknownMessage
                    # The span is the object's text: b"{" (123) to b"}" (125), without a
                    # CRLF line end (b"\r" is 13) or blanks around it.
                    if line[-1] == 125 and line[0] == 123:
                        message = cls(frame_type, raw, position, length, now)
                    elif line[-1] == 13 and line[-2] == 125 and line[0] == 123:
                        message = cls(frame_type, raw, position, length - 1, now)
                    else:
                        start = position + length - len(line.lstrip(_BLANK))
                        message = cls(frame_type, raw, start, len(line.strip(_BLANK)), now)
                    if cls is ResultMessage:
                        self.last_result = message  # type: ignore[assignment]
                    emit(message)
                else:
                    self._decode_slowly(line, position, now, at_end)
            position += length + 1
        return position

    def _decode_slowly(self, line: bytes, position: int, now: datetime, at_end: bool) -> None:
        """Everything the fast path cannot take: junk, partial and multi-object lines.

        A trailing ``\\r`` stays in the text (it is JSON whitespace), so that character
        positions map back to exact stream offsets.
        """
        if not line.strip(_BLANK):
            if self._held_lines:
                self._hold(line.decode("ascii"))
            return
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError as error:
            if not at_end or error.reason != "unexpected end of data":
                self._report_invalid_utf8(line, position, error, now)
                return
            # The stream stopped inside a character: its bytes become lone surrogates, so
            # that inside a string it reads as a cut value (see _emit_values).
            text = line.decode("utf-8", "surrogateescape")
        if self._held_lines and self._continue_held(text, now, at_end):
            return
        start = 1 if position == 0 and text.startswith(_BOM) else 0
        self._emit_values(text, _Values(text, start), position, now)

    def _report_invalid_utf8(
        self, line: bytes, position: int, error: UnicodeDecodeError, now: datetime
    ) -> None:
        self._release_held(now, "an invalid UTF-8 line interrupted this JSON value")
        content = line.removesuffix(b"\r")
        self._error(
            "invalid_utf8",
            position,
            len(content),
            excerpt=content,
            detail=f"invalid UTF-8 at byte {position + error.start}: {error.reason}",
            now=now,
        )

    def _continue_held(self, text: str, now: datetime, at_end: bool) -> bool:
        """Try ``text`` as the next line of the held-back object; True if it was used."""
        alone = _Values(text, 0)
        if alone.rest_start is None and alone.values and isinstance(alone.values[0][0], dict):
            self._release_held(now, "the next line is a JSON object of its own")
            return False
        if self._held_length + _utf8_length(text, 0, len(text)) > self._max_frame_bytes:
            self._release_held(now, "the value grew over the size limit", "frame_too_large")
            return False
        verdict = self._held_object.scan(text)
        if verdict == "open":
            self._hold(text)
            return True
        if verdict == "too_deep":
            self._release_held(
                now, f"it nests deeper than {MAX_NESTING_DEPTH} levels", "invalid_json"
            )
            return False
        joined = "\n".join([*self._held_lines, text])
        if verdict == "closed":
            combined = _Values(joined, 0)
            if combined.values:
                held_start = self._held_start
                self._held_lines.clear()
                self._held_length = 0
                self._emit_values(joined, combined, held_start, now)
                return True
        elif at_end and _Values(joined, 0).rest_kind == "truncated":
            self._hold(text)  # the stream stopped inside this object: finish() reports it
            return True
        self._release_held(now, "the lines after it do not complete it")
        return False

    def _emit_values(self, text: str, values: _Values, position: int, now: datetime) -> None:
        """Emit the leading JSON objects of ``text``, then report or hold what is left.

        Decoding stops at the first value that is not an object: from there on the text
        is one error, ``not_an_object`` if it is nothing but such values.
        """
        rest_start, rest_kind, detail = values.rest_start, values.rest_kind, values.detail
        for index, (value, begin, end) in enumerate(values.values):
            if not isinstance(value, dict):
                if rest_start is None:
                    rest_kind = "not_an_object"
                    detail = f"a JSON {_json_type_name(value)} is not a frame (frames are objects)"
                    if any(isinstance(other, dict) for other, _, _ in values.values[index:]):
                        rest_kind = "invalid"
                        detail = "JSON values other than objects on this line"
                rest_start = begin
                break
            message = message_from_json(
                value,
                offset=position + _utf8_length(text, 0, begin),
                nbytes=_utf8_length(text, begin, end),
                received_at=now,
            )
            if isinstance(message, ResultMessage):
                self.last_result = message
            self._emit(message)
        if rest_start is None:
            return
        rest_offset = position + _utf8_length(text, 0, rest_start)
        rest = text[rest_start:]
        if rest_kind == "continues" and rest.startswith("{"):
            held_object = _OpenObject()
            verdict = held_object.scan(rest[1:])
            if verdict == "open":
                self._held_start = rest_offset
                self._held_object = held_object
                self._hold(rest)
                return
            if verdict == "too_deep":
                rest_kind, detail = "invalid", _TOO_DEEP
        reason: ParseErrorReason = _REST_REASONS[rest_kind]
        content = rest.rstrip(" \t\r")
        try:
            excerpt = content.encode("utf-8")
        except UnicodeEncodeError:  # lone surrogates: the stream stopped inside a character
            excerpt = content.encode("utf-8", "surrogateescape")
            if reason != "truncated":
                reason, detail = "invalid_utf8", "the stream ended inside a UTF-8 character"
        self._error(reason, rest_offset, len(excerpt), excerpt=excerpt, detail=detail, now=now)

    # -- values held back across lines ---------------------------------------------

    def _hold(self, text: str) -> None:
        self._held_lines.append(text)
        self._held_length += _utf8_length(text, 0, len(text)) + 1

    def _release_held(
        self, now: datetime, why: str, reason: ParseErrorReason = "truncated"
    ) -> None:
        """Report the held-back lines as one error: they never became a JSON object."""
        if not self._held_lines:
            return
        text = "\n".join(self._held_lines).rstrip(" \t\r\n")
        data = text.encode("utf-8", "surrogateescape")
        self._held_lines.clear()
        self._held_length = 0
        self._error(
            reason,
            self._held_start,
            len(data),
            excerpt=data,
            detail=f"incomplete JSON: {why}",
            now=now,
        )

    def _error(
        self,
        reason: ParseErrorReason,
        offset: int,
        nbytes: int,
        *,
        excerpt: bytes,
        detail: str,
        now: datetime,
    ) -> None:
        self._emit(
            ParseError(
                reason=reason,
                offset=offset,
                nbytes=nbytes,
                excerpt=excerpt[:EXCERPT_BYTES],
                detail=detail,
                received_at=now,
            )
        )


def chunk_bytes(chunk: object) -> bytes:
    """The bytes of a ``bytes``, ``bytearray`` or ``memoryview`` chunk, copied.

    Raises:
        TypeError: ``chunk`` is anything else (a ``str``, ``None``…), named in the message.
    """
    if isinstance(chunk, BytesLike):
        return bytes(chunk)
    raise TypeError(
        f"chunks must be bytes-like (bytes, bytearray, memoryview), not {type(chunk).__name__}"
    )


# A JSON string (to its end, if unterminated), an opening or a closing bracket.
_STRUCTURE = re.compile(r'(?P<open>[\[{])|(?P<close>[\]}])|"(?:[^"\\]++|\\.)*+"?', re.DOTALL)
_NOT_BRACKETS = bytes(sorted(set(range(256)) - set(b"[]{}")))
_DEPTH_STEPS = bytes.maketrans(b"[]{}", b"\x01\xff\x01\xff")  # +1 and -1 as signed bytes


def nests_too_deeply(text: str) -> bool:
    """Whether a JSON value in ``text`` nests deeper than :data:`MAX_NESTING_DEPTH`.

    For JSON carried inside messages (tool input streamed in pieces): decoding it under
    the framing's limit keeps any decoder within a small stack.
    """
    return _nesting_limit_index(text, 0) >= 0


def _nesting_limit_index(text: str, start: int) -> int:
    """The index of the first bracket in ``text[start:]`` nested past the limit, else -1.

    Brackets in JSON strings do not count; the scan stops at a closing bracket that closes
    nothing, where every decoder stops too.
    """
    if text.count("[", start) + text.count("{", start) <= MAX_NESTING_DEPTH:
        return -1
    depth = 0
    for token in _STRUCTURE.finditer(text, start):
        if token.lastgroup == "open":
            depth += 1
            if depth > MAX_NESTING_DEPTH:
                return token.start()
        elif token.lastgroup == "close":
            if not depth:
                break
            depth -= 1
    return -1


_COUNTED_LINE_BYTES = 4096
"""Shorter lines have their brackets counted; in longer ones, ``find`` (``memchr``) leaps
from bracket to bracket over the long strings between them."""


def _nests_too_deep(line: bytes) -> bool:
    """Whether ``_nesting_limit_index`` finds a bracket past the limit in ``line``, quickly.

    A line with no more brackets than the limit is let through at once; only the others
    are scanned, outside their strings, a piece per quote.
    """
    if len(line) < _COUNTED_LINE_BYTES:
        brackets = line.count(b"{") + line.count(b"[")
        return brackets > MAX_NESTING_DEPTH and _nesting_exceeds_limit(line)
    brackets = 0
    find = line.find
    for bracket in (b"{", b"["):
        index = find(bracket)
        while index >= 0:
            brackets += 1
            if brackets > MAX_NESTING_DEPTH:
                return _nesting_exceeds_limit(line)
            index = find(bracket, index + 1)
    return False


def _nesting_exceeds_limit(line: bytes) -> bool:
    """The exact answer of ``_nests_too_deep``: the depth of the brackets outside strings."""
    parts = line.split(b'"')
    if b"\\" in line:
        outside = []
        inside = False
        for part in parts:
            if not inside:
                outside.append(part)
                inside = True
            elif part[-1:] != b"\\" or (
                part[-2:-1] == b"\\" and (len(part) - len(part.rstrip(b"\\"))) % 2 == 0
            ):
                inside = False  # the quote after this part is not escaped: the string ends
    else:
        outside = parts[::2]
    steps = b"".join(outside).translate(_DEPTH_STEPS, _NOT_BRACKETS)
    if len(steps) <= MAX_NESTING_DEPTH:
        return False
    depths = list(accumulate(array("b", steps)))
    if -1 in depths:  # a bracket that closes nothing: no decoder gets further
        del depths[depths.index(-1) :]
    return max(depths, default=0) > MAX_NESTING_DEPTH


def _json_type_name(value: Any) -> str:
    names = {str: "string", bool: "boolean", int: "number", float: "number", list: "array"}
    return names.get(type(value), "null")


def _utf8_length(text: str, begin: int, end: int) -> int:
    """Bytes of ``text[begin:end]`` in UTF-8 (lone surrogates stand for one byte each)."""
    piece = text[begin:end]
    return len(piece) if piece.isascii() else len(piece.encode("utf-8", "surrogateescape"))
