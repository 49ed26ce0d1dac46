"""Built-in handlers for :func:`~rxclaude.routing.route_by_type`, each useful alone.

Each handler has ``handle(message)``, a ``priority`` and the ``kinds`` it is meant to be
registered under; :meth:`Router.default() <rxclaude.routing.Router.default>` registers one
of each. Their results are properties, readable from any thread during and after a stream:
they return copies or immutable snapshots, never live internal state. Each handler expects
one writer at a time — the routing thread, or its lane in async mode — so give concurrent
streams their own handlers.

Memory stays bounded over a long-lived stream of many sessions: histories keep the last
``keep`` items, per-session and per-message figures the last ``keep_sessions`` sessions and
``keep_messages`` messages, the text handler the last ``keep_chars`` characters, and tool
results are cut to ``result_chars`` characters; ``None`` lifts a bound. The defaults hold
everything of one ordinary run. The bounds cost nothing per streamed delta: they are kept
per frame, or when a session or message id is new.
"""

from __future__ import annotations

import json
import threading
from abc import ABC, abstractmethod
from collections import Counter, deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from typing import Any, ClassVar, NamedTuple, TypeVar

from rxclaude.messages import (
    ApiRetryMessage,
    AssistantMessage,
    ControlResponseMessage,
    InitMessage,
    Message,
    ParseError,
    RateLimitEventMessage,
    ResultMessage,
    StatusMessage,
    StreamEventMessage,
    SystemMessage,
    ToolProgressMessage,
    UserMessage,
)
from rxclaude.messages.content import ServerToolResultBlock, ToolResultBlock, ToolUseBlock
from rxclaude.routing import (
    Handler,
    HandlerError,
    Kind,
    Router,
    _check_priority,
    entry_point,
    handler_name,
    kinds_of,
)

_Value = TypeVar("_Value")


class BuiltinHandler(ABC):
    """Base of the built-in handlers: a ``priority``, the ``kinds`` to register under."""

    kinds: ClassVar[tuple[Kind, ...]]
    """The kinds :meth:`Router.default` registers the handler under."""

    def __init__(self, *, priority: int = 0) -> None:
        self.priority = _check_priority(priority)
        self._lock = threading.Lock()

    @abstractmethod
    def handle(self, message: Message) -> None:
        """Update the results with one message; messages it has no use for are ignored."""


