"""What the live display shows: :class:`LiveState`, one per redraw, and its :class:`ToolRow`."""

from __future__ import annotations

from dataclasses import dataclass

from rxclaude.metrics import MetricsSnapshot

__all__ = ["LiveState", "ToolRow"]


@dataclass(frozen=True, slots=True)
class ToolRow:
    """One tool call as the display shows it."""

    id: str
    name: str
    status: str
    """``running``, ``done`` or ``error``."""
    seconds: float | None = None


@dataclass(frozen=True, slots=True)
class LiveState:
    """What the display shows at one redraw."""

    status: str
    """``running``, ``completed``, ``stopped`` or ``failed: <error>``."""
    messages: int
    text: str
    """The assistant's text so far (its last ``max_chars`` characters)."""
    tools: tuple[ToolRow, ...]
    cost_usd: float
    snapshot: MetricsSnapshot | None
