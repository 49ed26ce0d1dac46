"""The line types of session transcripts (``~/.claude/projects/<slug>/<session>.jsonl``).

Transcripts are the CLI's own persistence, not stream-json: besides ``user``,
``assistant`` and ``system`` entries they hold lines of their own types, with camelCase
keys. Each type seen in the CLI's transcripts (2.1.38 to 2.1.332) has a view here;
:mod:`~rxclaude.messages.model` registers them, so ``parse_json_frames`` and
:func:`~rxclaude.messages.message_from_json` type them too. Types not listed here stay
:class:`~rxclaude.messages.UnknownMessage`, with all of their JSON.

No line type here has a :class:`~rxclaude.messages.Kind`: route them by ``type``.
"""

from __future__ import annotations

from typing import Any

from rxclaude.messages.base import ClaudeMessage
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
from rxclaude.messages.system import SystemMessage


class SummaryMessage(ClaudeMessage):
    """``summary``: a conversation's title, at the start of older transcripts."""

    @property
    def summary(self) -> str | None:
        """The title text."""
        return get_str(self.raw, "summary")

    @property
    def leaf_uuid(self) -> str | None:
        """The last entry of the conversation it summarises."""
        return get_str(self.raw, "leafUuid")


class FileHistorySnapshotMessage(ClaudeMessage):
    """``file-history-snapshot``: the backups of edited files, taken at a user prompt."""

    @property
    def message_id(self) -> str | None:
        """The ``uuid`` of the user entry the snapshot belongs to."""
        return get_str(self.raw, "messageId")

    @property
    def snapshot(self) -> JSONObject:
        """``{messageId, trackedFileBackups, timestamp}`` (``{}`` when absent)."""
        return get_dict(self.raw, "snapshot") or {}

    @property
    def tracked_files(self) -> list[str]:
        """The paths with a backup."""
        return list(get_dict(self.snapshot, "trackedFileBackups") or {})

    @property
    def is_snapshot_update(self) -> bool:
        """True when it updates an earlier snapshot of the same prompt."""
        return get_bool(self.raw, "isSnapshotUpdate") is True


class QueueOperationMessage(ClaudeMessage):
    """``queue-operation``: a prompt queued (``enqueue``) or taken up (``dequeue``, …)."""

    @property
    def operation(self) -> str | None:
        """``enqueue``, ``dequeue``, ``remove``, …"""
        return get_str(self.raw, "operation")

    @property
    def content(self) -> str | None:
        """The queued prompt (on ``enqueue``)."""
        return get_str(self.raw, "content")


class ProgressMessage(ClaudeMessage):
    """``progress``: a hook, a Bash command or a subagent at work (``data.type`` says which:
    ``hook_progress``, ``bash_progress``, ``agent_progress``, ``waiting_for_task``)."""

    @property
    def data(self) -> JSONObject:
        """The progress payload (``{}`` when absent)."""
        return get_dict(self.raw, "data") or {}

    @property
    def data_type(self) -> str | None:
        """``hook_progress``, ``agent_progress``, …"""
        return get_str(self.data, "type")

    @property
    def tool_use_id(self) -> str | None:
        """The progress item's own id (``toolUseID``)."""
        return get_str(self.raw, "toolUseID")

    @property
    def parent_tool_use_id(self) -> str | None:
        """The tool call the progress reports on (``parentToolUseID``): for
        ``agent_progress`` the ``Task``/``Agent`` call that runs the subagent."""
        return get_str(self.raw, "parentToolUseID")

    @property
    def agent_id(self) -> str | None:
        """The subagent's id (``agent_progress``)."""
        return get_str(self.data, "agentId")

    @property
    def agent_message(self) -> JSONObject | None:
        """The subagent's entry that ``agent_progress`` forwards (``data.message``): a
        ``user`` or ``assistant`` entry, as in the subagent's own transcript."""
        return get_dict(self.data, "message")


class CostStateMessage(ClaudeMessage):
    """``cost-state``: the session's running totals, as the CLI restores them on resume.

    The figures are cumulative for the session; the last line holds its totals.
    """

    @property
    def total_cost_usd(self) -> float | None:
        """Estimated cost so far (``totalCostUSD``)."""
        return get_float(self.raw, "totalCostUSD")

    @property
    def model_usage(self) -> dict[str, JSONObject]:
        """Tokens and cost per model (``{inputTokens, outputTokens, …, costUSD}``)."""
        value = get_dict(self.raw, "modelUsage") or {}
        return {model: usage for model, usage in value.items() if isinstance(usage, dict)}

    @property
    def total_duration_ms(self) -> float | None:
        """Wall time of the session so far."""
        return get_float(self.raw, "totalDuration")

    @property
    def total_api_duration_ms(self) -> float | None:
        """Time in API calls, retries included."""
        return get_float(self.raw, "totalAPIDuration")

    @property
    def total_tool_duration_ms(self) -> float | None:
        """Time in tools."""
        return get_float(self.raw, "totalToolDuration")

    @property
    def total_lines_added(self) -> int | None:
        """Lines the session's edits added."""
        return get_int(self.raw, "totalLinesAdded")

    @property
    def total_lines_removed(self) -> int | None:
        """Lines the session's edits removed."""
        return get_int(self.raw, "totalLinesRemoved")

    @property
    def start_time_ms(self) -> float | None:
        """When the session started, in milliseconds since the epoch."""
        return get_float(self.raw, "startTime")

    @property
    def has_unknown_model_cost(self) -> bool:
        """True when a model's price was unknown, so the cost is too low."""
        return get_bool(self.raw, "hasUnknownModelCost") is True


