"""Figures that come from samples are None until the first sample, never a made-up 0.0
(issue #13: ``latency_p50/p99/max`` read 0.0 when nothing was sampled)."""

from __future__ import annotations

import math

import pytest
import reactivex
from reactivex import operators as ops

from rxclaude import sample_path
from rxclaude.framing import parse_json_frames
from rxclaude.metrics import MetricsSnapshot, StreamMetrics, measure
from rxclaude.metrics.prometheus import PrometheusExporter

FRAME = b'{"type":"stream_event","event":{"type":"ping"}}\n'


def measured(frames: int, sample_every: int) -> MetricsSnapshot:
    """The snapshot after ``frames`` frames through ``measure``."""
    metrics = StreamMetrics(sample_every=sample_every)
    reactivex.of(FRAME * frames).pipe(parse_json_frames(), measure(metrics), ops.to_list()).run()
    return metrics.snapshot()


def test_before_any_stream_nothing_is_sampled() -> None:
    snapshot = StreamMetrics().snapshot()
    assert snapshot.latency.count == 0
    figures = (snapshot.latency_p50, snapshot.latency_p90, snapshot.latency_p99)
    assert figures == (None, None, None)
    assert snapshot.latency_max is None
    assert snapshot.avg_processing_time is None


def test_messages_counted_but_not_sampled_give_no_latency() -> None:
    snapshot = measured(frames=15, sample_every=16)  # the 16th would be the first sample
    assert snapshot.messages_received == 15
    assert snapshot.latency.count == 0
    assert snapshot.latency_p50 is snapshot.latency_p99 is snapshot.latency_max is None
    assert snapshot.avg_processing_time is None


def test_one_sample_gives_every_figure() -> None:
    snapshot = measured(frames=16, sample_every=16)
    assert snapshot.latency.count == 1
    figures = [snapshot.latency_p50, snapshot.latency_p90, snapshot.latency_p99]
    assert all(isinstance(value, float) and value >= 0 for value in figures)
    assert snapshot.latency_max == snapshot.latency.max
    assert snapshot.avg_processing_time is not None and snapshot.avg_processing_time >= 0


def test_the_readme_first_example_prints_none_for_an_unsampled_latency() -> None:
    # As in the README's first example: a short stream, the default sample_every=16.
    data = sample_path("permission_denied").read_bytes()
    metrics = StreamMetrics()
    messages = reactivex.of(data).pipe(parse_json_frames(), measure(metrics), ops.to_list()).run()
    snapshot = metrics.snapshot()
    assert len(messages) < 16
    assert "latency_p99=None" in repr(snapshot)


def test_prometheus_reports_no_samples_as_nan() -> None:
    prometheus_client = pytest.importorskip("prometheus_client")
    registry = prometheus_client.CollectorRegistry()
    PrometheusExporter(StreamMetrics(), registry=registry, prefix="test")
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in registry.collect()
        for sample in family.samples
    }
    assert math.isnan(samples[("test_latency_seconds", (("quantile", "0.5"),))])
    assert math.isnan(samples[("test_latency_max_seconds", ())])
    assert math.isnan(samples[("test_processing_seconds_avg", ())])
    assert samples[("test_latency_seconds_count", ())] == 0