class TextHandler(BuiltinHandler):
    """The assistant's text: per message, per session, as a whole, and live.

    ``assistant`` frames are authoritative: ``text`` is the concatenation of their text
    blocks, in order, for the main conversation (frames of subagents — those with a
    ``parent_tool_use_id`` — are only in ``texts_by_message``). ``text_delta`` events
    arrive first and are provisional: ``live_text`` is ``text`` plus the deltas that no
    ``assistant`` frame has confirmed yet. The CLI sends a block's ``assistant`` frame
    after its last delta, so when a main-conversation frame arrives the unconfirmed deltas
    are replaced by it; a ``message_stop`` with ``abandoned_blocks`` withdraws the deltas
    of the abandoned blocks. At the end of a turn ``live_text == text``, unless the stream
    had deltas but no ``assistant`` frames.

    Args:
        keep_sessions: sessions kept in ``text_by_session``; beyond it, the one that
            appeared first is dropped (``None`` keeps all).
        keep_messages: messages kept in ``texts_by_message``; beyond it, the one that
            appeared first is dropped (``None`` keeps all).
        keep_chars: characters of text kept, main conversation and subagents together
            (``None`` keeps all). Beyond it the oldest characters are dropped, from
            ``text``, ``text_by_session`` and ``texts_by_message`` alike, so each shows the
            end of its text; an entry left with no text is left out.
    """

    kinds = (Kind.TEXT,)

    def __init__(
        self,
        *,
        priority: int = 0,
        keep_sessions: int | None = 100,
        keep_messages: int | None = 1000,
        keep_chars: int | None = 1_000_000,
    ) -> None:
        super().__init__(priority=priority)
        self._keep_sessions = _bound("keep_sessions", keep_sessions)
        self._keep_messages = _bound("keep_messages", keep_messages)
        self._keep_chars = _bound("keep_chars", keep_chars)
        self._parts: deque[str] = deque()
        self._streamed: list[StreamEventMessage] = []
        self._by_message: dict[str, list[str]] = {}
        self._by_session: dict[str, deque[str]] = {}
        # With ``keep_chars``, for each kept part, oldest first: its message's parts, and its
        # session's (None for a subagent's part). The oldest part is the first of each.
        self._message_of_part: deque[list[str]] = deque()
        self._session_of_part: deque[deque[str] | None] = deque()
        self._chars = 0

    def handle(self, message: Message) -> None:
        if isinstance(message, StreamEventMessage):
            # Deltas are only kept here, and read when ``live_text`` is: most of them are
            # replaced by their ``assistant`` frame before anyone reads them.
            if "abandoned_blocks" in message.raw:
                self._withdraw(message.raw["abandoned_blocks"])
            else:
                self._streamed.append(message)
        elif isinstance(message, AssistantMessage):
            self._on_assistant(message)

    def _withdraw(self, abandoned: object) -> None:
        """Drop the unconfirmed deltas of the blocks the CLI abandoned."""
        first = abandoned.get("from_block_index") if isinstance(abandoned, dict) else None
        if isinstance(first, int):
            with self._lock:
                self._streamed = [m for m in self._streamed if (m.index or 0) < first]

    def _on_assistant(self, message: AssistantMessage) -> None:
        text = message.text
        if not text:
            return
        key = message.message_id or message.uuid or ""
        with self._lock:
            message_parts = self._by_message.get(key)
            if message_parts is None:
                message_parts = self._by_message[key] = []
                _drop_first_entries(self._by_message, self._keep_messages)
            message_parts.append(text)
            session_parts = None
            if message.parent_tool_use_id is None:
                self._parts.append(text)
                self._streamed = []
                session = message.session_id or ""
                session_parts = self._by_session.get(session)
                if session_parts is None:
                    session_parts = self._by_session[session] = deque()
                    _drop_first_entries(self._by_session, self._keep_sessions)
                session_parts.append(text)
            if self._keep_chars is not None:
                self._message_of_part.append(message_parts)
                self._session_of_part.append(session_parts)
                self._chars += len(text)
                if self._chars > self._keep_chars:
                    self._drop_oldest_chars(self._chars - self._keep_chars)

    def _drop_oldest_chars(self, excess: int) -> None:
        """Drop ``excess`` characters from the oldest parts, wherever they are kept."""
        self._chars -= excess
        while excess:
            message_parts = self._message_of_part[0]
            session_parts = self._session_of_part[0]
            oldest = message_parts[0]
            if len(oldest) > excess:
                rest = message_parts[0] = oldest[excess:]
                if session_parts is not None:
                    session_parts[0] = self._parts[0] = rest
                return
            del message_parts[0]
            if session_parts is not None:
                session_parts.popleft()
                self._parts.popleft()
            self._message_of_part.popleft()
            self._session_of_part.popleft()
            excess -= len(oldest)

    @property
    def text(self) -> str:
        """The main conversation's text from ``assistant`` frames, concatenated.

        At most its last ``keep_chars`` characters (fewer when subagents' text is kept).
        """
        with self._lock:
            return "".join(self._parts)

    @property
    def live_text(self) -> str:
        """``text`` plus the streamed deltas not yet confirmed by an ``assistant`` frame."""
        with self._lock:
            streamed = "".join(_text_delta(message) for message in list(self._streamed))
            return "".join(self._parts) + streamed

    @property
    def texts_by_message(self) -> dict[str, str]:
        """Text per API message id (subagents' messages included), in arrival order."""
        with self._lock:
            return {key: "".join(parts) for key, parts in self._by_message.items() if parts}

    @property
    def text_by_session(self) -> dict[str, str]:
        """The main conversation's text per ``session_id``, in arrival order."""
        with self._lock:
            return {key: "".join(parts) for key, parts in self._by_session.items() if parts}


def _bound(name: str, value: int | None) -> int | None:
    """``value`` checked as a bound: ``None`` (no bound) or a count of zero or more."""
    if value is not None and value < 0:
        raise ValueError(f"{name} must be None or at least 0, not {value}")
    return value


