"""How far the current turn has got, from its streaming events."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rxclaude.handlers.base import BuiltinHandler
from rxclaude.messages import (
    Kind,
    Message,
    ResultMessage,
    StreamEventMessage,
    SystemMessage,
    ToolProgressMessage,
)


@dataclass(frozen=True, slots=True)
class TurnProgress:
    """How far the current turn has got, from its streaming events.

    Counts cover the main conversation; streaming events of subagents are only counted in
    ``subagent_events``.
    """

    responses: int = 0
    """API responses started (``message_start``)."""
    blocks_started: int = 0
    blocks_stopped: int = 0
    open_block: str | None = None
    """Type of the content block being streamed (``text``, ``tool_use``, …)."""
    text_chars: int = 0
    thinking_chars: int = 0
    tool_input_chars: int = 0
    output_tokens: int = 0
    """Output tokens of the turn's responses so far (from ``message_delta`` usage)."""
    stop_reason: str | None = None
    """The latest response's stop reason."""
    thinking_tokens_estimate: int | None = None
    """The CLI's latest ``system/thinking_tokens`` estimate."""
    tool_elapsed_seconds: dict[str, float] = field(default_factory=dict)
    """Latest ``tool_progress`` elapsed time per running tool call."""
    subagent_events: int = 0
    finished: bool = False
    """True once the turn's ``result`` has arrived."""


class _Turn:
    """The mutable counterpart of :class:`TurnProgress`, written by the handler only."""

    __slots__ = (
        "blocks_started",
        "blocks_stopped",
        "completed_output_tokens",
        "finished",
        "open_block",
        "output_tokens",
        "responses",
        "stop_reason",
        "subagent_events",
        "text_chars",
        "thinking_chars",
        "thinking_tokens_estimate",
        "tool_elapsed_seconds",
        "tool_input_chars",
    )

    def __init__(self) -> None:
        self.responses = self.blocks_started = self.blocks_stopped = 0
        self.text_chars = self.thinking_chars = self.tool_input_chars = 0
        self.completed_output_tokens = self.output_tokens = self.subagent_events = 0
        self.open_block: str | None = None
        self.stop_reason: str | None = None
        self.thinking_tokens_estimate: int | None = None
        self.tool_elapsed_seconds: dict[str, float] = {}
        self.finished = False

    def snapshot(self) -> TurnProgress:
        return TurnProgress(
            responses=self.responses,
            blocks_started=self.blocks_started,
            blocks_stopped=self.blocks_stopped,
            open_block=self.open_block,
            text_chars=self.text_chars,
            thinking_chars=self.thinking_chars,
            tool_input_chars=self.tool_input_chars,
            output_tokens=self.completed_output_tokens + self.output_tokens,
            stop_reason=self.stop_reason,
            thinking_tokens_estimate=self.thinking_tokens_estimate,
            tool_elapsed_seconds=dict(self.tool_elapsed_seconds),
            subagent_events=self.subagent_events,
            finished=self.finished,
        )


class ProgressHandler(BuiltinHandler):
    """Progress of the current turn from its streaming events (``--include-partial-messages``).

    A turn runs until its ``result`` (so the handler is registered under COMPLETE too); the
    next progress event starts a new one. ``current`` is the turn in progress (or the last
    one, finished), ``turns_finished`` counts the turns that ended.
    """

    kinds = (Kind.PROGRESS, Kind.COMPLETE)

    def __init__(self, *, priority: int = 0) -> None:
        super().__init__(priority=priority)
        self._turn = _Turn()
        self._turns_finished = 0

    def handle(self, message: Message) -> None:
        if isinstance(message, StreamEventMessage):
            raw = message.raw
            turn = self._turn
            if turn.finished:
                turn = self._turn_in_progress()
            try:
                event = raw["event"]
                event_type = event["type"]
                if raw.get("parent_tool_use_id") is not None:
                    turn.subagent_events += 1
                elif event_type == "content_block_delta":
                    delta = event["delta"]
                    delta_type = delta["type"]
                    if delta_type == "text_delta":
                        turn.text_chars += len(delta["text"])
                    elif delta_type == "input_json_delta":
                        turn.tool_input_chars += len(delta["partial_json"])
                    elif delta_type == "thinking_delta":
                        turn.thinking_chars += len(delta["thinking"])
                else:
                    self._on_event(turn, event_type, event)
            except (KeyError, TypeError, IndexError):
                return
        elif isinstance(message, ResultMessage):
            with self._lock:
                self._turn.finished = True
                self._turns_finished += 1
        elif isinstance(message, ToolProgressMessage):
            elapsed = message.elapsed_time_seconds
            if elapsed is not None:
                turn = self._turn_in_progress()
                with self._lock:
                    turn.tool_elapsed_seconds[message.tool_use_id or ""] = elapsed
        elif isinstance(message, SystemMessage) and message.subtype == "thinking_tokens":
            estimate = message.raw.get("estimated_tokens")
            if isinstance(estimate, int):
                self._turn_in_progress().thinking_tokens_estimate = estimate

    def _turn_in_progress(self) -> _Turn:
        """The current turn; a new one once the last has finished."""
        turn = self._turn
        if turn.finished:
            turn = self._turn = _Turn()
        return turn

    def _on_event(self, turn: _Turn, event_type: object, event: dict[str, Any]) -> None:
        """Block and message boundaries."""
        if event_type == "content_block_start":
            block = event.get("content_block")
            block_type = block.get("type") if isinstance(block, dict) else None
            turn.open_block = block_type if isinstance(block_type, str) else None
            turn.blocks_started += 1
        elif event_type == "content_block_stop":
            turn.open_block = None
            turn.blocks_stopped += 1
        elif event_type == "message_start":
            started = event.get("message")
            usage = started.get("usage") if isinstance(started, dict) else None
            tokens = usage.get("output_tokens") if isinstance(usage, dict) else None
            with self._lock:
                turn.responses += 1
                turn.completed_output_tokens += turn.output_tokens
                turn.output_tokens = tokens if isinstance(tokens, int) else 0
        elif event_type == "message_delta":
            usage = event.get("usage")
            tokens = usage.get("output_tokens") if isinstance(usage, dict) else None
            delta = event.get("delta")
            reason = delta.get("stop_reason") if isinstance(delta, dict) else None
            with self._lock:
                if isinstance(tokens, int):
                    turn.output_tokens = tokens
                if isinstance(reason, str):
                    turn.stop_reason = reason

    @property
    def current(self) -> TurnProgress:
        """A snapshot of the current (or last) turn."""
        with self._lock:
            return self._turn.snapshot()

    @property
    def turns_finished(self) -> int:
        """Turns that ended with a ``result``."""
        return self._turns_finished


__all__ = ["ProgressHandler", "TurnProgress"]
