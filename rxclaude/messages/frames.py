"""The frames of the conversation (``assistant``, ``user``, ``result``, ``stream_event``)
and the others besides ``system``: control, rate-limit and tool-progress frames."""

from __future__ import annotations

from typing import Any

from rxclaude.messages.base import ClaudeMessage
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
        """True for the CLI's synthetic message reporting a failed API call: flagged
        ``is_api_error_message``, from the ``<synthetic>`` model, or carrying an ``error``.

        The one test of it: :func:`~rxclaude.messages.kinds_of` makes such a frame ERROR.
        """
        raw = self.raw or {}
        inner = raw.get("message")
        return (
            raw.get("is_api_error_message") is True
            or isinstance(raw.get("error"), str)
            or (isinstance(inner, dict) and inner.get("model") == "<synthetic>")
        )


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


__all__ = [
    "AssistantMessage",
    "ControlRequestMessage",
    "ControlResponseMessage",
    "RateLimitEventMessage",
    "ResultMessage",
    "StreamEventMessage",
    "ToolProgressMessage",
    "UserMessage",
]
