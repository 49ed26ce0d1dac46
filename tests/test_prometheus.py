"""PrometheusExporter: the exposition text carries the metrics' figures."""

from __future__ import annotations

import pytest
import reactivex
from reactivex import operators as ops

import rxclaude
from rxclaude.framing import parse_json_frames
from rxclaude.metrics import StreamMetrics, measure

prometheus_client = pytest.importorskip("prometheus_client")

from rxclaude.metrics.prometheus import PrometheusExporter  # noqa: E402


def test_exposition_contains_the_figures() -> None:
    metrics = StreamMetrics(sample_every=1)
    data = rxclaude.sample_path("tool_use_partial").read_bytes() + b"junk\n"
    messages = reactivex.of(data).pipe(parse_json_frames(), measure(metrics), ops.to_list()).run()
    registry = prometheus_client.CollectorRegistry()
    exporter = PrometheusExporter(metrics, registry=registry, prefix="test")
    text = prometheus_client.generate_latest(registry).decode()
    snapshot = metrics.snapshot()
    assert f"test_messages_total {float(len(messages))}" in text
    assert f"test_bytes_total {float(snapshot.bytes_processed)}" in text
    assert "test_parse_errors_total 1.0" in text
    assert (
        f'test_messages_by_type_total{{type="assistant"}} {float(snapshot.by_type["assistant"])}'
        in text
    )
    assert 'test_messages_by_kind_total{kind="tool_use"}' in text
    assert 'test_latency_seconds{quantile="0.99"}' in text
    assert f"test_latency_seconds_count {float(len(messages))}" in text
    assert 'test_messages_per_second{window="10s"}' in text
    assert "test_buffer_utilisation 0.0" in text
    exporter.unregister()
    assert "test_messages_total" not in prometheus_client.generate_latest(registry).decode()
