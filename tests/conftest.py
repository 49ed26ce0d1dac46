"""What the tests share: how long they wait, and an observer that records a stream.

Test modules import them with ``from conftest import TIMEOUT, Recording`` (``tests`` is
on ``sys.path``). Threaded tests synchronise on the recording's events, never on sleeps.
"""

from __future__ import annotations

import queue
import signal
import threading
from typing import Generic, TypeVar

from reactivex import abc

TIMEOUT = 60.0
"""Seconds a test waits for something that should happen; only reached when a test fails."""

if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    # Started in the background by a shell without job control (``cmd &`` in a script),
    # which ignores SIGINT and passes that on to every process it starts. The Ctrl-C tests
    # need it: caught here, it is back to its default in every child too.
    signal.signal(signal.SIGINT, signal.default_int_handler)

_T = TypeVar("_T")


class Recording(abc.ObserverBase[_T], Generic[_T]):
    """Records the items of a stream, how it ended and the threads that delivered.

    ``first_item`` is set by the first item and ``done`` by the end of the stream; every
    item is also put on ``queue``, for a test that takes them as they come.
    """

    def __init__(self) -> None:
        self.items: list[_T] = []
        self.queue: queue.SimpleQueue[_T] = queue.SimpleQueue()
        self.errors: list[Exception] = []
        self.completed = False
        self.thread_names: set[str] = set()
        self.first_item = threading.Event()
        self.done = threading.Event()

    def on_next(self, value: _T) -> None:
        self.items.append(value)
        self.queue.put(value)
        self.thread_names.add(threading.current_thread().name)
        self.first_item.set()

    def on_error(self, error: Exception) -> None:
        self.errors.append(error)
        self.done.set()

    def on_completed(self) -> None:
        self.completed = True
        self.done.set()

    @property
    def error(self) -> Exception | None:
        """The error that ended the stream, if one did."""
        return self.errors[0] if self.errors else None

    def wait_done(self, timeout: float = TIMEOUT) -> None:
        """Asserts that the stream ends within ``timeout`` seconds."""
        assert self.done.wait(timeout), (
            f"the stream had not ended within {timeout} s ({len(self.items)} items)"
        )

    def wait_first(self, timeout: float = TIMEOUT) -> None:
        """Asserts that an item arrives within ``timeout`` seconds."""
        assert self.first_item.wait(timeout), f"no item arrived within {timeout} s"

    def take(self, timeout: float = TIMEOUT) -> _T:
        """The next item not taken yet, once it has arrived (``queue.Empty`` if none does)."""
        return self.queue.get(timeout=timeout)