def _drop_first_entries(table: dict[str, _Value], keep: int | None) -> list[_Value]:
    """Remove the entries inserted first until ``table`` holds at most ``keep``; their values."""
    dropped = []
    if keep is not None:
        while len(table) > keep:
            dropped.append(table.pop(next(iter(table))))
    return dropped


def _text_delta(message: StreamEventMessage) -> str:
    """The text of a main-conversation ``text_delta`` event; ``""`` for any other event."""
    delta = message.delta
    if message.parent_tool_use_id is not None or delta is None:
        return ""
    text = delta.get("text")
    return text if delta.get("type") == "text_delta" and isinstance(text, str) else ""


class ToolCall(NamedTuple):
    """One tool call and, once it has arrived, its result.

    Times are the ``received_at`` of the frames carrying the ``tool_use`` and the result.
    A result whose ``tool_use`` was never seen has ``name=None`` and ``started_at=None``;
    a call given up as unanswered has no result, and ``finished_at=None``.
    """

    id: str
    name: str | None
    input: dict[str, Any]
    started_at: datetime | None
    parent_tool_use_id: str | None = None
    finished_at: datetime | None = None
    result_text: str | None = None
    is_error: bool | None = None

    @property
    def finished(self) -> bool:
        """True once the result has arrived."""
        return self.finished_at is not None

    @property
    def duration(self) -> timedelta | None:
        """From the ``tool_use`` to its result (``None`` while running or if unpaired)."""
        if self.started_at is None or self.finished_at is None:
            return None
        return self.finished_at - self.started_at


_TOOL_USE_BLOCKS = frozenset(("tool_use", "server_tool_use", "mcp_tool_use"))


