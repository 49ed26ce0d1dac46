"""Sixteen streams at once in one process, each with its own pipeline, all measured into
one shared StreamMetrics: every count must be exact.

The first message of every stream waits at a barrier until all sixteen have one, so the
streams provably run at the same time (``streams_active`` is 16 at that moment).
"""

from __future__ import annotations

import os
import random
import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
import reactivex.operators as ops
from conftest import TIMEOUT
from corpus_files import bundled_recordings, decode
from reactivex import Observable
from reactivex.scheduler import NewThreadScheduler

from reliability.support import Collector, child
from rxclaude import (
    Kind,
    Message,
    ParseError,
    Policy,
    Router,
    StreamMetrics,
    backpressure,
    from_cli,
    from_reader,
    measure,
    parse_json_frames,
    route_by_type,
)
from rxclaude.handlers import DefaultRouter
from rxclaude.messages import ResultMessage, kinds_of

STREAMS = 16
STREAM_BYTES = 500_000
"""Each stream repeats its recording up to about this size."""


def stream_inputs() -> list[tuple[Path, int]]:
    """Sixteen recordings (the bundled ones in turn), each with its repeat count."""
    recordings = [path for path in bundled_recordings() if "large_lines" not in path.name]
    chosen = [recordings[index % len(recordings)] for index in range(STREAMS)]
    return [(path, max(1, STREAM_BYTES // path.stat().st_size)) for path in chosen]


def cli_source(path: Path, repeat: int, seed: int) -> Observable[bytes]:
    """A child process replaying the recording in chunks of random sizes."""
    return from_cli(child("replay.py", path, "--repeat", repeat, "--seed", seed))


def pipe_source(path: Path, repeat: int, seed: int) -> Observable[bytes]:
    """A pipe fed by a writer thread in chunks of random sizes, read on a thread of its own."""
    read_end, write_end = os.pipe()
    data = path.read_bytes() * repeat

    def write() -> None:
        sizes = random.Random(seed)
        position = 0
        try:
            while position < len(data):
                size = sizes.randint(1, 65536)
                position += os.write(write_end, data[position : position + size])
        finally:
            os.close(write_end)

    threading.Thread(target=write, name=f"pipe-writer-{seed}", daemon=True).start()
    reader = open(read_end, "rb", buffering=0)  # noqa: SIM115 -- closed when the stream ends
    source = from_reader(reader, scheduler=NewThreadScheduler())
    return source.pipe(ops.finally_action(reader.close))


@pytest.mark.parametrize("make_source", [cli_source, pipe_source], ids=["from_cli", "pipes"])
def test_sixteen_streams_at_once_count_exactly_into_one_shared_metrics(
    make_source: Callable[[Path, int, int], Observable[bytes]],
) -> None:
    inputs = stream_inputs()
    metrics = StreamMetrics()
    active_at_the_barrier: list[int] = []
    barrier = threading.Barrier(
        STREAMS, action=lambda: active_at_the_barrier.append(metrics.snapshot().streams_active)
    )
    routers: list[DefaultRouter] = []
    collectors: list[Collector] = []
    for seed, (path, repeat) in enumerate(inputs):
        router = Router.default()
        first = threading.Event()

        def meet_the_others(_: Message, first: threading.Event = first) -> None:
            if not first.is_set():
                first.set()
                barrier.wait(TIMEOUT)

        router.register("*", meet_the_others)
        bp = backpressure(Policy.BLOCK, buffer_size=8)
        collector = Collector()
        make_source(path, repeat, seed).pipe(
            parse_json_frames(),
            bp,
            route_by_type(router, mode="async" if seed % 2 else "sync"),
            # Half the streams take their kinds from the router, half classify themselves.
            measure(metrics, backpressure=bp, router=router if seed % 4 < 2 else None),
        ).subscribe(collector)
        routers.append(router)
        collectors.append(collector)

    expected = [decode(path.read_bytes() * repeat) for path, repeat in inputs]
    for collector, router, stream in zip(collectors, routers, expected, strict=True):
        collector.wait()
        assert collector.completed, collector.error
        assert collector.items == stream
        assert router.statistics().messages == len(stream)
        assert router.statistics().handler_errors == 0
        results = [m for m in stream if isinstance(m, ResultMessage)]
        assert router.handlers.complete.results == results[-100:]  # it keeps the last 100
    assert active_at_the_barrier == [STREAMS]

    everything = [message for stream in expected for message in stream]
    snapshot = metrics.snapshot()
    assert snapshot.streams_active == 0
    assert snapshot.messages_received == len(everything)
    assert snapshot.bytes_processed == sum(message.nbytes for message in everything)
    assert snapshot.parse_errors == sum(isinstance(m, ParseError) for m in everything) == 0
    assert snapshot.handler_errors == 0
    assert snapshot.by_type == Counter(message.type for message in everything)
    by_kind = Counter(kind for message in everything for kind in kinds_of(message))
    assert snapshot.by_kind == {kind: by_kind[kind] for kind in Kind}
