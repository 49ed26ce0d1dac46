"""The slow path of the framing: every line that is not one JSON object by itself.

A line the fast path cannot take is examined here. Several objects on one line are each a
frame; a JSON object pretty-printed over several lines is put back together from the
lines that cannot stand alone (a line that is a JSON object by itself always stands
alone, so a broken line never swallows the frames after it); everything else becomes a
:class:`~rxclaude.messages.ParseError` at its place in the stream.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from rxclaude.framing.depth import MAX_NESTING_DEPTH, TOO_DEEP
from rxclaude.framing.syntax import OpenObject, RestKind, Values, json_type_name, utf8_length
from rxclaude.messages import (
    EXCERPT_BYTES,
    Message,
    ParseError,
    ParseErrorReason,
    ResultMessage,
    message_from_json,
)

Append = Callable[[Message], None]
"""Where decoded messages go: a list's ``append``, or a callback."""

BLANK = b" \t\r"
"""The bytes around a frame that are not part of it (``\\r`` of a CRLF line end too)."""

_BOM = "\ufeff"
_REST_REASONS: dict[RestKind, ParseErrorReason] = {
    "continues": "truncated",
    "truncated": "truncated",
    "invalid": "invalid_json",
    "not_an_object": "not_an_object",
}


def parse_error(
    reason: ParseErrorReason,
    offset: int,
    nbytes: int,
    *,
    excerpt: bytes,
    detail: str,
    now: datetime,
) -> ParseError:
    """A parse error with at most :data:`~rxclaude.messages.EXCERPT_BYTES` of excerpt."""
    return ParseError(
        reason=reason,
        offset=offset,
        nbytes=nbytes,
        excerpt=excerpt[:EXCERPT_BYTES],
        detail=detail,
        received_at=now,
    )


