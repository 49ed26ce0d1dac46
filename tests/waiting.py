"""Waiting on a condition in threaded tests, without sleeping for synchronisation."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from conftest import TIMEOUT
from reactivex import Observable

_T = TypeVar("_T")

DEADLINE = TIMEOUT
"""The shared ``conftest.TIMEOUT``, by the name the waiting helpers' users know."""


def wait_until(condition: Callable[[], bool], deadline: float = DEADLINE) -> None:
    """Polls ``condition`` (e.g. on a statistics snapshot) until it holds."""
    pause = threading.Event()
    for _ in range(int(deadline / 0.001)):
        if condition():
            return
        pause.wait(0.001)
    raise AssertionError("condition not reached")


@dataclass
class HeldConsumer:
    """Records what it receives and keeps its thread inside ``on_next(0)`` until released."""

    delivered: list[Any] = field(default_factory=list)
    errors: list[Exception] = field(default_factory=list)
    holding: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    done: threading.Event = field(default_factory=threading.Event)

    def on_next(self, item: Any) -> None:
        self.delivered.append(item)
        if item == 0:
            self.holding.set()
            self.release.wait(DEADLINE)

    def on_error(self, error: Exception) -> None:
        self.errors.append(error)
        self.done.set()

    def on_completed(self) -> None:
        self.done.set()


def run_threaded(
    source: Observable[_T], deadline: float = DEADLINE
) -> tuple[list[_T], list[Exception]]:
    """Subscribe; wait for the end, on whichever thread it comes; the items and errors.

    Raises:
        AssertionError: the stream had not ended after ``deadline`` seconds; the
            subscription is disposed first (which ends a CLI it runs).
    """
    items: list[_T] = []
    errors: list[Exception] = []
    done = threading.Event()

    def fail(error: Exception) -> None:
        errors.append(error)
        done.set()

    subscription = source.subscribe(items.append, fail, done.set)
    if not done.wait(deadline):
        subscription.dispose()
        raise AssertionError(f"the stream had not ended after {deadline} s ({len(items)} items)")
    return items, errors
