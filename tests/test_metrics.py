"""measure and StreamMetrics: reconciliation, virtual-time figures, histogram, threads."""

from __future__ import annotations

import gc
import json
import math
import random
import threading
import weakref
from collections import Counter
from pathlib import Path
from typing import Any, TypeVar

import pytest
import reactivex
from corpus_files import bundled_recordings, decode
from reactivex import operators as ops
from reactivex.notification import OnError, OnNext
from reactivex.subject import Subject
from reactivex.testing import ReactiveTest, TestScheduler
from reactivex.testing.mockobserver import MockObserver

from rxclaude.backpressure import BackpressureEventKind, Policy, backpressure
from rxclaude.framing import parse_json_frames
from rxclaude.messages import Message, message_from_json
from rxclaude.messages.kinds import Kind, kinds_of
from rxclaude.metrics import LatencyHistogram, MetricsSnapshot, StreamMetrics, measure
from rxclaude.routing import Router, route_by_type
from rxclaude.sources import from_file

on_next = ReactiveTest.on_next
on_completed = ReactiveTest.on_completed

_T = TypeVar("_T")


def timed_values(results: MockObserver[_T]) -> list[tuple[float, _T]]:
    return [(r.time, r.value.value) for r in results.messages if isinstance(r.value, OnNext)]


def expected_counts(messages: list[Message]) -> tuple[Counter[str], dict[Kind, int]]:
    by_type = Counter(m.type for m in messages)
    by_kind = dict.fromkeys(Kind, 0)
    for message in messages:
        for kind in kinds_of(message):
            by_kind[kind] += 1
    return by_type, by_kind


def assert_reconciles(snapshot: MetricsSnapshot, delivered: list[Message]) -> None:
    by_type, by_kind = expected_counts(delivered)
    assert snapshot.messages_received == len(delivered)
    assert snapshot.bytes_processed == sum(m.nbytes for m in delivered)
    assert snapshot.by_type == dict(by_type)
    assert snapshot.by_kind == by_kind
    assert snapshot.parse_errors == by_type["parse_error"]
    assert snapshot.handler_errors == by_type["handler_error"]


@pytest.mark.parametrize("path", bundled_recordings(), ids=lambda p: p.name)
def test_measure_reconciles_with_every_recording(path: Path) -> None:
    metrics = StreamMetrics()
    delivered: list[Message] = (
        from_file(path).pipe(parse_json_frames(), measure(metrics), ops.to_list()).run()
    )
    snapshot = metrics.snapshot()
    assert_reconciles(snapshot, delivered)
    assert delivered == decode(path.read_bytes())
    assert snapshot.streams_active == 0


def test_bytes_processed_is_the_file_minus_line_breaks_and_junk_counts_too() -> None:
    rng = random.Random(7)
    lines: list[bytes] = []
    for index in range(300):
        choice = rng.random()
        if choice < 0.1:
            lines.append(b"[SandboxDebug] not json " + b"x" * rng.randrange(50))
        elif choice < 0.15:
            lines.append(b"")
        else:
            frame = {"type": rng.choice(["assistant", "user", "system", "result"]), "n": index}
            lines.append(json.dumps(frame).encode())
    data = b"\n".join(lines) + b"\n"
    metrics = StreamMetrics()
    chunks = [data[i : i + 97] for i in range(0, len(data), 97)]
    delivered: list[Message] = (
        reactivex.from_iterable(chunks)
        .pipe(parse_json_frames(), measure(metrics), ops.to_list())
        .run()
    )
    snapshot = metrics.snapshot()
    assert_reconciles(snapshot, delivered)
    assert snapshot.bytes_processed == len(data) - data.count(b"\n")
    assert snapshot.parse_errors == sum(1 for line in lines if line.startswith(b"[Sandbox"))
    assert snapshot.error_rate == snapshot.parse_errors / len(delivered)


