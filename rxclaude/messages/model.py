"""The typed message model: one class per top-level stream-json frame.

A message is a light, lazy view over its decoded JSON object (``raw``) plus where it
was in the byte stream (``offset``, ``nbytes``) and when it completed
(``received_at``, from the scheduler). Typed accessors read ``raw`` on access and never
raise: every field except ``type`` is optional, and a field of an unexpected JSON type
reads as ``None``. Frames of an unknown ``type`` become :class:`UnknownMessage`, unknown
``system`` subtypes stay :class:`SystemMessage`; nothing is dropped.

:class:`ParseError` is a message kind too, so bad input travels in the stream at its
place instead of ending it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

import msgspec

from rxclaude.messages.content import (
    ContentBlock,
    TextBlock,
    ToolResultBlock,
    ToolUseBlock,
    parse_blocks,
)
from rxclaude.messages.fields import (
    JSONObject,
    get_bool,
    get_dict,
    get_float,
    get_int,
    get_list,
    get_str,
    get_str_list,
)

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

    Messages are ``msgspec`` structs: building one costs about half of what a slotted
    class with an ``__init__`` costs, which is most of what framing adds to decoding.
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
        subtype = f", subtype={self.subtype!r}" if self.subtype is not None else ""
        return (
            f"{type(self).__name__}(type={self.type!r}{subtype}, "
            f"offset={self.offset}, nbytes={self.nbytes})"
        )

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


class SystemMessage(ClaudeMessage):
    """A ``system`` frame; subtypes without a dedicated class stay this type."""


class InitMessage(SystemMessage):
    """``system``/``init``: emitted at the start of each turn with the session's set-up."""

    @property
    def cwd(self) -> str | None:
        """The CLI's working directory."""
        return get_str(self.raw, "cwd")

    @property
    def model(self) -> str | None:
        """The model the session uses."""
        return get_str(self.raw, "model")

    @property
    def tools(self) -> list[str]:
        """Names of the tools available to the model."""
        return get_str_list(self.raw, "tools") or []

    @property
    def mcp_servers(self) -> list[JSONObject]:
        """MCP servers as ``{name, status, ...}`` objects."""
        return [s for s in get_list(self.raw, "mcp_servers") or [] if isinstance(s, dict)]

    @property
    def permission_mode(self) -> str | None:
        """``default``, ``acceptEdits``, ``bypassPermissions``, ``plan``, …"""
        return get_str(self.raw, "permissionMode")

    @property
    def api_key_source(self) -> str | None:
        """Where the API key came from (``ANTHROPIC_API_KEY``, ``none``, …)."""
        return get_str(self.raw, "apiKeySource")

    @property
    def claude_code_version(self) -> str | None:
        """The CLI's version (absent in old recordings)."""
        return get_str(self.raw, "claude_code_version")

    @property
    def slash_commands(self) -> list[str]:
        """The slash commands available."""
        return get_str_list(self.raw, "slash_commands") or []

    @property
    def agents(self) -> list[str]:
        """The subagent types available."""
        return get_str_list(self.raw, "agents") or []


class StatusMessage(SystemMessage):
    """``system``/``status``: ``requesting``, ``compacting`` or ``None`` (idle again)."""

    @property
    def status(self) -> str | None:
        """The new status; ``None`` means the previous one ended."""
        return get_str(self.raw, "status")

    @property
    def permission_mode(self) -> str | None:
        """The permission mode, when the status change carries it."""
        return get_str(self.raw, "permissionMode")

    @property
    def compact_result(self) -> str | None:
        """Outcome of a compaction, when this status ends one."""
        return get_str(self.raw, "compact_result")


class CompactBoundaryMessage(SystemMessage):
    """``system``/``compact_boundary``: the conversation was compacted here."""

    @property
    def compact_metadata(self) -> JSONObject:
        """``{trigger, pre_tokens, post_tokens?, ...}`` (``{}`` when absent)."""
        return get_dict(self.raw, "compact_metadata") or {}

    @property
    def trigger(self) -> str | None:
        """``manual`` or ``auto``."""
        return get_str(self.compact_metadata, "trigger")

    @property
    def pre_tokens(self) -> int | None:
        """Context tokens before compaction."""
        return get_int(self.compact_metadata, "pre_tokens")

    @property
    def post_tokens(self) -> int | None:
        """Context tokens after compaction."""
        return get_int(self.compact_metadata, "post_tokens")


class ApiRetryMessage(SystemMessage):
    """``system``/``api_retry``: an API call failed and the CLI will retry it."""

    @property
    def attempt(self) -> int | None:
        """Which attempt failed (1-based)."""
        return get_int(self.raw, "attempt")

    @property
    def max_retries(self) -> int | None:
        """How many retries the CLI allows."""
        return get_int(self.raw, "max_retries")

    @property
    def retry_delay_ms(self) -> float | None:
        """How long the CLI waits before retrying."""
        return get_float(self.raw, "retry_delay_ms")

    @property
    def error_status(self) -> int | None:
        """The HTTP status, or ``None`` when there was no response."""
        return get_int(self.raw, "error_status")

    @property
    def error(self) -> str | None:
        """The error category (``overloaded``, ``authentication_failed``, …)."""
        return get_str(self.raw, "error")


