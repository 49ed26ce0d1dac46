"""Tool calls in session transcripts, timed by the entries' timestamps.

A live stream times a tool call by when its frames arrive; a transcript read later has
only the timestamps its entries carry. :class:`TranscriptToolHandler` pairs each
``tool_use`` with its ``tool_result`` and times it from the first entry's timestamp to the
second's, per tool name and per subagent.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import ClassVar

from reactivex import abc
from reactivex.disposable import CompositeDisposable

from rxclaude.handlers.base import BuiltinHandler, bound
from rxclaude.handlers.tools import ToolCall
from rxclaude.handlers.transcripts import agent_of
from rxclaude.messages import (
    AssistantMessage,
    Kind,
    Message,
    ProgressMessage,
    UserMessage,
    message_from_json,
)
from rxclaude.messages.fields import JSONObject, get_str
from rxclaude.routing import Router
from rxclaude.transcripts import parse_time, time_of


@dataclass(frozen=True)
class ToolStats:
    """The calls of one tool: how many, how many failed, and how long the answered ones
    took (``total``, ``longest``; ``answered`` calls have a result)."""

    calls: int = 0
    errors: int = 0
    answered: int = 0
    total: timedelta = timedelta()
    longest: timedelta = timedelta()

    @property
    def mean(self) -> timedelta | None:
        """The mean time of the answered calls."""
        return self.total / self.answered if self.answered else None


class TranscriptToolHandler(BuiltinHandler):
    """Tool calls paired with their results and timed by the entries' timestamps.

    ``calls`` are :class:`~rxclaude.handlers.ToolCall` records whose ``started_at`` and
    ``finished_at`` are the timestamps of the ``tool_use`` and ``tool_result`` entries
    (``parent_tool_use_id``: the ``Task``/``Agent`` call running a subagent's calls, when
    ``agent_progress`` lines name it). A call seen twice (a subagent's own file and the
    parent's ``agent_progress`` lines) counts once. Register it by frame type:
    ``handler.register(router)``.

    Args:
        keep: finished calls kept in ``calls`` (the most recent; ``None``: all).
        keep_running: unanswered calls kept at most (the oldest is forgotten first), and
            answered call ids remembered to count a repeated call once.
        result_chars: characters of each result's text kept in its ``result_text`` (``None``:
            all). The kept calls' texts are most of what the handler holds: 1,000 results of
            tens of KB with one emoji each (4 bytes a character) are tens of MB.
    """

    kinds: ClassVar[tuple[Kind, ...]] = ()
    types: ClassVar[tuple[str, ...]] = ("assistant", "user", "progress")
    """The frame types it takes."""

    def __init__(
        self,
        *,
        priority: int = 0,
        keep: int | None = 1000,
        keep_running: int | None = 10_000,
        result_chars: int | None = None,
    ) -> None:
        super().__init__(priority=priority)
        if result_chars is not None and result_chars < 0:
            raise ValueError(f"result_chars must be at least 0, not {result_chars}")
        self._result_chars = result_chars
        self._keep_running = bound("keep_running", keep_running)
        self._running: dict[str, tuple[ToolCall, str | None]] = {}
        self._finished: deque[ToolCall] = deque(maxlen=bound("keep", keep))
        self._answered: dict[str, None] = {}
        self._stats: dict[str, ToolStats] = {}
        self._by_agent: dict[str | None, int] = {}
        self._unpaired = 0

    def register(self, router: Router) -> abc.DisposableBase:
        """Register under each of :attr:`types`; disposing removes the registrations."""
        return CompositeDisposable(*(router.register(name, self) for name in self.types))

    def handle(self, message: Message) -> None:
        if isinstance(message, AssistantMessage | UserMessage):
            self._entry(message, message, message.raw, None, None)
        elif isinstance(message, ProgressMessage):
            forwarded = message.agent_message
            if forwarded is not None:
                nested = message_from_json(forwarded)
                parent = message.parent_tool_use_id
                self._entry(nested, message, forwarded, parent, message.agent_id)

    def _entry(
        self,
        message: Message,
        line: Message,
        entry: JSONObject,
        parent: str | None,
        agent: str | None,
    ) -> None:
        """The calls or results of ``message`` (``entry``'s view), read from ``line``."""
        if isinstance(message, AssistantMessage):
            uses = [block for block in message.tool_uses if block.id is not None]
            if not uses:
                return
            moment = _moment(line, entry)
            agent = agent or agent_of(entry, line)
            for block in uses:
                call_id = block.id or ""
                if call_id not in self._running and call_id not in self._answered:
                    self._start(ToolCall(call_id, block.name, block.input, moment, parent), agent)
        elif isinstance(message, UserMessage):
            results = [block for block in message.tool_results if block.tool_use_id is not None]
            if not results:
                return
            moment = _moment(line, entry)
            for result in results:
                call_id = result.tool_use_id or ""
                if call_id not in self._answered:
                    self._finish(call_id, moment, result.text, result.is_error)

    def _start(self, call: ToolCall, agent: str | None) -> None:
        with self._lock:
            self._running[call.id] = (call, agent)
            while self._keep_running is not None and len(self._running) > self._keep_running:
                del self._running[next(iter(self._running))]
            name = call.name or ""
            stats = self._stats.get(name, ToolStats())
            self._stats[name] = ToolStats(
                stats.calls + 1, stats.errors, stats.answered, stats.total, stats.longest
            )
            self._by_agent[agent] = self._by_agent.get(agent, 0) + 1

    def _finish(self, call_id: str, moment: datetime, text: str, failed: bool) -> None:
        with self._lock:
            started = self._running.pop(call_id, (None, None))[0]
            if started is None:  # its tool_use was never seen (or forgotten): nothing to time
                self._unpaired += 1
                return
            self._answered[call_id] = None
            while self._keep_running is not None and len(self._answered) > self._keep_running:
                del self._answered[next(iter(self._answered))]
            if self._result_chars is not None:
                text = text[: self._result_chars]
            call = started._replace(finished_at=moment, result_text=text, is_error=failed)
            self._finished.append(call)
            duration = call.duration or timedelta()
            duration = max(duration, timedelta())
            stats = self._stats.get(call.name or "", ToolStats())
            self._stats[call.name or ""] = ToolStats(
                stats.calls,
                stats.errors + failed,
                stats.answered + 1,
                stats.total + duration,
                max(stats.longest, duration),
            )

    @property
    def calls(self) -> list[ToolCall]:
        """Answered calls in the order they were answered, then unanswered ones."""
        with self._lock:
            return [*self._finished, *(call for call, _agent in self._running.values())]

    @property
    def by_name(self) -> dict[str, ToolStats]:
        """Per tool name (``""`` for a call without one)."""
        with self._lock:
            return dict(self._stats)

    @property
    def by_agent(self) -> dict[str | None, int]:
        """Calls per subagent (``None``: the main conversation)."""
        with self._lock:
            return dict(self._by_agent)

    @property
    def unpaired_results(self) -> int:
        """Results whose call was not seen (or was forgotten), left untimed."""
        return self._unpaired


def _moment(message: Message, entry: JSONObject) -> datetime:
    """The entry's own timestamp, else the line's time, else when it arrived."""
    stamp = get_str(entry, "timestamp")
    seconds = parse_time(stamp) if stamp is not None else None
    if seconds is None:
        seconds = time_of(message)
    return datetime.fromtimestamp(seconds, UTC) if seconds is not None else message.received_at


__all__ = ["ToolStats", "TranscriptToolHandler"]
