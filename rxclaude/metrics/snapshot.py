""":class:`MetricsSnapshot`, the frozen figures of a ``StreamMetrics``, and how they are made.

A snapshot is plain data: the counts, rates and percentiles of the streams recorded so
far, with the buffer figures of the attached ``backpressure`` operators (from their
``statistics()``) and the spool figures of the attached sources (from theirs).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from rxclaude.backpressure import BackpressureEventKind, BackpressureStatistics
from rxclaude.messages.kinds import KIND_SETS, Kind
from rxclaude.metrics.display import snapshot_dict, snapshot_html, snapshot_rich
from rxclaude.metrics.histogram import LatencyHistogram
from rxclaude.metrics.recorders import Totals
from rxclaude.sources import SpoolStatistics

if TYPE_CHECKING:
    from rich.table import Table

__all__ = ["MetricsSnapshot", "make_snapshot"]


@dataclass(frozen=True, slots=True)
class MetricsSnapshot:
    """The figures of a :class:`StreamMetrics` at one moment (times in seconds)."""

    elapsed: float
    """From the first subscription to now, or to the end of the last stream if none runs."""
    streams_active: int
    messages_received: int
    """Items that passed through ``measure`` (``HandlerError`` items and partials too)."""
    bytes_processed: int
    """Sum of ``nbytes``: the frames' bytes without their line terminators."""
    parse_errors: int
    handler_errors: int
    """``HandlerError`` items that passed through."""
    error_rate: float
    """(parse_errors + handler_errors) / messages_received (0.0 before any message)."""
    backpressure_events: int
    backpressure_events_by_kind: dict[BackpressureEventKind, int]
    avg_processing_time: float | None
    """Mean time in the downstream ``on_next``, over the sampled messages (None before the
    first sample)."""
    latency_p50: float | None
    """The latency percentiles and maximum: None before the first sample, not 0.0."""
    latency_p90: float | None
    latency_p99: float | None
    latency_max: float | None
    latency: LatencyHistogram
    """This snapshot's own copy of the distribution (``latency.count`` = samples)."""
    messages_per_second: float
    bytes_per_second: float
    window: float
    """The length of the sliding window, in seconds."""
    window_messages_per_second: float
    window_bytes_per_second: float
    buffer_capacity: int
    buffer_size: int
    buffer_utilisation: float
    """buffer_size / buffer_capacity of the attached backpressure buffers (0.0 if none)."""
    buffer_peak_utilisation: float
    """Their peak size / capacity."""
    by_type: dict[str, int] = field(default_factory=dict)
    by_kind: dict[Kind, int] = field(default_factory=dict)
    """Messages per :class:`~rxclaude.messages.kinds.Kind` (once per kind; every kind present)."""
    spool_memory_bytes: int = 0
    """Bytes waiting in the attached sources' spools, in memory (0 with none attached)."""
    spool_disk_bytes: int = 0
    """Bytes waiting in their temporary files."""
    spool_peak_memory_bytes: int = 0
    spool_peak_disk_bytes: int = 0
    spool_peak_bytes: int = 0
    """The sum of each spool's peak of bytes waiting, memory and disk together."""
    spool_spilled_bytes: int = 0
    """Bytes written to the spools' temporary files in all."""

    def to_dict(self) -> dict[str, float | int | None]:
        """Every figure under a flat name (:func:`~rxclaude.metrics.display.snapshot_dict`)."""
        return snapshot_dict(self)

    def _repr_html_(self) -> str:
        return snapshot_html(self)

    def __rich__(self) -> Table:
        """The display for ``rich.print`` and rich consoles."""
        return snapshot_rich(self)


def make_snapshot(
    totals: Totals,
    *,
    elapsed: float,
    streams_active: int,
    window: float,
    window_messages: int,
    window_bytes: int,
    events: dict[BackpressureEventKind, int],
    buffers: list[BackpressureStatistics],
    routed_kinds: dict[Kind, int],
    spools: list[SpoolStatistics],
) -> MetricsSnapshot:
    """The snapshot of ``totals`` (every stream's counts summed), with the figures read
    from outside: the window's totals, backpressure events and buffers, the kinds counted
    by attached routers, and the spools."""
    by_kind = dict(routed_kinds)
    for mask, count in enumerate(totals.by_kind_mask):
        if count:
            for kind in KIND_SETS[mask]:
                by_kind[kind] += count
    messages = totals.messages
    parse_errors = totals.by_type.get("parse_error", 0)
    handler_errors = totals.by_type.get("handler_error", 0)
    window_span = min(window, elapsed)
    capacity = sum(stats.capacity for stats in buffers)
    size = sum(stats.size for stats in buffers)
    peak = sum(stats.peak_size for stats in buffers)
    latency = totals.latency
    sampled = latency.count > 0
    return MetricsSnapshot(
        elapsed=elapsed,
        streams_active=streams_active,
        messages_received=messages,
        bytes_processed=totals.bytes,
        parse_errors=parse_errors,
        handler_errors=handler_errors,
        error_rate=(parse_errors + handler_errors) / messages if messages else 0.0,
        backpressure_events=sum(events.values()),
        backpressure_events_by_kind=events,
        avg_processing_time=(
            totals.processing_time / totals.processed if totals.processed else None
        ),
        latency_p50=latency.percentile(50) if sampled else None,
        latency_p90=latency.percentile(90) if sampled else None,
        latency_p99=latency.percentile(99) if sampled else None,
        latency_max=latency.max if sampled else None,
        latency=latency,
        messages_per_second=messages / elapsed if elapsed > 0 else 0.0,
        bytes_per_second=totals.bytes / elapsed if elapsed > 0 else 0.0,
        window=window,
        window_messages_per_second=window_messages / window_span if window_span > 0 else 0.0,
        window_bytes_per_second=window_bytes / window_span if window_span > 0 else 0.0,
        buffer_capacity=capacity,
        buffer_size=size,
        buffer_utilisation=size / capacity if capacity else 0.0,
        buffer_peak_utilisation=peak / capacity if capacity else 0.0,
        by_type=totals.by_type,
        by_kind=by_kind,
        spool_memory_bytes=sum(spool.memory_bytes for spool in spools),
        spool_disk_bytes=sum(spool.disk_bytes for spool in spools),
        spool_peak_memory_bytes=sum(spool.peak_memory_bytes for spool in spools),
        spool_peak_disk_bytes=sum(spool.peak_disk_bytes for spool in spools),
        spool_peak_bytes=sum(spool.peak_bytes for spool in spools),
        spool_spilled_bytes=sum(spool.spilled_bytes for spool in spools),
    )