class ToolUseHandler(BuiltinHandler):
    """Pairs each ``tool_use`` block with its ``tool_result``: name, input, duration, error.

    Client tools are answered by ``tool_result`` blocks in ``user`` frames; server tools
    (``server_tool_use``) by ``*_tool_result`` blocks in later ``assistant`` frames.
    Subagents' calls are included (``parent_tool_use_id`` names the subagent's call).

    A call is given up as unanswered when it is a main-conversation call still running as
    its session's ``result`` arrives (the turn ended without answering it: the handler is
    registered under COMPLETE too), or the oldest of more than ``keep_running`` running
    calls. It then leaves ``running`` for ``calls``, unfinished, and counts in
    ``unanswered_calls``; a result arriving for it later counts as unpaired.

    Args:
        keep: finished and given-up calls kept in ``calls`` (the most recent; ``None``
            keeps all).
        keep_running: running calls kept at most (``None``: no bound).
        result_chars: results are cut to this many characters (``None``: never cut).
    """

    kinds = (Kind.TOOL_USE, Kind.COMPLETE)

    def __init__(
        self,
        *,
        priority: int = 0,
        keep: int | None = 1000,
        keep_running: int | None = 1000,
        result_chars: int | None = 4096,
    ) -> None:
        super().__init__(priority=priority)
        self._result_chars = result_chars
        self._keep_running = _bound("keep_running", keep_running)
        self._running: dict[str, ToolCall] = {}
        self._session_of_main_call: dict[str, str | None] = {}
        self._finished: deque[ToolCall] = deque(maxlen=keep)
        self._started_by_name: dict[str, int] = {}
        self._count = 0
        self._error_count = 0
        self._unpaired_results = 0
        self._unanswered_calls = 0

    def handle(self, message: Message) -> None:
        if isinstance(message, ResultMessage):
            self._end_turn(message.session_id)
            return
        if not isinstance(message, AssistantMessage | UserMessage):
            return
        content = message.message.get("content")
        if not isinstance(content, list):
            return
        for raw in content:
            block_type = raw.get("type") if isinstance(raw, dict) else None
            if not isinstance(block_type, str):
                continue
            if block_type == "tool_result":
                result = ToolResultBlock(raw)
                self._finish(message, result.tool_use_id, result.text, result.is_error)
            elif block_type in _TOOL_USE_BLOCKS:
                self._start(message, ToolUseBlock(raw))
            elif block_type.endswith("_tool_result"):
                server_result = ServerToolResultBlock(raw)
                payload = server_result.content
                failed = isinstance(payload, dict) and str(payload.get("type")).endswith("_error")
                self._finish(message, server_result.tool_use_id, _as_text(payload), failed)

    def _start(self, message: Message, block: ToolUseBlock) -> None:
        name = block.name
        call = ToolCall(
            block.id or "", name, block.input, message.received_at, message.parent_tool_use_id
        )
        self._running[call.id] = call
        if call.parent_tool_use_id is None:
            self._session_of_main_call[call.id] = message.session_id
        self._count += 1
        self._started_by_name[name or ""] = self._started_by_name.get(name or "", 0) + 1
        if self._keep_running is not None and len(self._running) > self._keep_running:
            self._give_up(next(iter(self._running)))

    def _end_turn(self, session: str | None) -> None:
        """Give up the session's main-conversation calls: its turn ended without answers."""
        for call_id, call_session in list(self._session_of_main_call.items()):
            if call_session == session:
                self._give_up(call_id)

    def _give_up(self, call_id: str) -> None:
        """Move a running call to the finished ones, unanswered."""
        with self._lock:
            self._finished.append(self._running.pop(call_id))
        self._session_of_main_call.pop(call_id, None)
        self._unanswered_calls += 1

    def _finish(self, message: Message, call_id: str | None, text: str, failed: bool) -> None:
        if self._result_chars is not None:
            text = text[: self._result_chars]
        started = self._running.get(call_id or "")
        if started is None:
            self._unpaired_results += 1
            started = ToolCall(call_id or "", None, {}, None, message.parent_tool_use_id)
        finished = ToolCall(
            started.id,
            started.name,
            started.input,
            started.started_at,
            started.parent_tool_use_id,
            message.received_at,
            text,
            failed,
        )
        with self._lock:  # readers must never see the call in neither list, nor in both
            self._running.pop(finished.id, None)
            self._finished.append(finished)
        self._session_of_main_call.pop(finished.id, None)
        self._error_count += failed

    @property
    def calls(self) -> list[ToolCall]:
        """Finished and given-up calls in the order they ended, then running ones."""
        with self._lock:
            return [*self._finished, *self._running.values()]

    @property
    def running(self) -> list[ToolCall]:
        """Calls still waiting for their result, in start order."""
        with self._lock:
            return list(self._running.values())

    @property
    def count(self) -> int:
        """Tool calls started."""
        return self._count

    @property
    def error_count(self) -> int:
        """Results that reported an error."""
        return self._error_count

    @property
    def unpaired_results(self) -> int:
        """Results whose ``tool_use`` was never seen (or was given up)."""
        return self._unpaired_results

    @property
    def unanswered_calls(self) -> int:
        """Calls given up as unanswered."""
        return self._unanswered_calls

    @property
    def by_name(self) -> dict[str, int]:
        """Calls started per tool name."""
        return dict(self._started_by_name)


def _as_text(content: object) -> str:
    if isinstance(content, str):
        return content
    return "" if content is None else json.dumps(content, ensure_ascii=False)


class ErrorRecord(NamedTuple):
    """One error seen in the stream.

    ``source`` is ``parse`` (a :class:`~rxclaude.messages.ParseError`), ``handler`` (a
    :class:`~rxclaude.routing.HandlerError`), ``result`` (a failed turn), ``api_retry``,
    ``api_error`` (the CLI's synthetic assistant message), ``tool_result``, ``control``
    (a failed control request) or ``stream`` (an API ``error`` event).
    """

    source: str
    description: str
    message: Message


class ErrorHandler(BuiltinHandler):
    """Collects every error: parse and handler errors, failed turns, API and tool errors.

    A ``user`` frame with several failed tool results makes one record per result.
    Messages that are not errors (see :func:`~rxclaude.routing.kinds_of`) are ignored.

    Args:
        keep: records kept in ``errors`` (the most recent; ``None`` keeps all). Each holds
            its message, so the default is short.
    """

    kinds = (Kind.ERROR,)

    def __init__(self, *, priority: int = 0, keep: int | None = 100) -> None:
        super().__init__(priority=priority)
        self._errors: deque[ErrorRecord] = deque(maxlen=keep)
        self._by_source: Counter[str] = Counter()

    def handle(self, message: Message) -> None:
        if Kind.ERROR not in kinds_of(message):
            return
        records = [ErrorRecord(source, text, message) for source, text in _describe(message)]
        with self._lock:
            self._errors.extend(records)
            self._by_source.update(record.source for record in records)

    @property
    def errors(self) -> list[ErrorRecord]:
        """The errors, oldest first."""
        with self._lock:
            return list(self._errors)

    @property
    def count(self) -> int:
        """Errors seen (including those no longer kept)."""
        with self._lock:
            return sum(self._by_source.values())

    @property
    def by_source(self) -> dict[str, int]:
        """Errors seen per ``source``."""
        with self._lock:
            return dict(self._by_source)