def test_handler_errors_are_counted_and_router_kinds_are_used() -> None:
    scheduler = TestScheduler()
    router = Router()

    def failing(message: Message) -> None:
        raise RuntimeError("boom")

    router.register("result", failing)
    raw_frames = [{"type": "assistant", "message": {"content": [{"type": "text"}]}}] * 3
    frames: list[dict[str, Any]] = [*raw_frames, {"type": "result", "is_error": True}]
    messages = [
        message_from_json(raw, offset=i, nbytes=10, received_at=scheduler.now)
        for i, raw in enumerate(frames)
    ]
    metrics = StreamMetrics(scheduler=scheduler, sample_every=1)
    results = scheduler.start(
        lambda: reactivex.from_iterable(messages).pipe(
            route_by_type(router), measure(metrics, router=router)
        )
    )
    delivered = [value for _, value in timed_values(results)]
    snapshot = metrics.snapshot()
    assert snapshot.messages_received == 5
    assert snapshot.handler_errors == 1
    assert snapshot.bytes_processed == 40  # the HandlerError adds no bytes
    assert snapshot.error_rate == pytest.approx(1 / 5)
    _, by_kind = expected_counts(delivered)
    assert snapshot.by_kind == by_kind == router.statistics().by_kind


def test_router_kinds_outlive_the_streams_and_the_router_is_let_go() -> None:
    """Per-kind counts read from a router stay in the totals after its streams end; the
    metrics then hold no reference to it (a finished pipeline can be freed)."""
    metrics = StreamMetrics()
    recording = bundled_recordings()[0]
    messages = decode(recording.read_bytes())
    router = Router()
    pipeline = reactivex.from_iterable(messages).pipe(
        route_by_type(router), measure(metrics, router=router)
    )
    pipeline.run()
    reference = weakref.ref(router)
    pipeline.run()  # the same operators again: counted again, from a new baseline
    del router, pipeline
    gc.collect()
    assert reference() is None
    _, by_kind = expected_counts(messages)
    assert metrics.snapshot().by_kind == {kind: 2 * count for kind, count in by_kind.items()}


def test_backpressures_are_reported_while_they_exist() -> None:
    metrics = StreamMetrics()
    kept, dropped = backpressure(Policy.BLOCK, buffer_size=8), backpressure(Policy.BLOCK)
    metrics.attach_backpressure(kept)
    metrics.attach_backpressure(dropped)
    metrics.attach_backpressure(kept)  # once only
    assert metrics.snapshot().buffer_capacity == 8 + 1024
    reference = weakref.ref(dropped)
    del dropped
    gc.collect()
    assert reference() is None
    assert metrics.snapshot().buffer_capacity == 8


def test_attach_router_keeps_counting_beyond_measured_streams() -> None:
    metrics = StreamMetrics()
    router = Router()
    metrics.attach_router(router)
    messages = decode(bundled_recordings()[0].read_bytes())
    reactivex.from_iterable(messages).pipe(route_by_type(router)).run()  # not measured
    _, by_kind = expected_counts(messages)
    assert metrics.snapshot().by_kind == by_kind


def message_at(scheduler: TestScheduler, nbytes: int = 100) -> Message:
    """A frame stamped with the scheduler's clock now, as parse_json_frames would."""
    return message_from_json(
        {"type": "stream_event", "event": {"type": "message_start"}},
        offset=0,
        nbytes=nbytes,
        received_at=scheduler.now,
    )


def test_throughput_and_latency_in_virtual_time() -> None:
    scheduler = TestScheduler()
    metrics = StreamMetrics(scheduler=scheduler, window=10.0, sample_every=1)
    # A frame stamped every 10 ticks from 210 to 300 reaches measure 3 ticks later, and
    # the handler downstream takes 2 ticks: latency 5, processing time 2.
    source = scheduler.create_hot_observable(
        *[on_next(t, t) for t in range(210, 301, 10)], on_completed(305)
    )
    stamped = source.pipe(
        ops.map(lambda t: message_at(scheduler)),
        ops.delay(3.0, scheduler=scheduler),
    )

    def slow_handler(_message: Message) -> None:
        scheduler.sleep(2.0)

    scheduler.start(lambda: stamped.pipe(measure(metrics), ops.do_action(slow_handler)))
    snapshot = metrics.snapshot()
    assert snapshot.messages_received == 10
    assert snapshot.latency.count == 10
    assert snapshot.latency_p50 == snapshot.latency_p99 == snapshot.latency_max == 5.0
    assert snapshot.avg_processing_time == 2.0
    # subscribed at 200; the last frame (delivered at 303) was handled at 305, completed at 308
    assert snapshot.elapsed == 108.0
    assert snapshot.messages_per_second == pytest.approx(10 / 108)
    assert snapshot.bytes_per_second == pytest.approx(1000 / 108)


