"""Waiting on a condition in threaded tests, without sleeping for synchronisation."""

from __future__ import annotations

import threading
from collections.abc import Callable

DEADLINE = 60.0
"""Seconds to wait for something that should happen; only reached when a test fails."""


def wait_until(condition: Callable[[], bool], deadline: float = DEADLINE) -> None:
    """Polls ``condition`` (e.g. on a statistics snapshot) until it holds."""
    pause = threading.Event()
    for _ in range(int(deadline / 0.001)):
        if condition():
            return
        pause.wait(0.001)
    raise AssertionError("condition not reached")
