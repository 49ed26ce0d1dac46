"""OpenTelemetryExporter read through the SDK's InMemoryMetricReader gives the figures the
Prometheus exposition gives, for the Claude-level and the pipeline metrics."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from test_claude_metrics import RATE_LIMITS_AND_JUNK, REAL, SAMPLES, exposition

from rxclaude.framing import parse_json_frames
from rxclaude.handlers import ClaudeMetrics
from rxclaude.metrics import StreamMetrics, measure
from rxclaude.routing import Router, route_by_type
from rxclaude.sources import from_file

pytest.importorskip("opentelemetry.sdk")
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    HistogramDataPoint,
    InMemoryMetricReader,
    NumberDataPoint,
)

from rxclaude.metrics.otel import OpenTelemetryExporter

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def run_with_otel(path: Path) -> tuple[InMemoryMetricReader, OpenTelemetryExporter, StreamMetrics]:
    router, metrics, claude = Router(), StreamMetrics(), ClaudeMetrics()
    claude.attach(router)
    reader = InMemoryMetricReader()
    exporter = OpenTelemetryExporter(
        claude=claude, metrics=metrics, meter_provider=MeterProvider(metric_readers=[reader])
    )
    from_file(path).pipe(
        parse_json_frames(), route_by_type(router), measure(metrics, router=router)
    ).run()
    return reader, exporter, metrics


def read(reader: InMemoryMetricReader) -> Samples:
    """Every data point as the Prometheus sample it stands for (``_total`` on counters,
    ``_count`` and ``_sum`` for histograms)."""
    data = reader.get_metrics_data()
    assert data is not None
    found: Samples = {}
    for resource in data.resource_metrics:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                monotonic = getattr(metric.data, "is_monotonic", False)
                for point in metric.data.data_points:
                    attributes = point.attributes or {}
                    labels = tuple(sorted((k, str(v)) for k, v in attributes.items()))
                    if isinstance(point, HistogramDataPoint):
                        found[(f"{metric.name}_count", labels)] = point.count
                        found[(f"{metric.name}_sum", labels)] = point.sum
                    else:
                        assert isinstance(point, NumberDataPoint)
                        suffix = "_total" if monotonic else ""
                        found[(f"{metric.name}{suffix}", labels)] = point.value
    return found


def rate_limits_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("otel") / "rate_limits_and_junk.jsonl"
    path.write_bytes(RATE_LIMITS_AND_JUNK)
    return path


@pytest.mark.parametrize(
    "path", [*SAMPLES, *REAL, None], ids=lambda path: getattr(path, "name", "rate_limits_and_junk")
)
def test_the_otel_figures_equal_the_prometheus_ones(
    path: Path | None, tmp_path_factory: pytest.TempPathFactory
) -> None:
    path = path or rate_limits_file(tmp_path_factory)
    reader, _, _ = run_with_otel(path)
    otel = {key: value for key, value in read(reader).items() if "_claude_" in key[0]}
    scraped = {
        key: value
        for key, value in exposition(path).items()
        if not key[0].endswith("_bucket") and (value or not key[0].endswith("_total"))
    }
    otel_nonzero = {
        key: value for key, value in otel.items() if value or not key[0].endswith("_total")
    }
    assert otel_nonzero == pytest.approx(scraped)
    assert any(name.endswith("_turns_total") for name, _ in otel)


def test_the_pipeline_figures_and_the_histogram_buckets() -> None:
    path = REAL[0]  # subagents' tool calls, each paired with its result
    reader, _, metrics = run_with_otel(path)
    snapshot = metrics.snapshot()
    found = read(reader)
    assert found[("rxclaude_messages_total", ())] == snapshot.messages_received
    assert found[("rxclaude_bytes_total", ())] == snapshot.bytes_processed
    assert (
        found[("rxclaude_messages_by_type_total", (("type", "assistant"),))]
        == (snapshot.by_type["assistant"])
    )
    data = reader.get_metrics_data()
    assert data is not None
    (histogram,) = [
        metric
        for resource in data.resource_metrics
        for scope in resource.scope_metrics
        for metric in scope.metrics
        if metric.name == "rxclaude_claude_tool_duration_seconds"
    ]
    points: dict[str, Any] = {
        str((p.attributes or {})["tool"]): p for p in histogram.data.data_points
    }
    assert sum(point.count for point in points.values()) == 36
    assert list(points["Read"].explicit_bounds)[:3] == [0.01, 0.05, 0.1]


def test_after_close_only_the_recorded_durations_remain() -> None:
    reader, exporter, _ = run_with_otel(REAL[0])
    before = read(reader)
    exporter.close()
    after = read(reader)
    assert len(before) > len(after)
    assert {name for name, _ in after} == {
        "rxclaude_claude_tool_duration_seconds_count",
        "rxclaude_claude_tool_duration_seconds_sum",
    }
    assert after == {key: value for key, value in before.items() if key in after}
