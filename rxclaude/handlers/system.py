"""``system`` frames kept by subtype."""

from __future__ import annotations

from collections import deque

from rxclaude.handlers.base import BuiltinHandler
from rxclaude.messages import Kind, Message, SystemMessage


class SystemHandler(BuiltinHandler):
    """``system`` frames by subtype (``init``, ``status``, ``api_retry``, ``task_*``, …).

    Args:
        keep: frames kept per subtype (the most recent; ``None`` keeps all).
    """

    kinds = (Kind.SYSTEM,)

    def __init__(self, *, priority: int = 0, keep: int | None = 100) -> None:
        super().__init__(priority=priority)
        self._keep = keep
        self._by_subtype: dict[str, deque[SystemMessage]] = {}
        self._counts: dict[str, int] = {}

    def handle(self, message: Message) -> None:
        if not isinstance(message, SystemMessage):
            return
        subtype = message.subtype or ""
        frames = self._by_subtype.get(subtype)
        if frames is None:
            frames = self._by_subtype[subtype] = deque(maxlen=self._keep)
        frames.append(message)
        self._counts[subtype] = self._counts.get(subtype, 0) + 1

    @property
    def messages_by_subtype(self) -> dict[str, list[SystemMessage]]:
        """The kept frames of each subtype, oldest first."""
        return {subtype: list(frames) for subtype, frames in dict(self._by_subtype).items()}

    @property
    def counts(self) -> dict[str, int]:
        """Frames seen per subtype."""
        return dict(self._counts)

    def last(self, subtype: str) -> SystemMessage | None:
        """The latest frame of ``subtype``, if any."""
        frames = list(self._by_subtype.get(subtype, ()))
        return frames[-1] if frames else None


__all__ = ["SystemHandler"]
