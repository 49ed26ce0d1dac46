"""The typed message model: one class per top-level stream-json frame.

A message is a light, lazy view over its decoded JSON object (``raw``) plus where it
was in the byte stream (``offset``, ``nbytes``) and when it completed
(``received_at``, from the scheduler). Typed accessors read ``raw`` on access and never
raise: every field except ``type`` is optional, and a field of an unexpected JSON type
reads as ``None``. Frames of an unknown ``type`` become :class:`UnknownMessage`, unknown
``system`` subtypes stay :class:`SystemMessage`; nothing is dropped.

:class:`ParseError` is a message kind too, so bad input travels in the stream at its
place instead of ending it.

This module maps each frame type to its class (:data:`MESSAGE_TYPES`,
:data:`SYSTEM_SUBTYPES`, :func:`message_from_json`) and gathers the classes, which live in
:mod:`~rxclaude.messages.base` (:class:`Message`, :class:`ParseError`),
:mod:`~rxclaude.messages.system` and :mod:`~rxclaude.messages.frames`, and the line types of
session transcripts, in :mod:`~rxclaude.messages.transcript`.
"""

from __future__ import annotations

from datetime import UTC, datetime

from rxclaude.messages.base import (
    EPOCH,
    EXCERPT_BYTES,
    ClaudeMessage,
    Message,
    ParseError,
    ParseErrorReason,
    UnknownMessage,
)
from rxclaude.messages.fields import JSONObject
from rxclaude.messages.frames import (
    AssistantMessage,
    ControlRequestMessage,
    ControlResponseMessage,
    RateLimitEventMessage,
    ResultMessage,
    StreamEventMessage,
    ToolProgressMessage,
    UserMessage,
)
from rxclaude.messages.system import SYSTEM_SUBTYPES as STREAM_SYSTEM_SUBTYPES
from rxclaude.messages.system import (
    ApiRetryMessage,
    CompactBoundaryMessage,
    InitMessage,
    StatusMessage,
    SystemMessage,
)
from rxclaude.messages.transcript import TRANSCRIPT_SYSTEM_SUBTYPES, TRANSCRIPT_TYPES

MESSAGE_TYPES: dict[str, type[ClaudeMessage]] = {
    "system": SystemMessage,
    "assistant": AssistantMessage,
    "user": UserMessage,
    "result": ResultMessage,
    "stream_event": StreamEventMessage,
    "control_request": ControlRequestMessage,
    "control_response": ControlResponseMessage,
    "rate_limit_event": RateLimitEventMessage,
    "tool_progress": ToolProgressMessage,
    **TRANSCRIPT_TYPES,
}
"""The class of each known top-level ``type`` (session transcripts' own types too)."""

SYSTEM_SUBTYPES: dict[str, type[SystemMessage]] = {
    **STREAM_SYSTEM_SUBTYPES,
    **TRANSCRIPT_SYSTEM_SUBTYPES,
}
"""The class of each ``system`` subtype with a dedicated view (transcripts' too)."""


def message_from_json(
    raw: JSONObject,
    *,
    offset: int = 0,
    nbytes: int = 0,
    received_at: datetime | None = None,
) -> ClaudeMessage:
    """The typed message for a decoded frame (an :class:`UnknownMessage` if unknown).

    ``parse_json_frames`` builds its messages with this; it is public so frames from
    elsewhere (a database, a test) get the same typed views.
    """
    frame_type = raw.get("type")
    if not isinstance(frame_type, str):
        frame_type = ""
    cls = MESSAGE_TYPES.get(frame_type, UnknownMessage)
    if cls is SystemMessage:
        subtype = raw.get("subtype")
        if isinstance(subtype, str):
            cls = SYSTEM_SUBTYPES.get(subtype, SystemMessage)
    return cls(frame_type, raw, offset, nbytes, received_at if received_at else datetime.now(UTC))


__all__ = [
    "EPOCH",
    "EXCERPT_BYTES",
    "MESSAGE_TYPES",
    "SYSTEM_SUBTYPES",
    "ApiRetryMessage",
    "AssistantMessage",
    "ClaudeMessage",
    "CompactBoundaryMessage",
    "ControlRequestMessage",
    "ControlResponseMessage",
    "InitMessage",
    "Message",
    "ParseError",
    "ParseErrorReason",
    "RateLimitEventMessage",
    "ResultMessage",
    "StatusMessage",
    "StreamEventMessage",
    "SystemMessage",
    "ToolProgressMessage",
    "UnknownMessage",
    "UserMessage",
    "message_from_json",
]
