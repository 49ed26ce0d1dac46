"""The ``system`` frames: one class per subtype with a dedicated view.

Subtypes without one (``thinking_tokens``, future ones) stay
:class:`SystemMessage`.
"""

from __future__ import annotations

from rxclaude.messages.base import ClaudeMessage
from rxclaude.messages.fields import (
    JSONObject,
    get_dict,
    get_float,
    get_int,
    get_list,
    get_str,
    get_str_list,
)


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
    """``system``/``compact_boundary``: the conversation was compacted here.

    Transcripts write it in camelCase (``compactMetadata`` holding ``preTokens``, …):
    the properties read either spelling, stream-json's first.
    """

    @property
    def compact_metadata(self) -> JSONObject:
        """``{trigger, pre_tokens, post_tokens?, ...}`` (a transcript's ``compactMetadata``;
        ``{}`` when absent)."""
        return get_dict(self.raw, "compact_metadata") or get_dict(self.raw, "compactMetadata") or {}

    @property
    def trigger(self) -> str | None:
        """``manual`` or ``auto``."""
        return get_str(self.compact_metadata, "trigger")

    @property
    def pre_tokens(self) -> int | None:
        """Context tokens before compaction."""
        return _either_int(self.compact_metadata, "pre_tokens", "preTokens")

    @property
    def post_tokens(self) -> int | None:
        """Context tokens after compaction."""
        return _either_int(self.compact_metadata, "post_tokens", "postTokens")

    @property
    def duration_ms(self) -> float | None:
        """How long compaction took."""
        metadata = self.compact_metadata
        value = get_float(metadata, "duration_ms")
        return value if value is not None else get_float(metadata, "durationMs")


def _either_int(fields: JSONObject, name: str, camel: str) -> int | None:
    """``fields[name]``, else ``fields[camel]`` (a transcript's spelling)."""
    value = get_int(fields, name)
    return value if value is not None else get_int(fields, camel)


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


SYSTEM_SUBTYPES: dict[str, type[SystemMessage]] = {
    "init": InitMessage,
    "status": StatusMessage,
    "compact_boundary": CompactBoundaryMessage,
    "api_retry": ApiRetryMessage,
}
"""The class of each ``system`` subtype with a dedicated view."""


__all__ = [
    "SYSTEM_SUBTYPES",
    "ApiRetryMessage",
    "CompactBoundaryMessage",
    "InitMessage",
    "StatusMessage",
    "SystemMessage",
]
