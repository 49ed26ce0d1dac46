"""What a process source needs around its pipes: the input it writes, and a wake-up pipe
that stops the threads waiting on the others."""

import os
import select
import threading
from collections.abc import Iterable, Mapping
from typing import TypeAlias

from reactivex import Observable

InputChunk: TypeAlias = bytes | bytearray | memoryview | str
"""One piece of a process's input; ``str`` is written as UTF-8."""

ProcessInput: TypeAlias = InputChunk | Iterable[InputChunk] | Observable[InputChunk] | None
"""What ``from_cli(input=…)`` takes."""


def input_bytes(chunk: object) -> bytes:
    """One input chunk as bytes; ``TypeError`` for anything but bytes-like or ``str``."""
    if isinstance(chunk, str):
        return chunk.encode("utf-8")
    if isinstance(chunk, bytes | bytearray | memoryview):
        return bytes(chunk)
    raise TypeError(f"input chunks must be bytes or str, not {type(chunk).__name__}")


def check_input(input: object) -> None:
    """``TypeError`` unless ``input`` is something :func:`from_cli` can write."""
    if input is None or isinstance(input, bytes | bytearray | memoryview | str | Observable):
        return
    if isinstance(input, Mapping) or not isinstance(input, Iterable):
        raise TypeError(
            "input must be bytes, str, an iterable or an Observable of bytes or str, "
            f"not {type(input).__name__}"
        )


class WakeUp:
    """A pipe that, once written, makes every ``poll`` on it return: stops the threads.

    Each user holds a reference; the last :meth:`release` closes it, so no thread ever
    polls a closed (and perhaps reused) descriptor.
    """

    def __init__(self, users: int) -> None:
        self.descriptor, self._write_end = os.pipe()
        self._users = users
        self._lock = threading.Lock()
        self._set = False

    def set(self) -> None:
        with self._lock:
            if not self._set and self._users:
                self._set = True
                os.write(self._write_end, b"x")

    def release(self) -> None:
        with self._lock:
            self._users -= 1
            if self._users == 0:
                os.close(self.descriptor)
                os.close(self._write_end)

    def poller(self, descriptor: int, events: int) -> "select.poll":
        poller = select.poll()
        poller.register(descriptor, events)
        poller.register(self.descriptor, select.POLLIN)
        return poller

    def wait(self, poller: "select.poll") -> bool:
        """Waits until the other descriptor is ready; False when woken to stop."""
        ready = poller.poll()
        return not any(descriptor == self.descriptor for descriptor, _ in ready)


__all__ = ["InputChunk", "ProcessInput", "WakeUp", "check_input", "input_bytes"]
