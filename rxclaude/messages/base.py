"""The base of the message model: what every item of a stream is.

A message is a light, lazy view over its decoded JSON object (``raw``) plus where it
was in the byte stream (``offset``, ``nbytes``) and when it completed
(``received_at``, from the scheduler). Typed accessors read ``raw`` on access and never
raise: every field except ``type`` is optional, and a field of an unexpected JSON type
reads as ``None``. Frames of an unknown ``type`` become :class:`UnknownMessage`; nothing
is dropped. The classes of the known frame types are in :mod:`rxclaude.messages.system`
and :mod:`rxclaude.messages.frames`; :mod:`rxclaude.messages.model` maps types to them.

:class:`ParseError` is a message kind too, so bad input travels in the stream at its
place instead of ending it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal

import msgspec

from rxclaude.messages.display import message_html, message_repr, message_rich
from rxclaude.messages.fields import JSONObject, get_str

if TYPE_CHECKING:
    from rich.table import Table

ParseErrorReason = Literal[
    "invalid_json", "invalid_utf8", "frame_too_large", "truncated", "not_an_object"
]

EXCERPT_BYTES = 200
"""How many bytes of an offending frame a :class:`ParseError` keeps."""

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
"""``received_at`` of a message built without one."""


class Message(msgspec.Struct, eq=False, gc=False):
    """Base class of everything ``parse_json_frames`` emits.

    Attributes:
        type: the frame's ``type`` (``"parse_error"`` for :class:`ParseError`,
            ``""`` for a JSON object without a string ``type``).
        raw: the decoded JSON object (``None`` for :class:`ParseError`).
        offset: byte offset of the frame's first byte from the start of the stream.
        nbytes: bytes of the frame in the stream, without its line terminator, so
            ``stream[offset:offset + nbytes]`` is exactly the frame's JSON text.
        received_at: the scheduler's time when the frame's last byte arrived.

    Messages are ``msgspec`` structs because building them is most of what framing adds
    to decoding, and a struct is built faster than a slotted class with an ``__init__``.
    Two messages are equal when they are of the same class and have the same ``raw``,
    ``offset`` and ``nbytes`` (``received_at`` is not compared).

    Messages are not tracked by the cyclic garbage collector (``gc=False``): a stream of
    them waiting in a buffer would otherwise set off full collections of the whole process.
    They are freed by reference counting, so do not store a reference back to the message
    inside its ``raw`` (or anything ``raw`` reaches); that cycle would never be freed.
    A subclass with fields that can hold arbitrary objects must turn tracking back on
    (``class MyItem(Message, gc=True)``), as ``HandlerError`` and ``PartialItem`` do.
    """

    type: str = ""
    raw: JSONObject | None = None
    offset: int = 0
    nbytes: int = 0
    received_at: datetime = EPOCH

    @property
    def subtype(self) -> str | None:
        """The frame's ``subtype``, if it has a string one."""
        raw = self.raw
        return get_str(raw, "subtype") if raw is not None else None

    @property
    def session_id(self) -> str | None:
        """The session's id (absent on control frames)."""
        raw = self.raw
        return get_str(raw, "session_id") if raw is not None else None

    @property
    def uuid(self) -> str | None:
        """The frame's own id (absent in recordings older than CLI 1.0.86)."""
        raw = self.raw
        return get_str(raw, "uuid") if raw is not None else None

    @property
    def parent_tool_use_id(self) -> str | None:
        """Set when the frame comes from a subagent: the id of the tool call that runs it."""
        raw = self.raw
        return get_str(raw, "parent_tool_use_id") if raw is not None else None

    def __repr__(self) -> str:
        return message_repr(self)

    def _repr_html_(self) -> str:
        """The notebook display (:mod:`~rxclaude.messages.display`)."""
        return message_html(self)

    def __rich__(self) -> Table:
        """The display for ``rich.print`` and rich consoles (terminal-safe)."""
        return message_rich(self)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        assert isinstance(other, Message)
        return (
            self.raw == other.raw
            and self.offset == other.offset
            and self.nbytes == other.nbytes
            and self.type == other.type
        )

    __hash__ = None  # type: ignore[assignment]


class ClaudeMessage(Message):
    """A frame that decoded to a JSON object: ``raw`` is never ``None``."""

    raw: JSONObject = msgspec.field(default_factory=dict)


class UnknownMessage(ClaudeMessage):
    """A frame of a ``type`` this version does not know; ``raw`` keeps all of it."""


class ParseError(Message, kw_only=True):
    """Bad input, in the stream at its place: what went wrong and where.

    Attributes:
        reason: ``invalid_json``, ``invalid_utf8``, ``frame_too_large``, ``truncated``
            (the stream ended inside a frame) or ``not_an_object``.
        detail: a human-readable explanation.
        excerpt: the first bytes of the offending frame (at most 200).
    """

    type: str = "parse_error"
    raw: None = None
    reason: ParseErrorReason
    detail: str = ""
    excerpt: bytes = b""

    def __post_init__(self) -> None:
        if len(self.excerpt) > EXCERPT_BYTES:
            self.excerpt = self.excerpt[:EXCERPT_BYTES]

    @property
    def subtype(self) -> str:
        """The ``reason``, so parse errors can be routed by subtype like other frames."""
        return self.reason

    def __str__(self) -> str:
        return (
            f"{self.reason} at byte {self.offset} ({self.nbytes} bytes): {self.detail}; "
            f"starts with {self.excerpt[:60]!r}"
        )

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, ParseError)
            and super().__eq__(other) is True
            and self.reason == other.reason
            and self.excerpt == other.excerpt
        )

    __hash__ = None


__all__ = [
    "EPOCH",
    "EXCERPT_BYTES",
    "ClaudeMessage",
    "Message",
    "ParseError",
    "ParseErrorReason",
    "UnknownMessage",
]
