"""What :class:`~rxclaude.metrics.StreamMetrics` keeps per stream: the package's own state.

* :class:`Clock`: the one clock of a ``StreamMetrics``, for durations and for latency.
* :class:`Totals`: counts by frame type and by kind set, bytes, sampled timings; the
  finished streams' are summed into one.
* :class:`Recorder`: one subscription's totals, written only by the thread that delivers
  its stream, plus its open throughput bucket.
* :class:`AttachedRouter`: a router whose per-kind counts stand in for classifying.

Counts by kind are kept per kind *set* (the :func:`~rxclaude.messages.kinds.kind_mask`
of a message indexes :data:`~rxclaude.messages.kinds.KIND_SETS`): one increment per
message, and a snapshot spreads each set over its kinds.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from datetime import UTC, datetime

from reactivex import abc

from rxclaude.messages.kinds import KIND_SETS, Kind
from rxclaude.metrics.histogram import LatencyHistogram
from rxclaude.routing import Router

__all__ = ["AttachedRouter", "Clock", "Recorder", "Totals"]


class Clock:
    """Seconds for durations and windows, and the latency of a ``received_at`` stamp."""

    def __init__(self, scheduler: abc.SchedulerBase | None) -> None:
        self.seconds: Callable[[], float]
        self.since: Callable[[datetime], float]
        if scheduler is None:
            self.seconds = time.monotonic
            self.since = _wall_clock_since
        else:
            to_seconds = scheduler.to_seconds
            self.seconds = lambda: to_seconds(scheduler.now)
            self.since = lambda stamp: (scheduler.now - stamp).total_seconds()


def _wall_clock_since(stamp: datetime) -> float:
    return (datetime.now(UTC) - stamp).total_seconds()


class Totals:
    """Counts by frame type and by kind set, bytes, and sampled timings."""

    __slots__ = (
        "by_kind_mask",
        "by_type",
        "bytes",
        "latency",
        "messages",
        "processed",
        "processing_time",
    )

    def __init__(self) -> None:
        self.messages = 0
        self.bytes = 0
        self.by_type: dict[str, int] = {}
        self.by_kind_mask = [0] * len(KIND_SETS)  # messages per kind set, by its bit mask
        self.latency = LatencyHistogram()
        self.processed = 0  # sampled messages whose processing time was taken
        self.processing_time = 0.0

    def add(self, other: Totals) -> None:
        self.messages += other.messages
        self.bytes += other.bytes
        # dict() copies atomically under the GIL while the writer may add keys.
        for frame_type, count in dict(other.by_type).items():
            self.by_type[frame_type] = self.by_type.get(frame_type, 0) + count
        pairs = zip(self.by_kind_mask, other.by_kind_mask, strict=True)
        self.by_kind_mask = [mine + theirs for mine, theirs in pairs]
        self.latency.merge(other.latency)
        self.processed += other.processed
        self.processing_time += other.processing_time


class Recorder(Totals):
    """One subscription's counts, plus its open throughput bucket."""

    __slots__ = ("bucket", "bucket_bytes", "bucket_end", "bucket_messages", "closed", "router")

    def __init__(self, router: Router | None) -> None:
        super().__init__()
        self.bucket = -1  # index of the open bucket; its totals start at bucket_*
        self.bucket_end = -math.inf
        self.bucket_messages = 0
        self.bucket_bytes = 0
        self.closed = False
        self.router = router  # whose per-kind counts this stream's kinds are read from


class AttachedRouter:
    """A router whose per-kind counts the metrics report, and who keeps it attached."""

    __slots__ = ("baseline", "pinned", "router", "streams")

    def __init__(self, router: Router, *, pinned: bool) -> None:
        self.router = router
        self.baseline = router.statistics().by_kind
        self.pinned = pinned  # attach_router() was called: attached for good
        self.streams = 0  # open measured streams that route through it

    def routed_since_attached(self) -> dict[Kind, int]:
        counts = self.router.statistics().by_kind
        return {kind: counts[kind] - self.baseline[kind] for kind in Kind}
