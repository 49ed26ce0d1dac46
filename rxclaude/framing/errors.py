"""The exception form of a parse error, and the delivery that raises it."""

from __future__ import annotations

from collections.abc import Callable

from rxclaude.messages import Message, ParseError


class FrameDecodeError(ValueError):
    """A :class:`~rxclaude.messages.ParseError` in the form of an exception.

    ``parse_json_frames(on_error="raise")`` ends the stream with it instead of emitting
    the parse error; ``error`` is that :class:`~rxclaude.messages.ParseError`.
    """

    def __init__(self, error: ParseError) -> None:
        super().__init__(str(error))
        self.error = error

    def __reduce__(self) -> tuple[type[FrameDecodeError], tuple[ParseError]]:
        return (type(self), (self.error,))


def raising(deliver: Callable[[Message], None]) -> Callable[[Message], None]:
    """``deliver``, but a :class:`~rxclaude.messages.ParseError` raises
    :class:`FrameDecodeError` instead (``parse_json_frames(on_error="raise")``)."""

    def deliver_or_raise(message: Message) -> None:
        if isinstance(message, ParseError):
            raise FrameDecodeError(message)
        deliver(message)

    return deliver_or_raise


__all__ = ["FrameDecodeError", "raising"]
