"""Helpers shared by the reliability tests: sizes, child processes, probes, observers."""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import psutil
from conftest import TIMEOUT, Recording
from corpus_files import bundled_recordings
from reactivex import Observable

from rxclaude import Message, Router, StreamMetrics, measure, parse_json_frames, route_by_type
from rxclaude.backpressure import Backpressure

SOAK_SCALE_VARIABLE = "RXCLAUDE_SOAK_SCALE"
CHILDREN = Path(__file__).resolve().parents[1] / "children"


def soak_scale() -> float:
    """The factor applied to the ``soak`` sizes: ``RXCLAUDE_SOAK_SCALE``, 1.0 by default."""
    text = os.environ.get(SOAK_SCALE_VARIABLE, "1.0")
    scale = float(text)
    if not scale > 0:
        raise ValueError(f"{SOAK_SCALE_VARIABLE} must be a positive number, not {text!r}")
    return scale


def soak_size(full: int, minimum: int) -> int:
    """``full`` scaled by :func:`soak_scale`, but never below ``minimum``."""
    return max(minimum, round(full * soak_scale()))


def recording_path(name: str) -> Path:
    """The bundled recording whose file name contains ``name`` (exactly one must)."""
    (path,) = [path for path in bundled_recordings() if name in path.name]
    return path


def child(script: str, *arguments: object) -> list[str]:
    """The command that runs ``tests/children/<script>`` with ``arguments``."""
    return [sys.executable, str(CHILDREN / script), *map(str, arguments)]


def full_pipeline(
    source: Observable[bytes],
    bp: Backpressure,
    router: Router,
    metrics: StreamMetrics,
) -> Observable[Message]:
    """source → parse_json_frames → backpressure → route_by_type → measure."""
    return source.pipe(
        parse_json_frames(),
        bp,
        route_by_type(router),
        measure(metrics, backpressure=bp, router=router),
    )


# -- probes ----------------------------------------------------------------------------


def rxclaude_threads() -> list[threading.Thread]:
    """The library's threads still alive (process pipes, buffers, routing lanes)."""
    return [thread for thread in threading.enumerate() if thread.name.startswith("rxclaude-")]


def open_fds() -> dict[int, str]:
    """This process's open file descriptors and what they point at."""
    descriptors: dict[int, str] = {}
    for name in os.listdir("/proc/self/fd"):
        try:
            descriptors[int(name)] = os.readlink(f"/proc/self/fd/{name}")
        except FileNotFoundError:  # the descriptor os.listdir itself used
            continue
    return descriptors


def child_processes() -> list[psutil.Process]:
    """Children of this process, zombies included (a zombie is a child nobody reaped)."""
    children: list[psutil.Process] = psutil.Process().children(recursive=True)
    return children


def only_child() -> psutil.Process:
    (process,) = psutil.Process().children()
    return process


def is_zombie(process: psutil.Process) -> bool:
    """Whether ``process`` has exited and waits to be reaped (never reaps it)."""
    try:
        status: str = process.status()
    except psutil.NoSuchProcess:
        return True
    return bool(status == psutil.STATUS_ZOMBIE)


# -- observing a stream ---------------------------------------------------------------


class Collector(Recording[Message]):
    """A ``Recording`` of a stream's messages that also calls ``on_item`` with each one."""

    def __init__(self, on_item: Callable[[Message], None] | None = None) -> None:
        super().__init__()
        self._on_item = on_item

    def on_next(self, value: Message) -> None:
        super().on_next(value)
        if self._on_item is not None:
            self._on_item(value)

    def wait(self, deadline: float = TIMEOUT) -> None:
        self.wait_done(deadline)
