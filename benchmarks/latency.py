"""Latency at a fixed live rate: a paced child through the full pipeline.

``benchmarks/paced_writer.py`` writes corpus frames at ``rate`` per second on a deadline
schedule; ``from_cli`` reads them through ``parse_json_frames() | backpressure(BLOCK) |
route_by_type(Router.default()) | measure(StreamMetrics(sample_every=1))``. Two latencies:

* **chunk arrival to handled**, from ``StreamMetrics``: the wall clock (UTC) when the
  message's downstream handling returned minus its ``received_at``, which
  ``parse_json_frames`` stamps when the chunk holding the frame's end reaches it, from the
  current-thread scheduler's clock, also the wall clock (UTC): both ends on one clock.
  ``sample_every=1`` times every message; the histogram's percentiles are within 1.6 %.
* **written to handled**, exact: ``time.time_ns()`` when ``measure`` passes the routed
  message on, minus the ``bench_sent_ns`` the writer put into the frame just before writing
  it; the same system clock in both processes on one machine.
"""

from __future__ import annotations

import math
import sys
import time
from pathlib import Path
from typing import Any

from reactivex import operators as ops

from benchmarks.common import BenchmarkError, drain, full_pipeline
from benchmarks.paced_writer import STAMP_KEY
from rxclaude import Message, StreamMetrics, from_cli

WRITER = Path(__file__).with_name("paced_writer.py")


def milliseconds(seconds: float | None) -> float | None:
    """A snapshot's figure in milliseconds (None without samples)."""
    return None if seconds is None else seconds * 1e3


def percentile(sorted_values: list[int], q: float) -> int:
    """Nearest-rank percentile of a sorted, non-empty list."""
    rank = max(math.ceil(q / 100 * len(sorted_values)), 1)
    return sorted_values[rank - 1]


def run_latency(path: str, rate: float, seconds: float) -> dict[str, Any]:
    """Stream ``rate * seconds`` paced frames live; return both latency distributions."""
    count = round(rate * seconds)
    if count < 1:
        raise BenchmarkError("the latency run needs at least one message")
    metrics = StreamMetrics(sample_every=1)
    sent: list[int] = []
    handled: list[int] = []

    def record(message: Message) -> None:
        now = time.time_ns()
        stamp = message.raw.get(STAMP_KEY) if message.raw is not None else None
        if isinstance(stamp, int):
            sent.append(stamp)
            handled.append(now)

    source = from_cli([sys.executable, str(WRITER), path, str(count), repr(rate)])
    pipeline = full_pipeline(source, metrics).pipe(ops.do_action(record))
    delivered = drain(pipeline, timeout=2 * seconds + 30.0)
    snapshot = metrics.snapshot()
    if delivered != count or snapshot.messages_received != count:
        raise BenchmarkError(
            f"count mismatch in the latency run: {delivered:,} delivered, "
            f"{snapshot.messages_received:,} measured, {count:,} written"
        )
    if len(sent) != count or snapshot.parse_errors:
        raise BenchmarkError(
            f"{count - len(sent):,} messages without a send stamp, "
            f"{snapshot.parse_errors:,} parse errors"
        )
    written_to_handled = sorted(h - s for s, h in zip(sent, handled, strict=True))
    span = (sent[-1] - sent[0]) / 1e9
    return {
        "rate": rate,
        "seconds": seconds,
        "messages": count,
        "achieved_rate": (count - 1) / span if span > 0 else None,
        "by_type": dict(snapshot.by_type),
        "arrival_to_handled_ms": {
            "samples": snapshot.latency.count,
            "p50": milliseconds(snapshot.latency_p50),
            "p99": milliseconds(snapshot.latency_p99),
            "max": milliseconds(snapshot.latency_max),
        },
        "written_to_handled_ms": {
            "samples": len(written_to_handled),
            "p50": percentile(written_to_handled, 50) / 1e6,
            "p99": percentile(written_to_handled, 99) / 1e6,
            "max": written_to_handled[-1] / 1e6,
        },
    }
