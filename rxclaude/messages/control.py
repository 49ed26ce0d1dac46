"""The control protocol's frames, typed by subtype (``--input-format stream-json``).

Both directions use the same three frame types: a ``control_request`` (``request_id`` and
a ``request`` object with its ``subtype``), the ``control_response`` that answers it
(``success`` with a ``response`` object, or ``error`` with an ``error`` text), and a
``control_cancel_request`` withdrawing a pending request.

Framing types a frame by its top-level ``type`` only (``ControlRequestMessage``,
``ControlResponseMessage``, and ``UnknownMessage`` for a cancellation);
:func:`typed_control` refines one to the class of its subtype
(:class:`CanUseToolRequest`, :class:`HookCallbackRequest`, …), and :func:`control_message`
builds the typed view of a frame a host writes.
"""

from __future__ import annotations

from datetime import UTC, datetime

from rxclaude.messages.base import ClaudeMessage, UnknownMessage
from rxclaude.messages.fields import JSONObject, get_dict, get_list, get_str
from rxclaude.messages.frames import ControlRequestMessage, ControlResponseMessage


class CanUseToolRequest(ControlRequestMessage):
    """``can_use_tool``: the CLI asks whether a tool call may run (``--permission-prompt-tool
    stdio``); the answer allows it (possibly with another input) or denies it."""

    @property
    def tool_name(self) -> str | None:
        """The tool the model wants to call."""
        return get_str(self.request, "tool_name")

    @property
    def input(self) -> JSONObject:
        """The tool call's input (``{}`` when absent)."""
        return get_dict(self.request, "input") or {}

    @property
    def tool_use_id(self) -> str | None:
        """The id of the ``tool_use`` block asking."""
        return get_str(self.request, "tool_use_id")

    @property
    def permission_suggestions(self) -> list[JSONObject]:
        """Permission updates the CLI suggests (e.g. allow this tool from now on)."""
        suggestions = get_list(self.request, "permission_suggestions") or []
        return [suggestion for suggestion in suggestions if isinstance(suggestion, dict)]

    @property
    def blocked_path(self) -> str | None:
        """The path outside the allowed directories, when that is why the CLI asks."""
        return get_str(self.request, "blocked_path")

    @property
    def description(self) -> str | None:
        """The CLI's one-line description of the call, when it gives one."""
        return get_str(self.request, "description")


class HookCallbackRequest(ControlRequestMessage):
    """``hook_callback``: a hook the host registered in ``initialize`` fired."""

    @property
    def callback_id(self) -> str | None:
        """The id the host gave the callback in ``initialize``."""
        return get_str(self.request, "callback_id")

    @property
    def input(self) -> JSONObject:
        """The hook's input (``hook_event_name``, ``tool_name``, ``tool_input``, …)."""
        return get_dict(self.request, "input") or {}

    @property
    def hook_event_name(self) -> str | None:
        """``PreToolUse``, ``PostToolUse``, ``UserPromptSubmit``, …"""
        return get_str(self.input, "hook_event_name")

    @property
    def tool_use_id(self) -> str | None:
        """The tool call the hook is about, for tool hooks."""
        return get_str(self.request, "tool_use_id")


class McpMessageRequest(ControlRequestMessage):
    """``mcp_message``: a JSON-RPC message for an MCP server the host runs in process."""

    @property
    def server_name(self) -> str | None:
        """The in-process server addressed."""
        return get_str(self.request, "server_name")

    @property
    def message(self) -> JSONObject:
        """The JSON-RPC message (``{}`` when absent)."""
        return get_dict(self.request, "message") or {}


class InitializeRequest(ControlRequestMessage):
    """``initialize`` (host to CLI): the first request, registering the host's hooks."""

    @property
    def hooks(self) -> JSONObject:
        """``{event: [{matcher, hookCallbackIds, timeout?}, …]}`` (``{}`` when absent)."""
        return get_dict(self.request, "hooks") or {}


class InterruptRequest(ControlRequestMessage):
    """``interrupt`` (host to CLI): stop the turn in progress."""


