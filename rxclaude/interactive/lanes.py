"""The two lanes a session splits the CLI's output into, each with a thread of its own.

The CLI's output is decoded on the source's delivery thread, which never blocks: control
frames are handled there or handed to the :class:`ControlWorker`, and every other frame is
appended to the :class:`MessageLane`. The lane's thread hands messages to the session's
subscribers, so a consumer that holds its thread (or a full ``backpressure(BLOCK)``
buffer behind it) holds only the message lane: permission prompts and hook callbacks
are still read and answered.

The lane's queue is unbounded, like the source's spool before it (the CLI does not wait
for a slow reader either); :attr:`MessageLane.queued` tells how much waits.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable

from rxclaude.messages import Message

_END = object()


class MessageLane:
    """Messages in order, then the end, delivered by one thread to ``deliver`` and
    ``finish`` (``finish(None)`` for completion, ``finish(error)`` for a failure)."""

    def __init__(
        self,
        deliver: Callable[[Message], None],
        finish: Callable[[Exception | None], None],
    ) -> None:
        self._deliver = deliver
        self._finish = finish
        self._items: deque[Message | object] = deque()
        self._error: Exception | None = None
        self._condition = threading.Condition()
        self._stopped = False
        self.done = threading.Event()
        """Set when the end was delivered, or the lane was stopped."""
        self._thread = threading.Thread(
            target=self._run, name="rxclaude-session-messages", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    @property
    def queued(self) -> int:
        """Messages waiting for the consumer."""
        with self._condition:
            return sum(1 for item in self._items if item is not _END)

    def put(self, message: Message) -> None:
        with self._condition:
            self._items.append(message)
            self._condition.notify()

    def end(self, error: Exception | None) -> None:
        """The end of the messages: delivered after every message put before it."""
        with self._condition:
            self._error = error
            self._items.append(_END)
            self._condition.notify()

    def stop(self) -> None:
        """Stops delivering (what waits is dropped); returns at once."""
        with self._condition:
            self._stopped = True
            self._items.clear()
            self._condition.notify()
        self.done.set()

    def join(self, timeout: float) -> None:
        if self._thread.ident is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def _run(self) -> None:
        condition, items = self._condition, self._items
        while True:
            with condition:
                while not items and not self._stopped:
                    condition.wait()
                if self._stopped:
                    return
                item = items.popleft()
            if item is _END:
                self._finish(self._error)
                self.done.set()
                return
            assert isinstance(item, Message)
            self._deliver(item)


class ControlWorker:
    """Runs the host's answers to control requests (permission functions, hooks) one at a
    time on a thread of its own, off the thread that reads the CLI's output."""

    def __init__(self) -> None:
        self._tasks: deque[Callable[[], None] | None] = deque()
        self._condition = threading.Condition()
        self._thread = threading.Thread(
            target=self._run, name="rxclaude-session-control", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def submit(self, task: Callable[[], None]) -> None:
        with self._condition:
            self._tasks.append(task)
            self._condition.notify()

    def stop(self) -> None:
        """Ends the thread after the tasks already submitted."""
        with self._condition:
            self._tasks.append(None)
            self._condition.notify()

    def join(self, timeout: float) -> None:
        if self._thread.ident is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            with self._condition:
                while not self._tasks:
                    self._condition.wait()
                task = self._tasks.popleft()
            if task is None:
                return
            task()  # tasks catch their own errors: each answers its request either way


__all__ = ["ControlWorker", "MessageLane"]
