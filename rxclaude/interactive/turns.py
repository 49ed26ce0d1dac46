"""One turn of a conversation as an Observable that can also be awaited."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from reactivex import Observable

from rxclaude.aio import last_value
from rxclaude.messages import Message


class Turn(Observable[Message]):
    """The messages of one turn, up to and with its ``result``.

    Each subscription sends the turn again. ``await turn`` subscribes once and gives the
    last message, the ``result``, on the running event loop (thread-safely: the messages
    arrive on the session's thread, not the loop's).
    """

    def __await__(self) -> Generator[Any, None, Message]:
        return last_value(self).__await__()


__all__ = ["Turn"]
