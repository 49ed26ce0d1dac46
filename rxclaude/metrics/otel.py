"""Export to OpenTelemetry metrics (the ``opentelemetry`` extra): the Claude-level figures of
a :class:`~rxclaude.handlers.ClaudeMetrics` and the pipeline's of a :class:`StreamMetrics`.

``OpenTelemetryExporter(claude=..., metrics=...)`` creates instruments on a meter of the
given (or the global) ``MeterProvider``; whichever reader the provider has (periodic OTLP,
Prometheus, in-memory) collects them. Names are those of the Prometheus exporter without
``_total``: ``rxclaude_claude_cost_usd``, ``rxclaude_claude_tool_calls`` (attribute
``tool``), ``rxclaude_messages``, …

* Counters and gauges are *observable* instruments: their callbacks read
  ``claude.figures()`` and ``metrics.snapshot()`` at each collection, so nothing is done
  per message. Counters are cumulative totals since the handler started.
* ``rxclaude_claude_tool_duration_seconds`` is a synchronous histogram (OpenTelemetry has
  no observable one) recorded as each tool call ends, through the handler's tool
  listener: it holds the calls that ended after the exporter was made, with the buckets of
  :data:`~rxclaude.handlers.claude_figures.DURATION_BUCKETS` as its advisory boundaries.
* ``opentelemetry`` is imported when an exporter is made, never by ``import rxclaude``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from rxclaude.handlers.claude_figures import DURATION_BUCKETS, MetricFamily
from rxclaude.handlers.claude_metrics import ClaudeMetrics
from rxclaude.metrics.snapshot import MetricsSnapshot
from rxclaude.metrics.stream_metrics import StreamMetrics

if TYPE_CHECKING:
    from opentelemetry.metrics import CallbackOptions, MeterProvider, Observation
    from reactivex.abc import DisposableBase

__all__ = ["OpenTelemetryExporter"]

_Reader = Callable[[], dict[tuple[str, ...], float]]
"""Reads an instrument's value per label values."""


def _otel_metrics() -> Any:
    try:
        return importlib.import_module("opentelemetry.metrics")
    except ImportError as error:
        raise ImportError(
            "OpenTelemetryExporter needs opentelemetry-api and opentelemetry-sdk: "
            "pip install 'rxclaude[opentelemetry]'"
        ) from error


class OpenTelemetryExporter:
    """OpenTelemetry instruments reporting ``claude``'s and ``metrics``' figures.

    Args:
        claude: the Claude-level metrics to export (None: none).
        metrics: the pipeline metrics to export (None: none).
        meter_provider: where the instruments live (the global provider if None).
        prefix: the start of every instrument name.
        session_labels: also export ``claude_session_cost_usd`` by ``session`` (unbounded
            over a long run of many sessions: off by default).

    Raises:
        ImportError: ``opentelemetry`` is not installed.
    """

    def __init__(
        self,
        *,
        claude: ClaudeMetrics | None = None,
        metrics: StreamMetrics | None = None,
        meter_provider: MeterProvider | None = None,
        prefix: str = "rxclaude",
        session_labels: bool = False,
    ) -> None:
        api = _otel_metrics()
        self._api = api
        provider = meter_provider if meter_provider is not None else api.get_meter_provider()
        self.meter = provider.get_meter("rxclaude")
        self.claude, self.metrics, self.prefix = claude, metrics, prefix
        self._session_labels = session_labels
        self._closed = False
        self._listener: DisposableBase | None = None
        if claude is not None:
            for family in ClaudeMetrics().figures().families(session_labels=session_labels):
                if family.type == "histogram":
                    self._add_tool_histogram(claude, family)
                else:
                    read = self._claude(claude, family.name)
                    self._observe(family.name, family.type, family.help, family.labels, read)
        if metrics is not None:
            for name, kind, help_text in _PIPELINE:
                labels = _PIPELINE_LABELS.get(name, ())
                self._observe(name, kind, help_text, labels, self._pipeline(metrics, name))

    def close(self) -> None:
        """Stop reporting: the observable instruments report nothing from now on, and the
        tool histogram stops recording."""
        self._closed = True
        if self._listener is not None:
            self._listener.dispose()

    def _observe(
        self, name: str, kind: str, help_text: str, labels: tuple[str, ...], read: _Reader
    ) -> None:
        def callback(_options: CallbackOptions) -> Iterable[Observation]:
            if self._closed:
                return []
            return [
                self._api.Observation(value, dict(zip(labels, key, strict=True)))
                for key, value in read().items()
            ]

        make = (
            self.meter.create_observable_counter
            if kind == "counter"
            else self.meter.create_observable_gauge
        )
        make(f"{self.prefix}_{name}", callbacks=[callback], description=help_text)

    def _claude(self, claude: ClaudeMetrics, name: str) -> _Reader:
        session_labels = self._session_labels

        def read() -> dict[tuple[str, ...], float]:
            families = claude.figures().families(session_labels=session_labels)
            return next(family.samples for family in families if family.name == name)

        return read

    def _pipeline(self, metrics: StreamMetrics, name: str) -> _Reader:
        return lambda: _pipeline_samples(name, metrics.snapshot())

    def _add_tool_histogram(self, claude: ClaudeMetrics, family: MetricFamily) -> None:
        histogram = self.meter.create_histogram(
            f"{self.prefix}_{family.name}",
            unit="s",
            description=family.help,
            explicit_bucket_boundaries_advisory=list(DURATION_BUCKETS),
        )

        def record(tool: str, seconds: float | None, _failed: bool) -> None:
            if seconds is not None and not self._closed:
                histogram.record(seconds, {"tool": tool})

        self._listener = claude.add_tool_listener(record)


