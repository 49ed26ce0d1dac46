"""Case "concurrent": several ``from_cli`` children streaming the corpus at once.

Each stream runs ``cat <corpus>`` through the full pipeline of case d,
``from_cli | parse_json_frames() | backpressure(BLOCK) | route_by_type(Router.default())
| measure(metrics)``, with a router per stream (a session's handlers keep per-session state)
and one ``StreamMetrics`` shared by all streams. Every stream must deliver every line of the
corpus, and the shared metrics must count all of them. Each child streams the whole corpus
rather than a share so that the streams overlap for nearly all of the run, also with a
small corpus: starting the children takes milliseconds.
"""

from __future__ import annotations

import shutil
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.common import MB, BenchmarkError, full_pipeline
from rxclaude import StreamMetrics, from_cli

THREADS_PER_STREAM = 4
"""from_cli's pipe drain, its delivery thread and its stderr drain, and backpressure's
consumer."""
THREAD_SAMPLE_INTERVAL_S = 0.001


def cat_command(path: Path) -> list[str]:
    """The child of one stream: ``cat`` when there is one, else a Python copy loop."""
    cat = shutil.which("cat")
    if cat is not None:
        return [cat, str(path)]
    copy = "import shutil,sys; shutil.copyfileobj(open(sys.argv[1],'rb'),sys.stdout.buffer)"
    return [sys.executable, "-c", copy, str(path)]


@dataclass(frozen=True)
class ConcurrentResult:
    """One run: what each stream delivered, the shared metrics' count, threads seen."""

    delivered: list[int]
    metrics_messages: int
    baseline_threads: int | None
    peak_threads: int | None


class _ThreadSampler:
    """Samples the process's OS thread count (psutil) on its own thread; keeps the peak."""

    def __init__(self) -> None:
        import psutil  # noqa: PLC0415

        self._process = psutil.Process()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="bench-thread-sampler")
        self.peak = 0

    def _sample(self) -> None:
        while True:
            self.peak = max(self.peak, self._process.num_threads())
            if self._stop.wait(THREAD_SAMPLE_INTERVAL_S):
                return

    def __enter__(self) -> _ThreadSampler:
        self._thread.start()
        return self

    def now(self) -> int:
        count: int = self._process.num_threads()
        return count

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


class ConcurrentStreams:
    """``streams`` children each streaming the corpus at ``path`` (``lines`` lines)."""

    def __init__(
        self,
        path: str | Path,
        lines: int,
        streams: int,
        command: Callable[[Path], list[str]] = cat_command,
    ) -> None:
        self.path = Path(path)
        self.lines = lines
        self.streams = streams
        self.command = command
        self.bytes = self.path.stat().st_size

    def run(self, sample_threads: bool = False) -> ConcurrentResult:
        """Start every stream, wait for all; check each stream's count."""
        if not sample_threads:
            return self._run(None)
        with _ThreadSampler() as sampler:
            return self._run(sampler)

    def _run(self, sampler: _ThreadSampler | None) -> ConcurrentResult:
        baseline = None if sampler is None else sampler.now()
        metrics = StreamMetrics()
        counts = [0] * self.streams
        errors: list[Exception] = []
        finished = threading.Semaphore(0)
        subscriptions = []
        for index in range(self.streams):
            pipeline = full_pipeline(from_cli(self.command(self.path)), metrics)
            subscriptions.append(
                pipeline.subscribe(*_counting_observer(counts, index, errors, finished))
            )
        deadline = time.perf_counter() + 30.0 + self.streams * self.bytes / MB
        try:
            for _ in range(self.streams):
                if not finished.acquire(timeout=max(deadline - time.perf_counter(), 0.0)):
                    raise BenchmarkError("a concurrent stream did not complete in time")
        finally:
            for subscription in subscriptions:
                subscription.dispose()
        if errors:
            raise BenchmarkError(f"on_error: {errors[0]!r}") from errors[0]
        for count in counts:
            if count != self.lines:
                raise BenchmarkError(
                    f"count mismatch: a stream delivered {count:,} messages, "
                    f"the corpus has {self.lines:,} lines"
                )
        metrics_messages = metrics.snapshot().messages_received
        if metrics_messages != self.streams * self.lines:
            raise BenchmarkError(
                f"shared metrics counted {metrics_messages:,} messages, "
                f"expected {self.streams * self.lines:,}"
            )
        return ConcurrentResult(
            delivered=counts,
            metrics_messages=metrics_messages,
            baseline_threads=baseline,
            peak_threads=None if sampler is None else sampler.peak,
        )

    def details(self, result: ConcurrentResult) -> dict[str, Any]:
        """A result as JSON-ready details, with the thread count the design predicts."""
        expected = None
        if result.baseline_threads is not None:
            expected = result.baseline_threads + THREADS_PER_STREAM * self.streams
        return {
            "streams": self.streams,
            "child": self.command(self.path),
            "messages_per_stream": self.lines,
            "delivered": result.delivered,
            "metrics_messages_received": result.metrics_messages,
            "threads_before": result.baseline_threads,
            "peak_threads": result.peak_threads,
            "expected_peak_threads": expected,
            "threads_per_stream": THREADS_PER_STREAM,
        }


def _counting_observer(
    counts: list[int], index: int, errors: list[Exception], finished: threading.Semaphore
) -> tuple[Callable[[Any], None], Callable[[Exception], None], Callable[[], None]]:
    def on_next(_: Any) -> None:
        counts[index] += 1

    def on_error(error: Exception) -> None:
        errors.append(error)
        finished.release()

    return on_next, on_error, finished.release
