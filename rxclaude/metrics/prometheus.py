"""Export a :class:`~rxclaude.metrics.StreamMetrics` to Prometheus (the ``prometheus`` extra).

``PrometheusExporter(metrics)`` registers a custom collector: every scrape takes one
``metrics.snapshot()`` and yields its figures, so nothing is updated on the hot path.
With ``claude=`` a :class:`~rxclaude.handlers.ClaudeMetrics` too: its ``figures()`` as
the families of :mod:`~rxclaude.handlers.claude_figures` (``rxclaude_claude_cost_usd_total``,
``rxclaude_claude_tool_calls_total{tool}``, …; no session label unless
``session_labels=True``).
``prometheus_client`` is imported when an exporter is made, never by ``import rxclaude``.

======================================================  =========  ================================
metric (``prefix`` = ``rxclaude``)                      type       labels
======================================================  =========  ================================
``rxclaude_messages_total``, ``_bytes_total``,          counter
``_parse_errors_total``, ``_handler_errors_total``,
``_backpressure_events_total``
``rxclaude_messages_by_type_total``                     counter    ``type``
``rxclaude_messages_by_kind_total``                     counter    ``kind``
``rxclaude_latency_seconds``                            summary    ``quantile`` 0.5, 0.9, 0.99
``rxclaude_latency_max_seconds``,                       gauge
``_processing_seconds_avg``, ``_error_rate``,
``_streams_active``, ``_buffer_size``,
``_buffer_capacity``, ``_buffer_utilisation``,
``_buffer_peak_utilisation``, ``_spool_memory_bytes``,
``_spool_disk_bytes``, ``_spool_peak_bytes``
``rxclaude_messages_per_second``,                       gauge      ``window``: ``overall`` or
``_bytes_per_second``                                              the window (``10s``)
======================================================  =========  ================================
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Iterator
from types import ModuleType
from typing import TYPE_CHECKING

from rxclaude.handlers.claude_metrics import ClaudeMetrics
from rxclaude.metrics.prometheus_claude import prometheus_metrics
from rxclaude.metrics.snapshot import MetricsSnapshot
from rxclaude.metrics.stream_metrics import StreamMetrics

if TYPE_CHECKING:
    from prometheus_client.metrics_core import Metric
    from prometheus_client.registry import CollectorRegistry

__all__ = ["PrometheusExporter"]


def _prometheus_core() -> ModuleType:
    try:
        return importlib.import_module("prometheus_client.core")
    except ImportError as error:
        raise ImportError(
            "PrometheusExporter needs prometheus_client: pip install 'rxclaude[prometheus]'"
        ) from error


class PrometheusExporter:
    """A Prometheus collector of ``metrics``' and ``claude``'s figures, registered on
    ``registry``.

    Args:
        metrics: the pipeline metrics to export (None: only ``claude``'s).
        registry: where to register (``prometheus_client.REGISTRY`` if None).
        prefix: the start of every metric name.
        claude: the Claude-level metrics to export too.
        session_labels: also export ``claude_session_cost_usd`` by ``session`` (one
            series per session: off by default to keep the series bounded).

    Raises:
        ImportError: ``prometheus_client`` is not installed.
    """

    def __init__(
        self,
        metrics: StreamMetrics | None,
        registry: CollectorRegistry | None = None,
        prefix: str = "rxclaude",
        *,
        claude: ClaudeMetrics | None = None,
        session_labels: bool = False,
    ) -> None:
        self._core = _prometheus_core()
        self.metrics = metrics
        self.prefix = prefix
        self.claude = claude
        self.session_labels = session_labels
        self.registry: CollectorRegistry = registry if registry is not None else self._core.REGISTRY
        self.registry.register(self)

    def unregister(self) -> None:
        """Remove the collector from its registry."""
        self.registry.unregister(self)

    def collect(self) -> Iterator[Metric]:
        """Called by ``prometheus_client`` on each scrape."""
        if self.claude is not None:
            families = self.claude.figures().families(session_labels=self.session_labels)
            yield from prometheus_metrics(self._core, self.prefix, families)
        if self.metrics is not None:
            yield from self._pipeline(self.metrics.snapshot())

    def _pipeline(self, snapshot: MetricsSnapshot) -> Iterator[Metric]:
        core, name = self._core, self.prefix
        for suffix, help_text, value in _counters(snapshot):
            yield core.CounterMetricFamily(f"{name}_{suffix}", help_text, value=value)
        by_type = core.CounterMetricFamily(
            f"{name}_messages_by_type", "Messages per frame type.", labels=["type"]
        )
        for frame_type, count in sorted(snapshot.by_type.items()):
            by_type.add_metric([frame_type], count)
        yield by_type
        by_kind = core.CounterMetricFamily(
            f"{name}_messages_by_kind", "Messages per kind.", labels=["kind"]
        )
        for kind, count in snapshot.by_kind.items():
            by_kind.add_metric([kind.value], count)
        yield by_kind
        latency = core.Metric(
            f"{name}_latency_seconds",
            "From a frame's arrival to the end of its handling.",
            "summary",
        )
        for quantile, seconds in (
            ("0.5", snapshot.latency_p50),
            ("0.9", snapshot.latency_p90),
            ("0.99", snapshot.latency_p99),
        ):
            latency.add_sample(f"{name}_latency_seconds", {"quantile": quantile}, _or_nan(seconds))
        latency.add_sample(f"{name}_latency_seconds_count", {}, snapshot.latency.count)
        latency.add_sample(f"{name}_latency_seconds_sum", {}, snapshot.latency.total)
        yield latency
        for suffix, help_text, value in _gauges(snapshot):
            yield core.GaugeMetricFamily(f"{name}_{suffix}", help_text, value=value)
        window = f"{snapshot.window:g}s"
        for suffix, help_text, overall, windowed in (
            ("messages_per_second", "Messages per second.", snapshot.messages_per_second,
             snapshot.window_messages_per_second),
            ("bytes_per_second", "Bytes per second.", snapshot.bytes_per_second,
             snapshot.window_bytes_per_second),
        ):  # fmt: skip
            rate = core.GaugeMetricFamily(f"{name}_{suffix}", help_text, labels=["window"])
            rate.add_metric(["overall"], overall)
            rate.add_metric([window], windowed)
            yield rate


def _or_nan(value: float | None) -> float:
    """A figure that may not exist yet: NaN without samples, as Prometheus summaries say."""
    return math.nan if value is None else value


def _counters(snapshot: MetricsSnapshot) -> list[tuple[str, str, float]]:
    return [
        ("messages", "Messages received.", snapshot.messages_received),
        ("bytes", "Bytes of the frames processed.", snapshot.bytes_processed),
        ("parse_errors", "Parse errors.", snapshot.parse_errors),
        ("handler_errors", "Handler errors.", snapshot.handler_errors),
        ("backpressure_events", "Backpressure events.", snapshot.backpressure_events),
    ]


def _gauges(snapshot: MetricsSnapshot) -> list[tuple[str, str, float]]:
    return [
        ("latency_max_seconds", "Largest latency sampled.", _or_nan(snapshot.latency_max)),
        (
            "processing_seconds_avg",
            "Mean downstream handling time.",
            _or_nan(snapshot.avg_processing_time),
        ),
        ("error_rate", "(Parse + handler errors) / messages.", snapshot.error_rate),
        ("streams_active", "Streams being measured.", snapshot.streams_active),
        ("buffer_size", "Messages in the backpressure buffers.", snapshot.buffer_size),
        ("buffer_capacity", "Capacity of the backpressure buffers.", snapshot.buffer_capacity),
        ("buffer_utilisation", "Buffer size / capacity.", snapshot.buffer_utilisation),
        ("buffer_peak_utilisation", "Peak size / capacity.", snapshot.buffer_peak_utilisation),
        (
            "spool_memory_bytes",
            "Output bytes waiting in spools, in memory.",
            snapshot.spool_memory_bytes,
        ),
        ("spool_disk_bytes", "Output bytes waiting in spools, on disk.", snapshot.spool_disk_bytes),
        ("spool_peak_bytes", "Peak of output bytes waiting in spools.", snapshot.spool_peak_bytes),
    ]