class LineRecovery:
    """Decodes the lines the fast path cannot take, holding back the lines of an object
    that may continue on the next ones.

    Every method hands what it decodes to the ``append`` it is given, in stream order.
    While :attr:`held` is not empty, every line must come here, even one the fast path
    could take: it may be the end of the held object.
    """

    __slots__ = (
        "_held_length",
        "_held_object",
        "_held_start",
        "_max_frame_bytes",
        "held",
        "last_result",
    )

    def __init__(self, max_frame_bytes: int) -> None:
        self._max_frame_bytes = max_frame_bytes
        self.held: list[str] = []
        """The lines held back; the same list for the decoder's life."""
        self._held_start = 0
        self._held_length = 0
        self._held_object = OpenObject()
        self.last_result: ResultMessage | None = None
        """The last ``result`` frame decoded here."""

    def decode(
        self, line: bytes, position: int, now: datetime, at_end: bool, append: Append
    ) -> None:
        """Junk, partial and multi-object lines, and the lines after a held one.

        A trailing ``\\r`` stays in the text (it is JSON whitespace), so that character
        positions map back to exact stream offsets.
        """
        if not line.strip(BLANK):
            if self.held:
                self._hold(line.decode("ascii"))
            return
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError as error:
            if not at_end or error.reason != "unexpected end of data":
                self._report_invalid_utf8(line, position, error, now, append)
                return
            # The stream stopped inside a character: its bytes become lone surrogates, so
            # that inside a string it reads as a cut value (see _emit_values).
            text = line.decode("utf-8", "surrogateescape")
        if self.held and self._continue_held(text, now, at_end, append):
            return
        start = 1 if position == 0 and text.startswith(_BOM) else 0
        self._emit_values(text, Values(text, start), position, now, append)

    def release(
        self,
        now: datetime,
        why: str,
        append: Append,
        reason: ParseErrorReason = "truncated",
    ) -> None:
        """Report the held-back lines as one error: they never became a JSON object."""
        if not self.held:
            return
        text = "\n".join(self.held).rstrip(" \t\r\n")
        data = text.encode("utf-8", "surrogateescape")
        self.held.clear()
        self._held_length = 0
        append(
            parse_error(
                reason,
                self._held_start,
                len(data),
                excerpt=data,
                detail=f"incomplete JSON: {why}",
                now=now,
            )
        )

    def _report_invalid_utf8(
        self,
        line: bytes,
        position: int,
        error: UnicodeDecodeError,
        now: datetime,
        append: Append,
    ) -> None:
        self.release(now, "an invalid UTF-8 line interrupted this JSON value", append)
        content = line.removesuffix(b"\r")
        append(
            parse_error(
                "invalid_utf8",
                position,
                len(content),
                excerpt=content,
                detail=f"invalid UTF-8 at byte {position + error.start}: {error.reason}",
                now=now,
            )
        )

    def _continue_held(self, text: str, now: datetime, at_end: bool, append: Append) -> bool:
        """Try ``text`` as the next line of the held-back object; True if it was used."""
        alone = Values(text, 0)
        if alone.rest_start is None and alone.values and isinstance(alone.values[0][0], dict):
            self.release(now, "the next line is a JSON object of its own", append)
            return False
        if self._held_length + utf8_length(text, 0, len(text)) > self._max_frame_bytes:
            self.release(now, "the value grew over the size limit", append, "frame_too_large")
            return False
        verdict = self._held_object.scan(text)
        if verdict == "open":
            self._hold(text)
            return True
        if verdict == "too_deep":
            self.release(
                now, f"it nests deeper than {MAX_NESTING_DEPTH} levels", append, "invalid_json"
            )
            return False
        joined = "\n".join([*self.held, text])
        if verdict == "closed":
            combined = Values(joined, 0)
            if combined.values:
                held_start = self._held_start
                self.held.clear()
                self._held_length = 0
                self._emit_values(joined, combined, held_start, now, append)
                return True
        elif at_end and Values(joined, 0).rest_kind == "truncated":
            self._hold(text)  # the stream stopped inside this object: release() reports it
            return True
        self.release(now, "the lines after it do not complete it", append)
        return False

    def _emit_values(
        self, text: str, values: Values, position: int, now: datetime, append: Append
    ) -> None:
        """Emit the leading JSON objects of ``text``, then report or hold what is left.

        Decoding stops at the first value that is not an object: from there on the text
        is one error, ``not_an_object`` if it is nothing but such values.
        """
        rest_start, rest_kind, detail = values.rest_start, values.rest_kind, values.detail
        for index, (value, begin, end) in enumerate(values.values):
            if not isinstance(value, dict):
                if rest_start is None:
                    rest_kind = "not_an_object"
                    detail = f"a JSON {json_type_name(value)} is not a frame (frames are objects)"
                    if any(isinstance(other, dict) for other, _, _ in values.values[index:]):
                        rest_kind = "invalid"
                        detail = "JSON values other than objects on this line"
                rest_start = begin
                break
            message = message_from_json(
                value,
                offset=position + utf8_length(text, 0, begin),
                nbytes=utf8_length(text, begin, end),
                received_at=now,
            )
            if isinstance(message, ResultMessage):
                self.last_result = message
            append(message)
        if rest_start is None:
            return
        rest_offset = position + utf8_length(text, 0, rest_start)
        rest = text[rest_start:]
        if rest_kind == "continues" and rest.startswith("{"):
            held_object = OpenObject()
            verdict = held_object.scan(rest[1:])
            if verdict == "open":
                self._held_start = rest_offset
                self._held_object = held_object
                self._hold(rest)
                return
            if verdict == "too_deep":
                rest_kind, detail = "invalid", TOO_DEEP
        reason: ParseErrorReason = _REST_REASONS[rest_kind]
        content = rest.rstrip(" \t\r")
        try:
            excerpt = content.encode("utf-8")
        except UnicodeEncodeError:  # lone surrogates: the stream stopped inside a character
            excerpt = content.encode("utf-8", "surrogateescape")
            if reason != "truncated":
                reason, detail = "invalid_utf8", "the stream ended inside a UTF-8 character"
        append(
            parse_error(reason, rest_offset, len(excerpt), excerpt=excerpt, detail=detail, now=now)
        )

    def _hold(self, text: str) -> None:
        self.held.append(text)
        self._held_length += utf8_length(text, 0, len(text)) + 1


__all__ = ["BLANK", "Append", "LineRecovery", "parse_error"]