class SetModelRequest(ControlRequestMessage):
    """``set_model`` (host to CLI): the model for the next requests."""

    @property
    def model(self) -> str | None:
        """The model's name; ``None`` for the default."""
        return get_str(self.request, "model")


class SetPermissionModeRequest(ControlRequestMessage):
    """``set_permission_mode`` (host to CLI)."""

    @property
    def mode(self) -> str | None:
        """``default``, ``acceptEdits``, ``plan``, ``bypassPermissions``, …"""
        return get_str(self.request, "mode")


class ControlSuccessResponse(ControlResponseMessage):
    """A ``control_response`` with subtype ``success``."""

    @property
    def payload(self) -> JSONObject:
        """What the request produced (``{}`` when absent)."""
        return get_dict(self.response, "response") or {}


class ControlErrorResponse(ControlResponseMessage):
    """A ``control_response`` with subtype ``error``: ``error`` says why."""

    @property
    def error_code(self) -> str | None:
        """The CLI's code for the error (``unsupported_request``, …), when it gives one."""
        return get_str(self.response, "error_code")


class ControlCancelRequestMessage(ClaudeMessage):
    """A ``control_cancel_request``: the CLI withdraws a request it made."""

    @property
    def request_id(self) -> str | None:
        """The id of the withdrawn request."""
        return get_str(self.raw, "request_id")


CONTROL_REQUEST_SUBTYPES: dict[str, type[ControlRequestMessage]] = {
    "can_use_tool": CanUseToolRequest,
    "hook_callback": HookCallbackRequest,
    "mcp_message": McpMessageRequest,
    "initialize": InitializeRequest,
    "interrupt": InterruptRequest,
    "set_model": SetModelRequest,
    "set_permission_mode": SetPermissionModeRequest,
}
"""The class of each control request subtype with a dedicated view (others stay
:class:`~rxclaude.messages.ControlRequestMessage`)."""

CONTROL_RESPONSE_SUBTYPES: dict[str, type[ControlResponseMessage]] = {
    "success": ControlSuccessResponse,
    "error": ControlErrorResponse,
}
"""The class of each control response subtype."""


def typed_control(message: ClaudeMessage) -> ClaudeMessage:
    """The same frame as the class of its control subtype (``message`` itself when it is
    no control frame, or of a subtype without a dedicated class)."""
    cls: type[ClaudeMessage] | None = None
    if type(message) is UnknownMessage and message.type == "control_cancel_request":
        cls = ControlCancelRequestMessage
    elif type(message) is ControlRequestMessage:
        cls = CONTROL_REQUEST_SUBTYPES.get(message.subtype or "")
    elif type(message) is ControlResponseMessage:
        cls = CONTROL_RESPONSE_SUBTYPES.get(message.subtype or "")
    if cls is None:
        return message
    return cls(message.type, message.raw, message.offset, message.nbytes, message.received_at)


def control_message(raw: JSONObject, at: datetime | None = None) -> ClaudeMessage:
    """The typed view of a control frame a host writes (``offset`` and ``nbytes`` 0: it is
    not in the CLI's output); ``received_at`` is when it was written."""
    frame_type = raw.get("type")
    base: type[ClaudeMessage]
    if frame_type == "control_request":
        base = ControlRequestMessage
    elif frame_type == "control_response":
        base = ControlResponseMessage
    elif frame_type == "control_cancel_request":
        base = ControlCancelRequestMessage
    else:
        raise ValueError(f"not a control frame: type {frame_type!r}")
    message = base(str(frame_type), raw, 0, 0, at if at is not None else datetime.now(UTC))
    return typed_control(message)


__all__ = [
    "CONTROL_REQUEST_SUBTYPES",
    "CONTROL_RESPONSE_SUBTYPES",
    "CanUseToolRequest",
    "ControlCancelRequestMessage",
    "ControlErrorResponse",
    "ControlSuccessResponse",
    "HookCallbackRequest",
    "InitializeRequest",
    "InterruptRequest",
    "McpMessageRequest",
    "SetModelRequest",
    "SetPermissionModeRequest",
    "control_message",
    "typed_control",
]