_PIPELINE_LABELS: dict[str, tuple[str, ...]] = {
    "messages_by_type": ("type",),
    "messages_by_kind": ("kind",),
    "latency_seconds": ("quantile",),
    "messages_per_second": ("window",),
    "bytes_per_second": ("window",),
}
"""The attribute names of the pipeline instruments with attributes."""

_PIPELINE = [
    ("messages", "counter", "Messages received."),
    ("bytes", "counter", "Bytes of the frames processed."),
    ("parse_errors", "counter", "Parse errors."),
    ("handler_errors", "counter", "Handler errors."),
    ("backpressure_events", "counter", "Backpressure events."),
    ("messages_by_type", "counter", "Messages per frame type."),
    ("messages_by_kind", "counter", "Messages per kind."),
    ("latency_seconds", "gauge", "Latency percentiles, from a frame's arrival to its handling."),
    ("messages_per_second", "gauge", "Messages per second."),
    ("bytes_per_second", "gauge", "Bytes per second."),
    ("error_rate", "gauge", "(Parse + handler errors) / messages."),
    ("streams_active", "gauge", "Streams being measured."),
    ("buffer_size", "gauge", "Messages in the backpressure buffers."),
    ("buffer_utilisation", "gauge", "Buffer size / capacity."),
]
"""The pipeline's instruments: name, type, description."""


def _pipeline_samples(name: str, snapshot: MetricsSnapshot) -> dict[tuple[str, ...], float]:
    window = f"{snapshot.window:g}s"
    if name == "messages_by_type":
        return {(frame_type,): count for frame_type, count in snapshot.by_type.items()}
    if name == "messages_by_kind":
        return {(kind.value,): count for kind, count in snapshot.by_kind.items()}
    if name == "latency_seconds":
        quantiles = {
            "0.5": snapshot.latency_p50,
            "0.9": snapshot.latency_p90,
            "0.99": snapshot.latency_p99,
        }
        return {(q,): value for q, value in quantiles.items() if value is not None}
    if name == "messages_per_second":
        return {("overall",): snapshot.messages_per_second,
                (window,): snapshot.window_messages_per_second}  # fmt: skip
    if name == "bytes_per_second":
        return {("overall",): snapshot.bytes_per_second,
                (window,): snapshot.window_bytes_per_second}  # fmt: skip
    attribute = {"messages": "messages_received", "bytes": "bytes_processed"}.get(name, name)
    return {(): getattr(snapshot, attribute)}