def _describe(message: Message) -> list[tuple[str, str]]:
    """``(source, description)`` of each error an error message reports."""
    if isinstance(message, ParseError):
        return [("parse", str(message))]
    if isinstance(message, HandlerError):
        return [("handler", str(message))]
    if isinstance(message, ResultMessage):
        detail = "; ".join(message.errors) or message.result or message.terminal_reason or ""
        return [("result", f"{message.subtype}: {detail}")]
    if isinstance(message, ApiRetryMessage):
        return [
            (
                "api_retry",
                f"attempt {message.attempt} of {message.max_retries} failed "
                f"(HTTP {message.error_status}, {message.error})",
            )
        ]
    if isinstance(message, AssistantMessage):
        return [("api_error", f"{message.error or 'api_error'}: {message.text}")]
    if isinstance(message, UserMessage):
        return [
            ("tool_result", f"{result.tool_use_id}: {result.text}")
            for result in message.tool_results
            if result.is_error
        ]
    if isinstance(message, ControlResponseMessage):
        return [("control", f"request {message.request_id}: {message.error}")]
    if isinstance(message, StreamEventMessage):
        return [("stream", json.dumps(message.event.get("error"), ensure_ascii=False))]
    return [("other", repr(message))]


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


class MetadataHandler(BuiltinHandler):
    """Session set-up from ``system/init``; cost and tokens from ``result`` frames.

    ``total_cost_usd`` and ``modelUsage`` in a ``result`` are running totals of the session
    (the CLI process), so the latest one per session counts; ``usage`` is per turn, so the
    turns' usages are added up.

    Args:
        keep_sessions: sessions kept in ``cost_by_session`` (``None`` keeps all); beyond
            it the session that reported least recently is dropped from it, and its
            figures stay in the totals ``cost_usd`` and ``model_usage``. A dropped session
            that reports again counts as a new one (its reports being running totals, its
            earlier cost is then counted twice).
    """

    kinds = (Kind.METADATA,)

    def __init__(self, *, priority: int = 0, keep_sessions: int | None = 100) -> None:
        super().__init__(priority=priority)
        self._keep_sessions = _bound("keep_sessions", keep_sessions)
        self._init: InitMessage | None = None
        self._session_id: str | None = None
        self._cost_by_session: dict[str, float] = {}
        self._model_usage_by_session: dict[str, dict[str, dict[str, Any]]] = {}
        self._dropped_cost = 0.0
        self._dropped_model_usage: dict[str, Counter[str]] = {}
        self._usage: Counter[str] = Counter()

    def handle(self, message: Message) -> None:
        if isinstance(message, InitMessage):
            with self._lock:
                self._init = message
                self._session_id = message.session_id or self._session_id
        elif isinstance(message, ResultMessage):
            session = message.session_id or self._session_id or ""
            cost = message.total_cost_usd
            tokens = {
                name: value
                for name, value in message.usage.items()
                if isinstance(value, int) and not isinstance(value, bool)
            }
            keep = self._keep_sessions
            with self._lock:
                self._session_id = session
                if cost is not None:
                    # latest report last, so that the least recent is dropped first
                    self._cost_by_session.pop(session, None)
                    self._cost_by_session[session] = cost
                    self._dropped_cost += sum(_drop_first_entries(self._cost_by_session, keep))
                if message.model_usage:
                    self._model_usage_by_session.pop(session, None)
                    self._model_usage_by_session[session] = message.model_usage
                    for dropped in _drop_first_entries(self._model_usage_by_session, keep):
                        _add_model_usage(self._dropped_model_usage, dropped)
                self._usage.update(tokens)

    @property
    def session_id(self) -> str | None:
        """The latest session's id."""
        return self._session_id

    @property
    def model(self) -> str | None:
        """The model from the latest ``init``."""
        init = self._init
        return init.model if init is not None else None

    @property
    def tools(self) -> list[str]:
        """The tools from the latest ``init``."""
        init = self._init
        return init.tools if init is not None else []

    @property
    def cwd(self) -> str | None:
        """The working directory from the latest ``init``."""
        init = self._init
        return init.cwd if init is not None else None

    @property
    def claude_code_version(self) -> str | None:
        """The CLI version from the latest ``init`` (absent in old recordings)."""
        init = self._init
        return init.claude_code_version if init is not None else None

    @property
    def permission_mode(self) -> str | None:
        """The permission mode from the latest ``init``."""
        init = self._init
        return init.permission_mode if init is not None else None

    @property
    def cost_usd(self) -> float:
        """Estimated cost of every session seen, dropped ones included."""
        with self._lock:
            return self._dropped_cost + sum(self._cost_by_session.values())

    @property
    def cost_by_session(self) -> dict[str, float]:
        """Estimated cost per kept session, the latest to report last."""
        with self._lock:
            return dict(self._cost_by_session)

    @property
    def usage(self) -> dict[str, int]:
        """Main-loop token counts (``input_tokens``, ``output_tokens``, …) of all turns."""
        with self._lock:
            return dict(self._usage)

    @property
    def model_usage(self) -> dict[str, dict[str, float]]:
        """Per-model totals (``inputTokens``, ``costUSD``, …) over all sessions."""
        with self._lock:
            totals = {model: Counter(counts) for model, counts in self._dropped_model_usage.items()}
            sessions = list(self._model_usage_by_session.values())
        for per_model in sessions:
            _add_model_usage(totals, per_model)
        return {model: dict(counts) for model, counts in totals.items()}


