"""rxclaude: Claude Code stream-json output as ReactiveX Observables.

The pipeline, each stage an operator usable on its own with ``Observable.pipe``::

    from_cli(args) | from_reader(f) | from_file(path)   -> Observable[bytes]
      .pipe(parse_json_frames())                          -> Observable[Message]
"""

from rxclaude._samples import sample_names, sample_path
from rxclaude.cli import CLIProcessError, from_cli
from rxclaude.content import (
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
)
from rxclaude.framing import DEFAULT_MAX_FRAME_BYTES, FrameDecoder
from rxclaude.messages import (
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
from rxclaude.parse import FrameDecodeError, parse_json_frames
from rxclaude.partials import (
    AssembledMessage,
    BlockComplete,
    BlockUpdate,
    IssueReason,
    PartialAssembler,
    PartialIssue,
    PartialItem,
    Superseded,
    SupersededReason,
    assemble_partials,
)
from rxclaude.sources import from_file, from_reader

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_MAX_FRAME_BYTES",
    "ApiRetryMessage",
    "AssembledMessage",
    "AssistantMessage",
    "BlockComplete",
    "BlockUpdate",
    "CLIProcessError",
    "ClaudeMessage",
    "CompactBoundaryMessage",
    "ContentBlock",
    "ControlRequestMessage",
    "ControlResponseMessage",
    "DocumentBlock",
    "FrameDecodeError",
    "FrameDecoder",
    "ImageBlock",
    "InitMessage",
    "IssueReason",
    "Message",
    "ParseError",
    "ParseErrorReason",
    "PartialAssembler",
    "PartialIssue",
    "PartialItem",
    "RateLimitEventMessage",
    "RedactedThinkingBlock",
    "ResultMessage",
    "ServerToolResultBlock",
    "ServerToolUseBlock",
    "StatusMessage",
    "StreamEventMessage",
    "Superseded",
    "SupersededReason",
    "SystemMessage",
    "TextBlock",
    "ThinkingBlock",
    "ToolProgressMessage",
    "ToolResultBlock",
    "ToolUseBlock",
    "UnknownBlock",
    "UnknownMessage",
    "UserMessage",
    "assemble_partials",
    "from_cli",
    "from_file",
    "from_reader",
    "message_from_json",
    "parse_json_frames",
    "sample_names",
    "sample_path",
]