class _ConversationMessage(ClaudeMessage):
    """Shared accessors of ``assistant`` and ``user`` frames (their ``message`` object)."""

    @property
    def message(self) -> JSONObject:
        """The embedded API message object (``{}`` when absent)."""
        return get_dict(self.raw, "message") or {}

    @property
    def blocks(self) -> list[ContentBlock]:
        """The message's content as typed blocks (a string content is one text block)."""
        content = self.message.get("content")
        if isinstance(content, list):
            return parse_blocks(content)
        if isinstance(content, str):
            return [TextBlock({"type": "text", "text": content})]
        return []

    @property
    def text(self) -> str:
        """The text of the message's text blocks, concatenated."""
        return "".join(block.text for block in self.blocks if isinstance(block, TextBlock))


class AssistantMessage(_ConversationMessage):
    """An ``assistant`` frame: one completed content block of the model's reply.

    Consecutive frames of one API response share ``message_id``; their ``usage`` is
    per request and not final (the ``result`` frame has the totals).
    """

    @property
    def content(self) -> list[ContentBlock]:
        """The content blocks, typed."""
        return self.blocks

    @property
    def message_id(self) -> str | None:
        """The API message id (shared by the frames of one response)."""
        return get_str(self.message, "id")

    @property
    def model(self) -> str | None:
        """The model; ``<synthetic>`` for the CLI's own error messages."""
        return get_str(self.message, "model")

    @property
    def stop_reason(self) -> str | None:
        """Why the response stopped (often ``None`` on per-block frames)."""
        return get_str(self.message, "stop_reason")

    @property
    def usage(self) -> JSONObject:
        """Token usage of the request (``{}`` when absent)."""
        return get_dict(self.message, "usage") or {}

    @property
    def tool_uses(self) -> list[ToolUseBlock]:
        """The tool calls among the content blocks."""
        return [block for block in self.blocks if isinstance(block, ToolUseBlock)]

    @property
    def error(self) -> str | None:
        """The error category of a synthetic API-error message (``overloaded``, …)."""
        return get_str(self.raw, "error")

    @property
    def is_api_error(self) -> bool:
        """True for the CLI's synthetic message reporting a failed API call."""
        return get_bool(self.raw, "is_api_error_message") is True or self.model == "<synthetic>"


class UserMessage(_ConversationMessage):
    """A ``user`` frame: a prompt, a subagent prompt, or tool results."""

    @property
    def content(self) -> str | list[ContentBlock]:
        """A plain string, or the typed content blocks."""
        content = self.message.get("content")
        if isinstance(content, str):
            return content
        if isinstance(content, list):
            return parse_blocks(content)
        return []

    @property
    def tool_results(self) -> list[ToolResultBlock]:
        """The tool results among the content blocks."""
        return [block for block in self.blocks if isinstance(block, ToolResultBlock)]

    @property
    def tool_use_result(self) -> Any:
        """The tool's structured output as the CLI reports it (object or string)."""
        return self.raw.get("tool_use_result")

    @property
    def is_replay(self) -> bool:
        """True for echoes of stdin messages and local command output."""
        return get_bool(self.raw, "isReplay") is True

    @property
    def is_synthetic(self) -> bool:
        """True for messages the CLI made up itself."""
        return get_bool(self.raw, "isSynthetic") is True


class ResultMessage(ClaudeMessage):
    """A ``result`` frame: the end of a turn, with its totals.

    ``is_error`` can be true with ``subtype == "success"`` (a turn that ended on an API
    error); error subtypes carry ``errors`` and no ``result`` text.
    """

    @property
    def is_error(self) -> bool:
        """True when the turn failed."""
        return get_bool(self.raw, "is_error") is True

    @property
    def result(self) -> str | None:
        """The final text (success subtype only)."""
        return get_str(self.raw, "result")

    @property
    def errors(self) -> list[str]:
        """Error descriptions of the error subtypes."""
        return get_str_list(self.raw, "errors") or []

    @property
    def duration_ms(self) -> float | None:
        """Wall time of the turn."""
        return get_float(self.raw, "duration_ms")

    @property
    def duration_api_ms(self) -> float | None:
        """Time spent in API calls (may exceed ``duration_ms``)."""
        return get_float(self.raw, "duration_api_ms")

    @property
    def num_turns(self) -> int | None:
        """Model round-trips."""
        return get_int(self.raw, "num_turns")

    @property
    def total_cost_usd(self) -> float | None:
        """Estimated cost; also read from the pre-1.0.22 names ``total_cost``/``cost_usd``."""
        for key in ("total_cost_usd", "total_cost", "cost_usd"):
            value = get_float(self.raw, key)
            if value is not None:
                return value
        return None

    @property
    def usage(self) -> JSONObject:
        """Token usage of the main loop (``{}`` when absent)."""
        return get_dict(self.raw, "usage") or {}

    @property
    def model_usage(self) -> dict[str, JSONObject]:
        """Per-model token and cost accounting (``modelUsage``)."""
        value = get_dict(self.raw, "modelUsage") or {}
        return {model: usage for model, usage in value.items() if isinstance(usage, dict)}

    @property
    def permission_denials(self) -> list[JSONObject]:
        """The tool calls the permission system refused."""
        denials = get_list(self.raw, "permission_denials") or []
        return [denial for denial in denials if isinstance(denial, dict)]

    @property
    def stop_reason(self) -> str | None:
        """The last response's stop reason."""
        return get_str(self.raw, "stop_reason")

    @property
    def terminal_reason(self) -> str | None:
        """Why the turn ended (``completed``, ``max_turns``, ``api_error``, …)."""
        return get_str(self.raw, "terminal_reason")


