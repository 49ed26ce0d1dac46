"""What the benchmark modules share: units, the failure type, case d's stages, draining."""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable
from importlib.machinery import EXTENSION_SUFFIXES
from typing import TYPE_CHECKING, Any

from rxclaude import (
    Policy,
    Router,
    StreamMetrics,
    backpressure,
    measure,
    parse_json_frames,
    route_by_type,
)

if TYPE_CHECKING:
    from reactivex import Observable

    from rxclaude import Message

MB = 1_000_000  # throughput and corpus sizes are decimal megabytes
MIB = 1 << 20  # memory is reported in MiB

Runner = Callable[[str], int | None]
"""A prepared case: process the file at the path; return the message count (or None)."""


class BenchmarkError(Exception):
    """A case failed, timed out or delivered the wrong number of messages."""


class CaseUnavailableError(Exception):
    """A case cannot run here (an optional package is missing); the message says why."""


def compiled_modules() -> list[str]:
    """The rxclaude modules imported so far from extension files: those of the optional
    mypyc build (``setup.py``), if its modules are the ones found first."""
    return sorted(
        name
        for name, module in list(sys.modules.items())
        if name.split(".", 1)[0] == "rxclaude"
        and str(getattr(module, "__file__", "") or "").endswith(tuple(EXTENSION_SUFFIXES))
    )


def timeout_for(path: str | os.PathLike[str]) -> float:
    """Generous completion deadline: 30 s plus 1 s per MB (a hang must not block forever)."""
    return 30.0 + os.path.getsize(path) / MB


def full_pipeline(source: Observable[bytes], metrics: StreamMetrics) -> Observable[Message]:
    """Case d's stages after its source, as every full-pipeline case runs them:
    ``parse_json_frames() | backpressure(BLOCK) | route_by_type(Router.default()) |
    measure(metrics)``."""
    return source.pipe(
        parse_json_frames(),
        backpressure(Policy.BLOCK),
        route_by_type(Router.default()),
        measure(metrics),
    )


def drain(source: Observable[Any], timeout: float) -> int:
    """Subscribe with a counting no-op observer and wait for completion on any thread."""
    done = threading.Event()
    errors: list[Exception] = []
    count = 0

    def on_next(_: Any) -> None:
        nonlocal count
        count += 1

    def on_error(exc: Exception) -> None:
        errors.append(exc)
        done.set()

    subscription = source.subscribe(on_next, on_error, done.set)
    finished = done.wait(timeout)
    subscription.dispose()
    if not finished:
        raise BenchmarkError(f"no completion within {timeout:.0f} s")
    if errors:
        raise BenchmarkError(f"on_error: {errors[0]!r}") from errors[0]
    return count
