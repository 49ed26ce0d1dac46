"""``measure(metrics, spool=source)``: the spool of ``from_cli`` in every snapshot."""

from __future__ import annotations

import gc
import sys
import threading

import psutil
import pytest
from waiting import DEADLINE, wait_until

from rxclaude import Message, StreamMetrics, from_cli, measure, parse_json_frames

FRAMES = 12_000
FRAME = b'{"type":"system","subtype":"pad","pad":"' + b"x" * 960 + b'"}\n'
WRITER = [
    sys.executable,
    "-c",
    f"import sys; sys.stdout.buffer.write({FRAME!r} * {FRAMES})",
]


def test_snapshots_show_the_bytes_waiting_in_memory_and_on_disk() -> None:
    source = from_cli(WRITER, spool_memory=1 << 20)
    metrics = StreamMetrics()
    holding, release, done = threading.Event(), threading.Event(), threading.Event()
    delivered: list[Message] = []

    def hold_first(message: Message) -> None:
        delivered.append(message)
        if not holding.is_set():
            holding.set()
            assert release.wait(DEADLINE)

    source.pipe(parse_json_frames(), measure(metrics, spool=source)).subscribe(
        hold_first, lambda _: done.set(), done.set
    )
    try:
        assert holding.wait(DEADLINE)
        (writer,) = psutil.Process().children()
        assert writer.wait(DEADLINE) == 0
        wait_until(lambda: source.statistics().received_bytes == FRAMES * len(FRAME))
        held = metrics.snapshot()
        figures = source.statistics()
        assert held.spool_memory_bytes == figures.memory_bytes <= 1 << 20
        assert held.spool_disk_bytes == figures.disk_bytes > 0
        assert held.spool_memory_bytes + held.spool_disk_bytes == figures.held_bytes
        assert held.spool_peak_bytes == figures.peak_bytes
        assert held.spool_spilled_bytes == figures.spilled_bytes > 0
    finally:
        release.set()
    assert done.wait(DEADLINE)
    assert len(delivered) == FRAMES
    after = metrics.snapshot()
    assert (after.spool_memory_bytes, after.spool_disk_bytes) == (0, 0)
    assert after.spool_peak_disk_bytes == source.statistics().peak_disk_bytes > 0


def test_spools_are_held_weakly() -> None:
    metrics = StreamMetrics()
    source = from_cli([sys.executable, "-c", "print('x' * 1000)"])
    metrics.attach_spool(source)
    metrics.attach_spool(source)  # once only
    source.run()
    assert metrics.snapshot().spool_peak_bytes == source.statistics().peak_bytes > 0
    del source
    gc.collect()
    assert metrics.snapshot().spool_peak_bytes == 0


def test_prometheus_exports_the_spool_gauges() -> None:
    prometheus_client = pytest.importorskip("prometheus_client")
    exporter_module = pytest.importorskip("rxclaude.metrics.prometheus")
    source = from_cli([sys.executable, "-c", "print('x' * 1000)"])
    metrics = StreamMetrics()
    metrics.attach_spool(source)
    source.run()
    registry = prometheus_client.CollectorRegistry()
    exporter_module.PrometheusExporter(metrics, registry=registry, prefix="t")
    text = prometheus_client.generate_latest(registry).decode()
    assert "t_spool_memory_bytes 0.0" in text
    assert "t_spool_disk_bytes 0.0" in text
    peak = source.statistics().peak_bytes
    assert peak > 0
    assert f"t_spool_peak_bytes {float(peak)}" in text
