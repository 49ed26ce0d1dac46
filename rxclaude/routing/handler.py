"""What routing calls and what it routes by: handlers, their checks, and route keys.

A handler is a callable ``handler(message)`` or an object with ``handle(message)`` and a
``priority``; :func:`entry_point` finds what to call and checks it can take a message, once,
when the handler is registered. Route keys are a :class:`~rxclaude.messages.kinds.Kind`, a
frame ``type`` string, or :data:`ALL`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Protocol, TypeAlias

from rxclaude.messages import Message
from rxclaude.messages.kinds import Kind

ALL = "*"
"""The route key that matches every message."""

RouteKey: TypeAlias = Kind | str
"""What a handler is registered under: a :class:`Kind`, a frame type, or ``"*"``."""


class MessageHandler(Protocol):
    """A handler object: ``handle(message)`` plus the ``priority`` it registers with."""

    @property
    def priority(self) -> int:
        """Handlers with a higher priority run first."""
        ...

    def handle(self, message: Message) -> object:
        """Process one message; raising makes a :class:`~rxclaude.routing.HandlerError`."""
        ...


Handler: TypeAlias = Callable[[Message], object] | MessageHandler
"""A callable ``handler(message)`` or a :class:`MessageHandler` object."""


def entry_point(handler: Handler) -> Callable[[Message], object]:
    """What to call for ``handler``: its ``handle`` method if it has one, else itself.

    Raises ``TypeError`` if there is nothing to call, or if its signature (where Python
    knows one) cannot take the message as its one positional argument.
    """
    handle = getattr(handler, "handle", None)
    call: Callable[[Message], object]
    if callable(handle):
        call = handle
    elif callable(handler):
        call = handler
    else:
        raise TypeError(f"handler must be callable or have a handle() method: {handler!r}")
    try:
        signature = inspect.signature(call, follow_wrapped=False)
    except (TypeError, ValueError):  # some built-ins have no signature to check
        return call
    try:
        signature.bind(None)
    except TypeError:
        raise TypeError(
            "handler must take the message as its one positional argument: "
            f"{handler_name(handler)}{signature}"
        ) from None
    return call


def check_priority(priority: object) -> int:
    """``priority`` checked: an ``int`` (not a ``bool``)."""
    if isinstance(priority, bool) or not isinstance(priority, int):
        raise TypeError(f"priority must be an int, not {priority!r}")
    return priority


def check_key(key: object) -> None:
    """``key`` checked: a :class:`Kind` or a frame ``type`` string (``"*"`` included)."""
    if not isinstance(key, Kind | str):
        raise TypeError(f"route key must be a Kind or a frame type string, not {key!r}")


def handler_name(handler: object) -> str:
    """A short readable name for a handler (its qualified name, or its class name)."""
    name = getattr(handler, "__qualname__", None)
    return name if isinstance(name, str) else type(handler).__name__


__all__ = [
    "ALL",
    "Handler",
    "MessageHandler",
    "RouteKey",
    "check_key",
    "check_priority",
    "entry_point",
    "handler_name",
]
