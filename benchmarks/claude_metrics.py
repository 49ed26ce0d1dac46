"""Case ``claude``: case d with a :class:`~rxclaude.handlers.ClaudeMetrics` attached to its
router, to measure what the Claude-level metrics cost per message (``claude - d``)."""

from __future__ import annotations

from typing import Any

from benchmarks.common import BenchmarkError, drain, timeout_for
from rxclaude import Policy, Router, StreamMetrics, backpressure, measure, parse_json_frames
from rxclaude import route_by_type as route
from rxclaude.handlers import ClaudeMetrics
from rxclaude.sources import from_file

LABEL = "d | ClaudeMetrics().attach(the router)"


def run_claude(path: str) -> int:
    """Case d's stages with the Claude-level metrics counting every message."""
    router, metrics, claude = Router.default(), StreamMetrics(), ClaudeMetrics()
    claude.attach(router)
    stages = (parse_json_frames(), backpressure(Policy.BLOCK), route(router), measure(metrics))
    return drain(from_file(path).pipe(*stages), timeout_for(path))


def check_claude(path: str, expected: int) -> dict[str, Any]:
    """Untimed: the figures count the corpus' tool calls and turns."""
    router, claude = Router(), ClaudeMetrics()
    claude.attach(router)
    count = drain(from_file(path).pipe(parse_json_frames(), route(router)), timeout_for(path))
    if count != expected:
        raise BenchmarkError(f"count mismatch: {count:,} messages, file has {expected:,} lines")
    figures = claude.figures()
    return {
        "tool_calls": sum(figures.tool_calls.values()),
        "turns": sum(figures.turns.values()),
        "responses": sum(figures.responses.values()),
    }