def test_sliding_window_counts_only_the_last_seconds() -> None:
    scheduler = TestScheduler()
    metrics = StreamMetrics(scheduler=scheduler, window=10.0, window_buckets=10, sample_every=4)
    subject: Subject[Message] = Subject()
    subject.pipe(measure(metrics)).subscribe(lambda _: None)
    snapshots: dict[float, MetricsSnapshot] = {}

    def burst(count: int) -> None:
        for _ in range(count):
            subject.on_next(message_at(scheduler, nbytes=10))

    scheduler.schedule_absolute(5.0, lambda *_: burst(50))  # 50 messages at t=5
    scheduler.schedule_absolute(12.0, lambda *_: burst(20))  # 20 messages at t=12
    for at in (6.0, 14.0, 16.0, 30.0):
        scheduler.schedule_absolute(
            at, lambda *_, at=at: snapshots.__setitem__(at, metrics.snapshot())
        )
    scheduler.start()
    assert snapshots[6.0].window_messages_per_second == 50 / 6  # elapsed (6 s) < window
    assert snapshots[14.0].window_messages_per_second == 70 / 10
    assert snapshots[16.0].window_messages_per_second == 20 / 10  # t=5 left the window
    assert snapshots[16.0].window_bytes_per_second == 200 / 10
    assert snapshots[30.0].window_messages_per_second == 0.0
    assert snapshots[30.0].messages_per_second == 70 / 30  # still running: to now
    assert snapshots[30.0].latency.count == 70 // 4


def test_observe_emits_snapshots_on_the_scheduler() -> None:
    scheduler = TestScheduler()
    metrics = StreamMetrics(scheduler=scheduler)
    source = scheduler.create_hot_observable(on_next(250, 1), on_next(350, 2), on_completed(400))
    stream = source.pipe(ops.map(lambda _: message_at(scheduler)), measure(metrics))
    scheduler.schedule_absolute(200.0, lambda *_: stream.subscribe())
    results = scheduler.start(lambda: metrics.observe(100.0), created=100, subscribed=150)
    counts = [(time, snapshot.messages_received) for time, snapshot in timed_values(results)]
    # the hot source was scheduled first, so at 250 and 350 the frame is already counted
    assert counts == [
        (250, 1),
        (350, 2),
        (450, 2),
        (550, 2),
        (650, 2),
        (750, 2),
        (850, 2),
        (950, 2),
    ]


@pytest.mark.parametrize("interval", [0, 0.0, -1.0, math.inf, math.nan])
def test_observe_rejects_an_interval_that_is_not_positive_and_finite(interval: float) -> None:
    with pytest.raises(ValueError, match="interval must be a positive, finite number"):
        StreamMetrics().observe(interval)


@pytest.mark.parametrize("interval", ["1", True, None])
def test_observe_rejects_an_interval_that_is_not_a_number(interval: Any) -> None:
    with pytest.raises(TypeError, match="interval must be a number of seconds"):
        StreamMetrics().observe(interval)


def test_backpressure_events_and_utilisation_are_reported() -> None:
    scheduler = TestScheduler()
    bp = backpressure(Policy.DROP_NEWEST, buffer_size=2, scheduler=scheduler)
    metrics = StreamMetrics(scheduler=scheduler)
    source = scheduler.create_hot_observable(
        *[on_next(210, i) for i in range(5)], on_completed(300)
    )
    stream = source.pipe(
        ops.map(lambda _: message_at(scheduler)), bp, measure(metrics, backpressure=bp)
    )
    scheduler.schedule_absolute(220.0, lambda *_: snapshots.append(metrics.snapshot()))
    snapshots: list[MetricsSnapshot] = []
    scheduler.start(lambda: stream)
    final = metrics.snapshot()
    assert final.backpressure_events == 3
    assert final.backpressure_events_by_kind == {BackpressureEventKind.DROPPED: 3}
    assert final.messages_received == 2
    assert final.buffer_capacity == 2
    assert final.buffer_peak_utilisation == 1.0
    assert final.buffer_utilisation == 0.0
    assert snapshots[0].buffer_size == 0


