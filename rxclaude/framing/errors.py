"""The exception form of a parse error."""

from __future__ import annotations

from rxclaude.messages import ParseError


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


__all__ = ["FrameDecodeError"]
