"""Several handlers registered as one."""

from __future__ import annotations

from collections.abc import Iterable

from rxclaude.messages import Message
from rxclaude.routing.handler import Handler, check_priority, entry_point, handler_name


class ChainHandler:
    """Several handlers run in order as one: one registration, one lane, one priority.

    If a handler raises, the chain stops there and the exception propagates (it becomes one
    :class:`~rxclaude.routing.HandlerError` naming the chain); a note on the exception
    names the handler that raised.
    """

    def __init__(self, handlers: Iterable[Handler], *, priority: int = 0) -> None:
        self.priority = check_priority(priority)
        self.handlers = tuple(handlers)
        self._calls = tuple(entry_point(handler) for handler in self.handlers)

    def handle(self, message: Message) -> None:
        for handler, call in zip(self.handlers, self._calls, strict=True):
            try:
                call(message)
            except Exception as error:
                error.add_note(f"raised by {handler_name(handler)} in a ChainHandler")
                raise


__all__ = ["ChainHandler"]