def _add_model_usage(totals: dict[str, Counter[str]], per_model: dict[str, dict[str, Any]]) -> None:
    """Add a session's ``modelUsage`` numbers to per-model ``totals``."""
    for model, usage in per_model.items():
        numbers = {
            name: value
            for name, value in usage.items()
            if isinstance(value, int | float) and not isinstance(value, bool)
        }
        totals.setdefault(model, Counter()).update(numbers)


class StatusChange(NamedTuple):
    """A status report: ``source`` is ``status``, ``session_state`` or ``rate_limit``."""

    at: datetime
    source: str
    value: str | None
    message: Message


class StatusHandler(BuiltinHandler):
    """The CLI's status (``requesting``, ``compacting``, idle), session state, rate limits.

    Args:
        keep: changes kept in ``history`` (the most recent; ``None`` keeps all).
    """

    kinds = (Kind.STATUS,)

    def __init__(self, *, priority: int = 0, keep: int | None = 100) -> None:
        super().__init__(priority=priority)
        self._current: str | None = None
        self._session_state: str | None = None
        self._rate_limit: Message | None = None
        self._history: deque[StatusChange] = deque(maxlen=keep)

    def handle(self, message: Message) -> None:
        if isinstance(message, StatusMessage):
            source, value = "status", message.status
        elif isinstance(message, RateLimitEventMessage):
            source, value = "rate_limit", message.status
        elif isinstance(message, SystemMessage) and message.subtype == "session_state_changed":
            state = message.raw.get("state")
            source, value = "session_state", state if isinstance(state, str) else None
        else:
            return
        if source == "status":
            self._current = value
        elif source == "session_state":
            self._session_state = value
        else:
            self._rate_limit = message
        self._history.append(StatusChange(message.received_at, source, value, message))

    @property
    def current(self) -> str | None:
        """The latest ``system/status`` value; ``None`` when idle (or none seen)."""
        return self._current

    @property
    def session_state(self) -> str | None:
        """The latest ``session_state_changed`` state (``idle``, ``running``, …)."""
        return self._session_state

    @property
    def rate_limit(self) -> dict[str, Any] | None:
        """The latest ``rate_limit_info`` (``status``, ``resetsAt``, …)."""
        latest = self._rate_limit
        if isinstance(latest, RateLimitEventMessage):
            return dict(latest.rate_limit_info)
        return None

    @property
    def history(self) -> list[StatusChange]:
        """Status changes, oldest first."""
        return list(self._history)


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


