"""Failures that travel with the stream's vocabulary.

A source that fails after delivering part of a stream (a CLI that exits non-zero after an
API error) can raise a :class:`ResultCarryingError`; a framing operator that decodes the
stream writes the last ``result`` frame it saw into the error before passing it on. The
source does not need to know the framing, nor the framing the source.
"""

from __future__ import annotations

from rxclaude.messages.frames import ResultMessage


class ResultCarryingError(Exception):
    """A source's failure that carries the stream's last ``result`` frame.

    ``parse_json_frames`` delivers every frame that arrived before the failure, then sets
    :attr:`result` to the last ``result`` frame among them (left as it is when there was
    none), then passes the error on.
    """

    result: ResultMessage | None = None
    """The last ``result`` frame decoded before the failure, if any."""


__all__ = ["ResultCarryingError"]