class StreamEventMessage(ClaudeMessage):
    """A ``stream_event`` frame (``--include-partial-messages``): one raw API SSE event."""

    @property
    def event(self) -> JSONObject:
        """The API event object (``{}`` when absent)."""
        return get_dict(self.raw, "event") or {}

    @property
    def event_type(self) -> str | None:
        """``message_start``, ``content_block_delta``, ``message_stop``, …"""
        return get_str(self.event, "type")

    @property
    def index(self) -> int | None:
        """The content block index of block events."""
        return get_int(self.event, "index")

    @property
    def delta(self) -> JSONObject | None:
        """The ``delta`` object of ``content_block_delta`` and ``message_delta`` events."""
        return get_dict(self.event, "delta")

    @property
    def delta_type(self) -> str | None:
        """``text_delta``, ``input_json_delta``, ``thinking_delta``, …"""
        delta = self.delta
        return get_str(delta, "type") if delta is not None else None

    @property
    def content_block(self) -> ContentBlock | None:
        """The block announced by a ``content_block_start`` event."""
        block = get_dict(self.event, "content_block")
        return parse_blocks([block])[0] if block is not None else None


class ControlRequestMessage(ClaudeMessage):
    """A ``control_request`` from the CLI (e.g. ``can_use_tool``): the host must answer."""

    @property
    def request_id(self) -> str | None:
        """The id the answer must carry."""
        return get_str(self.raw, "request_id")

    @property
    def request(self) -> JSONObject:
        """The request object (``{}`` when absent)."""
        return get_dict(self.raw, "request") or {}

    @property
    def subtype(self) -> str | None:
        """The request's subtype (``can_use_tool``, ``hook_callback``, …)."""
        return get_str(self.request, "subtype")


class ControlResponseMessage(ClaudeMessage):
    """A ``control_response``: the answer to a control request."""

    @property
    def response(self) -> JSONObject:
        """The response envelope (``{}`` when absent)."""
        return get_dict(self.raw, "response") or {}

    @property
    def subtype(self) -> str | None:
        """``success`` or ``error``."""
        return get_str(self.response, "subtype")

    @property
    def request_id(self) -> str | None:
        """The id of the request this answers."""
        return get_str(self.response, "request_id")

    @property
    def is_error(self) -> bool:
        """True for an error response."""
        return self.subtype == "error"

    @property
    def error(self) -> str | None:
        """The error text of an error response."""
        return get_str(self.response, "error")


class RateLimitEventMessage(ClaudeMessage):
    """A ``rate_limit_event`` (claude.ai-login sessions)."""

    @property
    def rate_limit_info(self) -> JSONObject:
        """``{status, resetsAt?, rateLimitType?, utilization?, ...}``."""
        return get_dict(self.raw, "rate_limit_info") or {}

    @property
    def status(self) -> str | None:
        """``allowed``, ``allowed_warning`` or ``rejected``."""
        return get_str(self.rate_limit_info, "status")


class ToolProgressMessage(ClaudeMessage):
    """A ``tool_progress`` heartbeat of a long-running tool."""

    @property
    def tool_use_id(self) -> str | None:
        """The running tool call."""
        return get_str(self.raw, "tool_use_id")

    @property
    def tool_name(self) -> str | None:
        """The running tool's name."""
        return get_str(self.raw, "tool_name")

    @property
    def elapsed_time_seconds(self) -> float | None:
        """How long the tool has been running."""
        return get_float(self.raw, "elapsed_time_seconds")


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
}
"""The class of each known top-level ``type``."""

SYSTEM_SUBTYPES: dict[str, type[SystemMessage]] = {
    "init": InitMessage,
    "status": StatusMessage,
    "compact_boundary": CompactBoundaryMessage,
    "api_retry": ApiRetryMessage,
}
"""The class of each ``system`` subtype with a dedicated view."""


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