class CompleteHandler(BuiltinHandler):
    """The final ``result`` of each turn: text, error, cost, turns.

    The properties describe the latest result; ``results`` keeps the last ``keep``.
    ``wait(timeout)`` blocks until a result has arrived.
    """

    kinds = (Kind.COMPLETE,)

    def __init__(self, *, priority: int = 0, keep: int | None = 100) -> None:
        super().__init__(priority=priority)
        self._results: deque[ResultMessage] = deque(maxlen=keep)
        self._last: ResultMessage | None = None
        self._arrived = threading.Event()

    def handle(self, message: Message) -> None:
        if isinstance(message, ResultMessage):
            with self._lock:
                self._results.append(message)
                self._last = message
            self._arrived.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for a result; True once one has arrived, False on timeout."""
        return self._arrived.wait(timeout)

    @property
    def last(self) -> ResultMessage | None:
        """The latest ``result`` frame."""
        return self._last

    @property
    def results(self) -> list[ResultMessage]:
        """The kept ``result`` frames, oldest first."""
        with self._lock:
            return list(self._results)

    @property
    def completed(self) -> bool:
        """True once a result has arrived."""
        return self._last is not None

    @property
    def result(self) -> str | None:
        """The final text (success subtype only)."""
        last = self._last
        return last.result if last is not None else None

    @property
    def is_error(self) -> bool:
        """True when the latest turn failed."""
        last = self._last
        return last.is_error if last is not None else False

    @property
    def subtype(self) -> str | None:
        """``success`` or an error subtype (``error_max_turns``, …)."""
        last = self._last
        return last.subtype if last is not None else None

    @property
    def errors(self) -> list[str]:
        """The error descriptions of an error subtype."""
        last = self._last
        return last.errors if last is not None else []

    @property
    def cost_usd(self) -> float | None:
        """The session's estimated cost so far, as the latest result reports it."""
        last = self._last
        return last.total_cost_usd if last is not None else None

    @property
    def num_turns(self) -> int | None:
        """Model round-trips of the latest turn."""
        last = self._last
        return last.num_turns if last is not None else None

    @property
    def duration_ms(self) -> float | None:
        """Wall time of the latest turn."""
        last = self._last
        return last.duration_ms if last is not None else None


class ChainHandler:
    """Several handlers run in order as one: one registration, one lane, one priority.

    If a handler raises, the chain stops there and the exception propagates (it becomes one
    :class:`~rxclaude.routing.HandlerError` naming the chain); a note on the exception
    names the handler that raised.
    """

    def __init__(self, handlers: Iterable[Handler], *, priority: int = 0) -> None:
        self.priority = _check_priority(priority)
        self.handlers = tuple(handlers)
        self._calls = tuple(entry_point(handler) for handler in self.handlers)

    def handle(self, message: Message) -> None:
        for handler, call in zip(self.handlers, self._calls, strict=True):
            try:
                call(message)
            except Exception as error:
                error.add_note(f"raised by {handler_name(handler)} in a ChainHandler")
                raise


@dataclass(frozen=True)
class BuiltinHandlers:
    """The handlers :meth:`Router.default` registers, one of each."""

    text: TextHandler = field(default_factory=TextHandler)
    tool_use: ToolUseHandler = field(default_factory=ToolUseHandler)
    error: ErrorHandler = field(default_factory=ErrorHandler)
    system: SystemHandler = field(default_factory=SystemHandler)
    metadata: MetadataHandler = field(default_factory=MetadataHandler)
    status: StatusHandler = field(default_factory=StatusHandler)
    progress: ProgressHandler = field(default_factory=ProgressHandler)
    complete: CompleteHandler = field(default_factory=CompleteHandler)

    def __iter__(self) -> Iterator[BuiltinHandler]:
        return (getattr(self, handler_field.name) for handler_field in fields(self))


class DefaultRouter(Router):
    """A :class:`~rxclaude.routing.Router` with the built-in handlers registered.

    ``handlers`` gives access to them and their results.
    """

    def __init__(self, handlers: BuiltinHandlers | None = None) -> None:
        super().__init__()
        self.handlers = handlers if handlers is not None else BuiltinHandlers()
        for handler in self.handlers:
            for kind in handler.kinds:
                self.register(kind, handler)
