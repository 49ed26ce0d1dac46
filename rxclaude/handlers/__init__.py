"""Built-in handlers for :func:`~rxclaude.routing.route_by_type`, each useful alone.

Each handler has ``handle(message)``, a ``priority`` and the ``kinds`` it is meant to be
registered under; :meth:`Router.default() <rxclaude.routing.Router.default>` registers one
of each. Their results are properties, readable from any thread during and after a stream:
they return copies or immutable snapshots, never live internal state. Each handler expects
one writer at a time — the routing thread, or its lane in async mode — so give concurrent
streams their own handlers.

Memory stays bounded over a long-lived stream of many sessions: histories keep the last
``keep`` items, per-session and per-message figures the last ``keep_sessions`` sessions and
``keep_messages`` messages, the text handler the last ``keep_chars`` characters, and tool
results are cut to ``result_chars`` characters; ``None`` lifts a bound. The defaults hold
everything of one ordinary run. The bounds cost nothing per streamed delta: they are kept
per frame, or when a session or message id is new.

One module per handler family (:mod:`~rxclaude.handlers.text`,
:mod:`~rxclaude.handlers.tools`, :mod:`~rxclaude.handlers.errors`,
:mod:`~rxclaude.handlers.system`, :mod:`~rxclaude.handlers.metadata`,
:mod:`~rxclaude.handlers.status`, :mod:`~rxclaude.handlers.progress`,
:mod:`~rxclaude.handlers.complete`), on :mod:`~rxclaude.handlers.base`;
:mod:`~rxclaude.handlers.claude_metrics` counts cost, tokens, tools, turns and API
trouble for the exporters (not in the default router: ``ClaudeMetrics().attach(router)``);
:mod:`~rxclaude.handlers.transcripts` and :mod:`~rxclaude.handlers.transcripts_tools` count
session transcripts' usage, cost and tool times (``handler.register(router)``);
:mod:`~rxclaude.handlers.chain` runs several as one, and :mod:`~rxclaude.handlers.default`
gathers one of each into :class:`DefaultRouter`, which it sets as what
:meth:`Router.default() <rxclaude.routing.Router.default>` builds.
"""

from rxclaude.handlers.base import BuiltinHandler
from rxclaude.handlers.chain import ChainHandler
from rxclaude.handlers.claude_figures import ClaudeFigures
from rxclaude.handlers.claude_metrics import ClaudeMetrics
from rxclaude.handlers.complete import CompleteHandler
from rxclaude.handlers.default import BuiltinHandlers, DefaultRouter
from rxclaude.handlers.errors import ErrorHandler, ErrorRecord
from rxclaude.handlers.metadata import MetadataHandler
from rxclaude.handlers.progress import ProgressHandler, TurnProgress
from rxclaude.handlers.status import StatusChange, StatusHandler
from rxclaude.handlers.system import SystemHandler
from rxclaude.handlers.text import TextHandler
from rxclaude.handlers.tools import ToolCall, ToolUseHandler
from rxclaude.handlers.transcripts import AgentInfo, TranscriptUsageHandler, UsageTotals
from rxclaude.handlers.transcripts_tools import ToolStats, TranscriptToolHandler

__all__ = [
    "AgentInfo",
    "BuiltinHandler",
    "BuiltinHandlers",
    "ChainHandler",
    "ClaudeFigures",
    "ClaudeMetrics",
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
    "ToolStats",
    "ToolUseHandler",
    "TranscriptToolHandler",
    "TranscriptUsageHandler",
    "TurnProgress",
    "UsageTotals",
]
