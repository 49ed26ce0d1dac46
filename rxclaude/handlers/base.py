"""The base of the built-in handlers, and the bounds they keep their memory within."""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from typing import ClassVar, TypeVar

from rxclaude.messages import Kind, Message
from rxclaude.routing.handler import check_priority

_Value = TypeVar("_Value")


class BuiltinHandler(ABC):
    """Base of the built-in handlers: a ``priority``, the ``kinds`` to register under."""

    kinds: ClassVar[tuple[Kind, ...]]
    """The kinds :meth:`~rxclaude.routing.Router.default` registers the handler under."""

    def __init__(self, *, priority: int = 0) -> None:
        self.priority = check_priority(priority)
        self._lock = threading.Lock()

    @abstractmethod
    def handle(self, message: Message) -> None:
        """Update the results with one message; messages it has no use for are ignored."""


def bound(name: str, value: int | None) -> int | None:
    """``value`` checked as a bound: ``None`` (no bound) or a count of zero or more."""
    if value is not None and value < 0:
        raise ValueError(f"{name} must be None or at least 0, not {value}")
    return value


def drop_first_entries(table: dict[str, _Value], keep: int | None) -> list[_Value]:
    """Remove the entries inserted first until ``table`` holds at most ``keep``; their values."""
    dropped = []
    if keep is not None:
        while len(table) > keep:
            dropped.append(table.pop(next(iter(table))))
    return dropped


__all__ = ["BuiltinHandler", "bound", "drop_first_entries"]