def exact_percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(1, math.ceil(q / 100 * len(ordered))) - 1]


@pytest.mark.parametrize("seed", range(5))
def test_histogram_percentiles_are_within_the_stated_error(seed: int) -> None:
    rng = random.Random(seed)
    values = [rng.lognormvariate(-6, 3) for _ in range(5000)]  # about 1 µs to hours
    values = [min(max(v, 1e-6), 1e4) for v in values]
    histogram = LatencyHistogram()
    for value in values:
        histogram.record(value)
    for q in (0, 1, 10, 25, 50, 75, 90, 99, 99.9, 100):
        exact = exact_percentile(values, q)
        estimate = histogram.percentile(q)
        assert abs(estimate - exact) <= LatencyHistogram.RELATIVE_ERROR * exact, (q, exact)
    assert histogram.count == len(values)
    assert histogram.max == max(values)
    assert histogram.mean == pytest.approx(sum(values) / len(values))


def test_histogram_bounds_and_merge() -> None:
    histogram = LatencyHistogram()
    assert histogram.percentile(50) == 0.0
    for value in (0.0, -1.0, 1e-9, 1e9):
        histogram.record(value)
    assert histogram.percentile(50) == 0.0  # clamped to the exact minimum
    assert histogram.percentile(100) == 1e9
    other = histogram.copy()
    other.record(3.0)
    histogram.merge(other)
    assert histogram.count == 9
    with pytest.raises(ValueError, match="percentile"):
        histogram.percentile(101)


def test_shared_metrics_count_exactly_across_threads() -> None:
    metrics = StreamMetrics(sample_every=3)
    streams, per_stream = 8, 5000
    messages = decode(b"".join(p.read_bytes() for p in bundled_recordings()[:3]))
    start = threading.Barrier(streams)

    def run() -> None:
        items = [messages[i % len(messages)] for i in range(per_stream)]
        start.wait()
        reactivex.from_iterable(items).pipe(measure(metrics)).subscribe(lambda _: None)

    threads = [threading.Thread(target=run) for _ in range(streams)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    expected = [messages[i % len(messages)] for i in range(per_stream)] * streams
    snapshot = metrics.snapshot()
    assert_reconciles(snapshot, expected)
    assert snapshot.latency.count == streams * (per_stream // 3)


def test_snapshot_of_unused_metrics_and_bad_arguments() -> None:
    snapshot = StreamMetrics().snapshot()
    assert snapshot.messages_received == 0
    assert snapshot.messages_per_second == snapshot.error_rate == 0.0
    assert snapshot.elapsed == 0.0
    for bad in ({"window": 0}, {"window_buckets": 0}, {"sample_every": 0}):
        with pytest.raises(ValueError, match="must be"):
            StreamMetrics(**bad)  # type: ignore[arg-type]


def test_measure_passes_errors_on_and_closes_the_stream() -> None:
    scheduler = TestScheduler()
    metrics = StreamMetrics(scheduler=scheduler)
    failure = RuntimeError("source failed")
    source = scheduler.create_hot_observable(on_next(210, 1), ReactiveTest.on_error(220, failure))
    results = scheduler.start(
        lambda: source.pipe(ops.map(lambda _: message_at(scheduler)), measure(metrics))
    )
    last = results.messages[-1].value
    assert isinstance(last, OnError)
    assert last.exception is failure
    snapshot = metrics.snapshot()
    assert snapshot.streams_active == 0
    assert snapshot.elapsed == 20.0
    assert snapshot.latency.count == 0  # sample_every=16: not reached
