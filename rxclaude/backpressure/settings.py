"""What ``backpressure`` is told: the policy, the capacity, the monitors' thresholds, the
argument checks, and the errors a policy ends a stream with.

Everything here is plain data, checked when it is made, so that the buffer never has to
check it again.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any

from reactivex import abc

__all__ = [
    "DEFAULT_BUFFER_SIZE",
    "Adaptive",
    "BackpressureDeadlockError",
    "BufferOverflowError",
    "Policy",
    "Settings",
    "SlowConsumer",
    "check_buffer_size",
    "check_seconds",
    "clamp",
]

DEFAULT_BUFFER_SIZE = 1024
"""Capacity of ``backpressure`` (and of ``StreamHandler``) unless told otherwise."""


class Policy(Enum):
    """What ``backpressure`` does with an item that arrives while the buffer is full."""

    DROP_OLDEST = "drop_oldest"
    """Evict the oldest buffered item and enqueue the new one (Akka ``dropHead``)."""
    DROP_NEWEST = "drop_newest"
    """Discard the incoming item (Akka ``dropNew``; *not* RxJava's ``DROP_LATEST``)."""
    BLOCK = "block"
    """Make the producer's ``on_next`` wait until there is room."""
    ERROR = "error"
    """End the stream with ``BufferOverflowError``."""


class BufferOverflowError(Exception):
    """``Policy.ERROR``: an item arrived while the buffer held ``capacity`` items."""

    def __init__(self, capacity: int) -> None:
        super().__init__(
            f"backpressure buffer overflow: an item arrived while all {capacity} places "
            "were taken (Policy.ERROR)"
        )
        self.capacity = capacity

    def __reduce__(self) -> tuple[type[BufferOverflowError], tuple[int]]:
        return (type(self), (self.capacity,))


class BackpressureDeadlockError(RuntimeError):
    """``Policy.BLOCK`` would make the thread that drains the buffer wait for itself."""


def check_buffer_size(buffer_size: int, name: str = "buffer_size") -> None:
    """Raises ``TypeError`` unless ``buffer_size`` is an int (a bool is not), and
    ``ValueError`` if it is smaller than 1."""
    if not isinstance(buffer_size, int) or isinstance(buffer_size, bool):
        raise TypeError(f"{name} must be an int, not {type(buffer_size).__name__}")
    if buffer_size < 1:
        raise ValueError(f"{name} must be >= 1, got {buffer_size}")


def _check_number(name: str, value: object, unit: str = "") -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number{unit}, not {type(value).__name__}")


def check_seconds(name: str, seconds: float) -> None:
    """Raises ``TypeError`` unless ``seconds`` is a real number (a bool is not), and
    ``ValueError`` unless it is positive and finite."""
    _check_number(name, seconds, " of seconds")
    if not (seconds > 0 and math.isfinite(seconds)):
        raise ValueError(f"{name} must be a positive, finite number of seconds, got {seconds}")


def _check_watermarks(owner: str, low: float, high: float) -> None:
    _check_number(f"{owner}.low", low)
    _check_number(f"{owner}.high", high)
    if not 0.0 <= low < high <= 1.0:
        raise ValueError(f"{owner} needs 0 <= low < high <= 1, got low={low}, high={high}")


@dataclass(frozen=True, slots=True)
class Adaptive:
    """Let the capacity follow the load, between ``min_size`` and ``max_size``.

    The occupancy is *high* from the moment it reaches ``high`` (a fraction of the
    capacity), or a producer has to wait, until it falls to ``low``; it is *low* from then
    until it is high again. The capacity doubles (up to ``max_size``) after ``window``
    seconds high, and halves (down to ``min_size``) after ``window`` seconds low. After a
    resize the occupancy has to reach a watermark of the new capacity again.
    """

    min_size: int
    max_size: int
    high: float = 0.8
    low: float = 0.2
    window: float = 1.0

    def __post_init__(self) -> None:
        check_buffer_size(self.min_size, "Adaptive.min_size")
        check_buffer_size(self.max_size, "Adaptive.max_size")
        if not self.min_size <= self.max_size:
            raise ValueError(
                f"Adaptive needs 1 <= min_size <= max_size, "
                f"got min_size={self.min_size}, max_size={self.max_size}"
            )
        _check_watermarks("Adaptive", self.low, self.high)
        check_seconds("Adaptive.window", self.window)


@dataclass(frozen=True, slots=True)
class SlowConsumer:
    """When to report a slow consumer, and when it has recovered.

    The consumer is slow once the occupancy has been high (as in ``Adaptive``: from
    reaching ``high`` until falling to ``low``) for ``window`` seconds, or a producer has
    waited longer than ``blocked_threshold`` seconds. It has recovered once the occupancy
    has fallen to ``low`` with no producer waiting.
    """

    window: float = 1.0
    blocked_threshold: float = 0.5
    high: float = 0.8
    low: float = 0.2

    def __post_init__(self) -> None:
        check_seconds("SlowConsumer.window", self.window)
        check_seconds("SlowConsumer.blocked_threshold", self.blocked_threshold)
        _check_watermarks("SlowConsumer", self.low, self.high)


@dataclass(frozen=True, slots=True)
class Settings:
    """The arguments of one ``backpressure(...)`` call, checked; ``capacity`` is the one a
    new subscription starts with (``Backpressure.resize`` replaces it)."""

    policy: Policy
    capacity: int
    scheduler: abc.SchedulerBase | None
    on_drop: Callable[[Any], object] | None
    adaptive: Adaptive | None
    slow_consumer: SlowConsumer | None


def clamp(buffer_size: int, adaptive: Adaptive | None) -> int:
    """``buffer_size``, brought into ``adaptive``'s ``[min_size, max_size]`` if given."""
    if adaptive is None:
        return buffer_size
    return min(max(buffer_size, adaptive.min_size), adaptive.max_size)
