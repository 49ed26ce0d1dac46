"""Case ``sparse``: case d with a router that registers only for ``result`` frames.

Most frames of a stream need no handler there; the case shows what the pipeline costs
when routing has little to do (issue #16's results-only router)."""

from __future__ import annotations

from typing import Any

import msgspec

from benchmarks.common import BenchmarkError, drain, timeout_for
from rxclaude import Message, Policy, Router, StreamMetrics, backpressure, measure
from rxclaude import parse_json_frames as parse
from rxclaude import route_by_type as route
from rxclaude.sources import from_file

LABEL = "c | route_by_type(a results-only router) | measure()"


def _results_only(path: str) -> tuple[int, int, int]:
    """Run the case; return the messages delivered, results handled and messages measured."""
    router, metrics, results = Router(), StreamMetrics(), []

    def handle(message: Message) -> None:
        results.append(message.offset)

    router.register("result", handle)
    stages = (parse(), backpressure(Policy.BLOCK), route(router), measure(metrics))
    count = drain(from_file(path).pipe(*stages), timeout_for(path))
    return count, len(results), metrics.snapshot().messages_received


def run_sparse(path: str) -> int:
    """The timed run: the message count, checked against what ``measure`` counted."""
    count, _results, measured = _results_only(path)
    if measured != count:
        raise BenchmarkError(f"measure counted {measured:,} messages, {count:,} delivered")
    return count


def check_sparse(path: str, expected: int) -> dict[str, Any]:
    """Untimed: the handler saw every ``result`` frame and nothing else."""
    count, results, _measured = _results_only(path)
    if count != expected:
        raise BenchmarkError(f"count mismatch: {count:,} messages, file has {expected:,} lines")
    decode = msgspec.json.Decoder().decode
    with open(path, "rb") as corpus:
        result_lines = sum(decode(line).get("type") == "result" for line in corpus)
    if results != result_lines:
        raise BenchmarkError(f"the handler saw {results:,} results, the file has {result_lines:,}")
    return {"results": results}
