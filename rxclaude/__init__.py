"""rxclaude: Claude Code stream-json output as ReactiveX Observables.

The pipeline, each stage an operator usable on its own with ``Observable.pipe``::

    from_cli(args) | from_reader(f) | from_file(path)   -> Observable[bytes]
      .pipe(parse_json_frames(),                          -> Observable[Message]
            backpressure(Policy.BLOCK),                   bounded buffer, own consumer thread
            route_by_type(Router.default()),              prioritised handlers per kind
            measure(StreamMetrics()))                     counters, throughput, latency

The package follows that data path: :mod:`rxclaude.sources`, :mod:`rxclaude.framing`,
:mod:`rxclaude.partials`, :mod:`rxclaude.backpressure`, :mod:`rxclaude.routing`,
:mod:`rxclaude.handlers`, :mod:`rxclaude.metrics`, with the message model and its kinds in
:mod:`rxclaude.messages` and the whole pipeline behind one object in
:mod:`rxclaude.pipeline`. This root holds the pipeline's verbs, the few types every
pipeline names, and the errors a pipeline can end with; everything else comes from its
module. The names the root exported before (``rxclaude.DefaultRouter``, …) still work for
one release, with a ``DeprecationWarning`` that names their module.
"""

import importlib
import warnings
from typing import Any

from rxclaude import handlers as _handlers  # noqa: F401 -- sets Router.default()'s factory
from rxclaude._samples import sample_names, sample_path
from rxclaude.backpressure import (
    BackpressureDeadlockError,
    BufferOverflowError,
    Policy,
    backpressure,
)
from rxclaude.framing import FrameDecodeError, parse_json_frames
from rxclaude.messages import Kind, Message, ParseError
from rxclaude.metrics import StreamMetrics, measure
from rxclaude.partials import assemble_partials
from rxclaude.pipeline import StreamHandler
from rxclaude.routing import (
    CompletionTimeoutError,
    HandlerAbortedError,
    HandlerFailedError,
    Router,
    RoutingDeadlockError,
    RoutingError,
    route_by_type,
)
from rxclaude.sources import (
    CLIProcessError,
    SpoolFullError,
    find_claude,
    from_cli,
    from_file,
    from_reader,
)

__version__ = "0.1.0"

__all__ = [
    "BackpressureDeadlockError",
    "BufferOverflowError",
    "CLIProcessError",
    "CompletionTimeoutError",
    "FrameDecodeError",
    "HandlerAbortedError",
    "HandlerFailedError",
    "Kind",
    "Message",
    "ParseError",
    "Policy",
    "Router",
    "RoutingDeadlockError",
    "RoutingError",
    "SpoolFullError",
    "StreamHandler",
    "StreamMetrics",
    "assemble_partials",
    "backpressure",
    "find_claude",
    "from_cli",
    "from_file",
    "from_reader",
    "measure",
    "parse_json_frames",
    "route_by_type",
    "sample_names",
    "sample_path",
]

_MOVED_FROM_THE_ROOT: dict[str, tuple[str, ...]] = {
    "rxclaude.backpressure": (
        "Adaptive",
        "Backpressure",
        "BackpressureEvent",
        "BackpressureEventKind",
        "BackpressureStatistics",
        "SlowConsumer",
    ),
    "rxclaude.framing": (
        "DEFAULT_MAX_FRAME_BYTES",
        "FrameDecoder",
        "MAX_NESTING_DEPTH",
    ),
    "rxclaude.handlers": (
        "BuiltinHandler",
        "BuiltinHandlers",
        "ChainHandler",
        "CompleteHandler",
        "DefaultRouter",
        "ErrorHandler",
        "ErrorRecord",
        "MetadataHandler",
        "ProgressHandler",
        "StatusChange",
        "StatusHandler",
        "SystemHandler",
        "TextHandler",
        "ToolCall",
        "ToolUseHandler",
        "TurnProgress",
    ),
    "rxclaude.messages": (
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
        "ParseErrorReason",
        "RateLimitEventMessage",
        "RedactedThinkingBlock",
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
        "kinds_of",
        "message_from_json",
    ),
    "rxclaude.metrics": (
        "LatencyHistogram",
        "MetricsSnapshot",
    ),
    "rxclaude.partials": (
        "AssembledMessage",
        "BlockComplete",
        "BlockUpdate",
        "IssueReason",
        "PartialAssembler",
        "PartialIssue",
        "PartialItem",
        "Superseded",
        "SupersededReason",
    ),
    "rxclaude.pipeline": ("StreamSource",),
    "rxclaude.routing": (
        "ALL",
        "Handler",
        "HandlerError",
        "MessageHandler",
        "RouteKey",
        "RouterStatistics",
    ),
    "rxclaude.sources": (
        "SpoolStatistics",
        "SpooledSource",
    ),
}
"""The names the root exported before this layout, by the module that holds them now."""

_MOVED = {name: module for module, names in _MOVED_FROM_THE_ROOT.items() for name in names}


def __getattr__(name: str) -> Any:
    """An old root name: its object, with a ``DeprecationWarning`` naming its module."""
    module = _MOVED.get(name)
    if module is None:
        raise AttributeError(f"module 'rxclaude' has no attribute {name!r}")
    warnings.warn(
        f"rxclaude.{name} is deprecated: import it from {module}",
        DeprecationWarning,
        stacklevel=2,
    )
    return getattr(importlib.import_module(module), name)
