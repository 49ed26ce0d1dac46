"""The message model and its vocabulary, shared by every stage downstream of framing.

* :mod:`~rxclaude.messages.model`: one class per top-level stream-json frame, and
  :class:`ParseError` for bad input (the classes live in
  :mod:`~rxclaude.messages.base`, :mod:`~rxclaude.messages.system` and
  :mod:`~rxclaude.messages.frames`);
* :mod:`~rxclaude.messages.content`: the content blocks of ``assistant`` and ``user``
  frames;
* :mod:`~rxclaude.messages.kinds`: the semantic kinds messages are routed and counted by;
* :mod:`~rxclaude.messages.errors`: :class:`ResultCarryingError`, a source's failure that
  the framing fills with the last ``result`` frame.
"""

from rxclaude.messages.content import (
    ContentBlock,
    DocumentBlock,
    ImageBlock,
    RedactedThinkingBlock,
    ServerToolResultBlock,
    ServerToolUseBlock,
    TextBlock,
    ThinkingBlock,
    ToolResultBlock,
    ToolUseBlock,
    UnknownBlock,
    parse_block,
    parse_blocks,
)
from rxclaude.messages.errors import ResultCarryingError
from rxclaude.messages.kinds import (
    KIND_SETS,
    Kind,
    kind_mask,
    kinds_of,
    register_kinds,
)
from rxclaude.messages.model import (
    EPOCH,
    EXCERPT_BYTES,
    MESSAGE_TYPES,
    SYSTEM_SUBTYPES,
    ApiRetryMessage,
    AssistantMessage,
    ClaudeMessage,
    CompactBoundaryMessage,
    ControlRequestMessage,
    ControlResponseMessage,
    InitMessage,
    Message,
    ParseError,
    ParseErrorReason,
    RateLimitEventMessage,
    ResultMessage,
    StatusMessage,
    StreamEventMessage,
    SystemMessage,
    ToolProgressMessage,
    UnknownMessage,
    UserMessage,
    message_from_json,
)

__all__ = [
    "EPOCH",
    "EXCERPT_BYTES",
    "KIND_SETS",
    "MESSAGE_TYPES",
    "SYSTEM_SUBTYPES",
    "ApiRetryMessage",
    "AssistantMessage",
    "ClaudeMessage",
    "CompactBoundaryMessage",
    "ContentBlock",
    "ControlRequestMessage",
    "ControlResponseMessage",
    "DocumentBlock",
    "ImageBlock",
    "InitMessage",
    "Kind",
    "Message",
    "ParseError",
    "ParseErrorReason",
    "RateLimitEventMessage",
    "RedactedThinkingBlock",
    "ResultCarryingError",
    "ResultMessage",
    "ServerToolResultBlock",
    "ServerToolUseBlock",
    "StatusMessage",
    "StreamEventMessage",
    "SystemMessage",
    "TextBlock",
    "ThinkingBlock",
    "ToolProgressMessage",
    "ToolResultBlock",
    "ToolUseBlock",
    "UnknownBlock",
    "UnknownMessage",
    "UserMessage",
    "kind_mask",
    "kinds_of",
    "message_from_json",
    "parse_block",
    "parse_blocks",
    "register_kinds",
]
