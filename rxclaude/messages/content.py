"""Typed views of the content blocks inside ``assistant`` and ``user`` messages.

A block is a thin view over its decoded JSON object (``raw``): fields are read on
access, a missing or mistyped field reads as ``None``, and a block type we do not
know becomes an :class:`UnknownBlock` that keeps its raw JSON.
"""

from __future__ import annotations

from typing import Any

from rxclaude.messages.fields import JSONObject, get_bool, get_dict, get_str


class ContentBlock:
    """Base class of every content block: the block's ``type`` and its ``raw`` JSON."""

    __slots__ = ("raw",)

    def __init__(self, raw: JSONObject) -> None:
        self.raw = raw

    @property
    def type(self) -> str:
        """The block's ``type`` field (``""`` if it has none)."""
        return get_str(self.raw, "type") or ""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.raw!r})"

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, ContentBlock) and type(other) is type(self) and other.raw == self.raw
        )

    __hash__ = None  # type: ignore[assignment]


class TextBlock(ContentBlock):
    """``{"type": "text", "text": ...}``."""

    __slots__ = ()

    @property
    def text(self) -> str:
        """The text (``""`` when absent)."""
        return get_str(self.raw, "text") or ""

    @property
    def citations(self) -> list[Any] | None:
        """The block's citations, if any."""
        value = self.raw.get("citations")
        return value if isinstance(value, list) else None


class ThinkingBlock(ContentBlock):
    """``{"type": "thinking", "thinking": ..., "signature": ...}``."""

    __slots__ = ()

    @property
    def thinking(self) -> str:
        """The thinking text (``""`` when absent)."""
        return get_str(self.raw, "thinking") or ""

    @property
    def signature(self) -> str | None:
        """The block's signature."""
        return get_str(self.raw, "signature")


class RedactedThinkingBlock(ContentBlock):
    """``{"type": "redacted_thinking", "data": ...}``."""

    __slots__ = ()

    @property
    def data(self) -> str | None:
        """The opaque redacted payload."""
        return get_str(self.raw, "data")


class ToolUseBlock(ContentBlock):
    """A tool call: ``{"type": "tool_use", "id", "name", "input"}``."""

    __slots__ = ()

    @property
    def id(self) -> str | None:
        """The tool-use id that the matching ``tool_result`` names."""
        return get_str(self.raw, "id")

    @property
    def name(self) -> str | None:
        """The tool's name (treat it as data: names change between CLI versions)."""
        return get_str(self.raw, "name")

    @property
    def input(self) -> JSONObject:
        """The tool input object (``{}`` when absent)."""
        return get_dict(self.raw, "input") or {}


class ServerToolUseBlock(ToolUseBlock):
    """A server-side tool call (``server_tool_use``, ``mcp_tool_use``)."""

    __slots__ = ()


class ToolResultBlock(ContentBlock):
    """``{"type": "tool_result", "tool_use_id", "content", "is_error"}``.

    ``content`` may be a string or a list of blocks.
    """

    __slots__ = ()

    @property
    def tool_use_id(self) -> str | None:
        """The id of the ``tool_use`` this answers."""
        return get_str(self.raw, "tool_use_id")

    @property
    def content(self) -> str | list[ContentBlock] | None:
        """The result: a string, a list of typed blocks, or ``None`` when absent."""
        value = self.raw.get("content")
        if isinstance(value, str):
            return value
        if isinstance(value, list):
            return parse_blocks(value)
        return None

    @property
    def is_error(self) -> bool:
        """True when the tool reported an error."""
        return get_bool(self.raw, "is_error") is True

    @property
    def text(self) -> str:
        """The result's text: the string, or its text blocks joined by newlines."""
        content = self.content
        if isinstance(content, str):
            return content
        if content is None:
            return ""
        return "\n".join(block.text for block in content if isinstance(block, TextBlock))


class ServerToolResultBlock(ContentBlock):
    """The result of a server-side tool (``web_search_tool_result``, ``mcp_tool_result``, …)."""

    __slots__ = ()

    @property
    def tool_use_id(self) -> str | None:
        """The id of the server tool call this answers."""
        return get_str(self.raw, "tool_use_id")

    @property
    def content(self) -> Any:
        """The result payload, as sent (its shape depends on the tool)."""
        return self.raw.get("content")


class ImageBlock(ContentBlock):
    """``{"type": "image", "source": {"type": "base64", "media_type", "data"}}``."""

    __slots__ = ()

    @property
    def source(self) -> JSONObject:
        """The image source object (``{}`` when absent)."""
        return get_dict(self.raw, "source") or {}

    @property
    def media_type(self) -> str | None:
        """The image's media type, e.g. ``image/png``."""
        return get_str(self.source, "media_type")


class DocumentBlock(ImageBlock):
    """``{"type": "document", "source": {...}}`` (PDFs and plain-text documents)."""

    __slots__ = ()


class UnknownBlock(ContentBlock):
    """A block type this version does not know; its raw JSON is kept as is."""

    __slots__ = ()


BLOCK_TYPES: dict[str, type[ContentBlock]] = {
    "text": TextBlock,
    "thinking": ThinkingBlock,
    "redacted_thinking": RedactedThinkingBlock,
    "tool_use": ToolUseBlock,
    "server_tool_use": ServerToolUseBlock,
    "mcp_tool_use": ServerToolUseBlock,
    "tool_result": ToolResultBlock,
    "image": ImageBlock,
    "document": DocumentBlock,
}
"""The typed view of each known block type."""

TOOL_USE_BLOCK_TYPES = frozenset(
    block_type for block_type, cls in BLOCK_TYPES.items() if issubclass(cls, ToolUseBlock)
)
"""The block types of a tool call: ``tool_use``, ``server_tool_use``, ``mcp_tool_use``."""

SERVER_TOOL_RESULT_SUFFIX = "_tool_result"
"""How a server tool's result block type ends (``web_search_tool_result``, …); a client
tool's ``tool_result`` has no underscore before it."""


def parse_block(raw: Any) -> ContentBlock:
    """The typed view of one block; a non-object becomes an empty :class:`UnknownBlock`."""
    if not isinstance(raw, dict):
        return UnknownBlock({"type": "", "value": raw})
    block_type = raw.get("type")
    cls = BLOCK_TYPES.get(block_type) if isinstance(block_type, str) else None
    if cls is None:
        if isinstance(block_type, str) and block_type.endswith(SERVER_TOOL_RESULT_SUFFIX):
            cls = ServerToolResultBlock
        else:
            cls = UnknownBlock
    return cls(raw)


def parse_blocks(raw_blocks: list[Any]) -> list[ContentBlock]:
    """Typed views of a list of blocks, in order, none dropped."""
    return [parse_block(raw) for raw in raw_blocks]


__all__ = [
    "SERVER_TOOL_RESULT_SUFFIX",
    "TOOL_USE_BLOCK_TYPES",
    "ContentBlock",
    "DocumentBlock",
    "ImageBlock",
    "RedactedThinkingBlock",
    "ServerToolResultBlock",
    "ServerToolUseBlock",
    "TextBlock",
    "ThinkingBlock",
    "ToolResultBlock",
    "ToolUseBlock",
    "UnknownBlock",
    "parse_block",
    "parse_blocks",
]