class AttachmentMessage(ClaudeMessage):
    """``attachment``: context the CLI added to a prompt (environment, files, listings)."""

    @property
    def attachment(self) -> JSONObject:
        """The attachment object (``{}`` when absent)."""
        return get_dict(self.raw, "attachment") or {}

    @property
    def attachment_type(self) -> str | None:
        """``environment``, ``date``, ``skill_listing``, ``prompt_snapshot``, …"""
        return get_str(self.attachment, "type")


class LastPromptMessage(ClaudeMessage):
    """``last-prompt``: the prompt shown when the session is resumed."""

    @property
    def last_prompt(self) -> str | None:
        """The prompt's text."""
        return get_str(self.raw, "lastPrompt")

    @property
    def leaf_uuid(self) -> str | None:
        """The conversation's last entry at that point."""
        return get_str(self.raw, "leafUuid")


class AtisLatchMessage(ClaudeMessage):
    """``atis-latch``: a state marker the CLI restores on resume."""

    @property
    def atis(self) -> str | None:
        """The marker's value."""
        return get_str(self.raw, "atis")


class ToolsUsedMessage(ClaudeMessage):
    """``tools-used``: the tools the session has offered the model so far."""

    @property
    def tools(self) -> list[str]:
        """The tool names."""
        return get_str_list(self.raw, "tools") or []


class ApiRequestMessage(ClaudeMessage):
    """``api-request``: one request to the Messages API (its parameters, not its body)."""

    @property
    def request_ref(self) -> str | None:
        """The request's id, which ``assistant`` entries name as ``requestRef``."""
        return get_str(self.raw, "id")

    @property
    def params(self) -> JSONObject:
        """``{model, betas, max_tokens, thinking, …}`` (``{}`` when absent)."""
        return get_dict(self.raw, "params") or {}

    @property
    def model(self) -> str | None:
        """The model requested."""
        return get_str(self.params, "model")

    @property
    def query_source(self) -> str | None:
        """What made the request (``sdk``, ``repl_main_thread``, ``compact``, …)."""
        return get_str(self.raw, "querySource")


class ApiRequestShapeMessage(ClaudeMessage):
    """``api-request-shape``: the system prompt and tools of requests, stored once."""

    @property
    def shape_hash(self) -> str | None:
        """The hash requests refer to it by."""
        return get_str(self.raw, "shapeHash")


class ApiRequestBlobMessage(ClaudeMessage):
    """``api-request-blob``: one message of a request body, stored once by hash."""

    @property
    def hash(self) -> str | None:
        """The hash requests refer to it by."""
        return get_str(self.raw, "hash")

    @property
    def message(self) -> Any:
        """The stored message."""
        return self.raw.get("message")


class LocalCommandMessage(SystemMessage):
    """``system``/``local_command``: a slash command run locally, or its output."""

    @property
    def content(self) -> str | None:
        """The command or its output, in the CLI's tags (``<command-name>``, …)."""
        return get_str(self.raw, "content")

    @property
    def level(self) -> str | None:
        """``info``, ``warning``, …"""
        return get_str(self.raw, "level")


class StopHookSummaryMessage(SystemMessage):
    """``system``/``stop_hook_summary``: what the Stop hooks did at the end of a turn."""

    @property
    def hook_count(self) -> int | None:
        """How many hooks ran."""
        return get_int(self.raw, "hookCount")

    @property
    def hook_errors(self) -> list[Any]:
        """The hooks' errors."""
        return get_list(self.raw, "hookErrors") or []

    @property
    def prevented_continuation(self) -> bool:
        """True when a hook stopped the conversation."""
        return get_bool(self.raw, "preventedContinuation") is True

    @property
    def stop_reason(self) -> str | None:
        """The reason a hook gave."""
        return get_str(self.raw, "stopReason")


class TurnDurationMessage(SystemMessage):
    """``system``/``turn_duration``: how long a turn took."""

    @property
    def duration_ms(self) -> float | None:
        """The turn's wall time."""
        return get_float(self.raw, "durationMs")


TRANSCRIPT_TYPES: dict[str, type[ClaudeMessage]] = {
    "summary": SummaryMessage,
    "file-history-snapshot": FileHistorySnapshotMessage,
    "queue-operation": QueueOperationMessage,
    "progress": ProgressMessage,
    "cost-state": CostStateMessage,
    "attachment": AttachmentMessage,
    "last-prompt": LastPromptMessage,
    "atis-latch": AtisLatchMessage,
    "tools-used": ToolsUsedMessage,
    "api-request": ApiRequestMessage,
    "api-request-shape": ApiRequestShapeMessage,
    "api-request-blob": ApiRequestBlobMessage,
}
"""The class of each transcript-only line ``type``."""

TRANSCRIPT_SYSTEM_SUBTYPES: dict[str, type[SystemMessage]] = {
    "local_command": LocalCommandMessage,
    "stop_hook_summary": StopHookSummaryMessage,
    "turn_duration": TurnDurationMessage,
}
"""The class of each ``system`` subtype only transcripts have."""


__all__ = [
    "TRANSCRIPT_SYSTEM_SUBTYPES",
    "TRANSCRIPT_TYPES",
    "ApiRequestBlobMessage",
    "ApiRequestMessage",
    "ApiRequestShapeMessage",
    "AtisLatchMessage",
    "AttachmentMessage",
    "CostStateMessage",
    "FileHistorySnapshotMessage",
    "LastPromptMessage",
    "LocalCommandMessage",
    "ProgressMessage",
    "QueueOperationMessage",
    "StopHookSummaryMessage",
    "SummaryMessage",
    "ToolsUsedMessage",
    "TurnDurationMessage",
]
