"""Claude-level metrics: cost and tokens by model, turns, tools, API retries and errors,
rate limits and parse errors, kept as counters for the exporters.

Register a :class:`ClaudeMetrics` on the router of a ``route_by_type`` (``attach``) and
read ``figures()``; :class:`~rxclaude.metrics.prometheus.PrometheusExporter` (``claude=``)
and :class:`~rxclaude.metrics.otel.OpenTelemetryExporter` export them under the names of
:mod:`~rxclaude.handlers.claude_figures`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import datetime
from typing import Any

from reactivex.disposable import CompositeDisposable, Disposable

from rxclaude.handlers.base import BuiltinHandler, bound, drop_first_entries
from rxclaude.handlers.claude_figures import (
    DURATION_BUCKETS,
    OTHER,
    ClaudeFigures,
    DurationHistogram,
    RateLimitState,
)
from rxclaude.messages import (
    ApiRetryMessage,
    AssistantMessage,
    Kind,
    Message,
    ParseError,
    RateLimitEventMessage,
    ResultMessage,
    UserMessage,
)
from rxclaude.messages.content import SERVER_TOOL_RESULT_SUFFIX, TOOL_USE_BLOCK_TYPES
from rxclaude.routing import Router

__all__ = ["UNKNOWN", "ClaudeMetrics", "ToolListener"]

ToolListener = Callable[[str, float | None, bool], None]
"""Called as each tool call ends: tool name, duration in seconds (None if its start was
not seen), whether its result is an error."""

TOKEN_TYPES = {
    "input": ("inputTokens", "input_tokens"),
    "output": ("outputTokens", "output_tokens"),
    "cache_read": ("cacheReadInputTokens", "cache_read_input_tokens"),
    "cache_creation": ("cacheCreationInputTokens", "cache_creation_input_tokens"),
}
"""Token ``type`` label -> (``modelUsage`` key, ``usage`` key)."""

UNKNOWN = "(unknown)"
"""The label value of a missing model or tool name (a result whose call was not seen)."""

KEEP_RESPONSES = 64
"""API responses whose latest usage is kept, to count each response's usage once."""

FRAME_TYPES = ("assistant", "user", "result", "system", "rate_limit_event", "parse_error")
"""The frame types ``attach`` registers the handler under."""


class _Labels:
    """The first ``limit`` distinct values of a label pass; later ones read :data:`OTHER`."""

    def __init__(self, limit: int | None) -> None:
        self._limit = limit
        self._seen: set[str] = set()

    def __call__(self, value: str) -> str:
        if value in self._seen:
            return value
        if self._limit is not None and len(self._seen) >= self._limit:
            return OTHER
        self._seen.add(value)
        return value


class ClaudeMetrics(BuiltinHandler):
    """Counts what Claude did: cost and tokens by model and session, turns, tool calls
    with errors and durations, API retries and errors by status, rate limits, parse errors.

    * Cost and ``tokens`` come from ``result`` frames: ``total_cost_usd`` and
      ``modelUsage`` are running totals of a session, so each report adds what grew since
      the session's previous one (a report lower than the previous starts over: a new
      process resuming the session). ``response_tokens`` come from ``assistant`` frames as
      they arrive: the frames of one API response (one message id) repeat its usage, which
      counts once, its largest value (the latest, as the CLI reports it).
    * A tool call runs from the ``received_at`` of the frame with its ``tool_use`` block
      to that of its result; calls of a session still running when its ``result`` arrives
      are given up (the turn ended without them), as are the oldest past ``keep_running``.
    * Label values are bounded: past ``max_label_values`` distinct models, tools, statuses
      or limits, new ones count under :data:`~rxclaude.handlers.claude_figures.OTHER`.

    Args:
        keep_sessions: sessions whose last totals are kept (``None``: all). A dropped
            session that reports again counts as new, its cost then counted twice.
        keep_running: running tool calls kept at most (``None``: no bound).
        max_label_values: distinct values per label (``None``: no bound).
    """

    kinds = (Kind.TEXT, Kind.TOOL_USE, Kind.ERROR, Kind.COMPLETE, Kind.METADATA, Kind.STATUS)
    """Kinds covering every frame it counts but ``assistant`` frames of thinking only
    (whose usage the next frame of the response repeats); ``attach`` uses frame types."""

    def __init__(
        self,
        *,
        priority: int = 0,
        keep_sessions: int | None = 100,
        keep_running: int | None = 1000,
        max_label_values: int | None = 100,
    ) -> None:
        super().__init__(priority=priority)
        self._keep_sessions = bound("keep_sessions", keep_sessions)
        self._keep_running = bound("keep_running", keep_running)
        limit = bound("max_label_values", max_label_values)
        self._model, self._tool = _Labels(limit), _Labels(limit)
        self._status, self._limit = _Labels(limit), _Labels(limit)
        self._listeners: list[ToolListener] = []
        self._cost = 0.0
        self._session_cost: dict[str, float] = {}
        self._session_model_usage: dict[str, dict[tuple[str, str], float]] = {}
        self._model_cost: dict[str, float] = {}
        self._tokens: Counter[tuple[str, str]] = Counter()
        self._response_tokens: Counter[tuple[str, str]] = Counter()
        self._response_usage: dict[str, tuple[str, dict[str, int]]] = {}
        self._responses: Counter[str] = Counter()
        self._sessions: dict[str, None] = {}
        self._session_count = 0
        self._turns: Counter[tuple[str, bool]] = Counter()
        self._running: dict[str, tuple[str, datetime, str | None]] = {}
        self._tool_calls: Counter[str] = Counter()
        self._tool_errors: Counter[str] = Counter()
        self._durations: dict[str, list[int]] = {}
        self._duration_sums: dict[str, float] = {}
        self._api_retries: Counter[str] = Counter()
        self._api_errors: Counter[str] = Counter()
        self._rate_limit_events: Counter[str] = Counter()
        self._rate_limits: dict[str, RateLimitState] = {}
        self._parse_errors: Counter[str] = Counter()

    def attach(self, router: Router) -> CompositeDisposable:
        """Register on ``router`` under every frame type it counts; disposing removes it."""
        return CompositeDisposable(*(router.register(key, self) for key in FRAME_TYPES))

    def add_tool_listener(self, listener: ToolListener) -> Disposable:
        """Call ``listener`` on the handling thread as each tool call ends."""
        with self._lock:
            self._listeners.append(listener)
        return Disposable(lambda: self._remove_listener(listener))

    def _remove_listener(self, listener: ToolListener) -> None:
        with self._lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

    def handle(self, message: Message) -> None:
        session = message.session_id
        if session is not None and session not in self._sessions:
            with self._lock:
                self._sessions[session] = None
                self._session_count += 1
                drop_first_entries(self._sessions, self._keep_sessions)
        if isinstance(message, AssistantMessage):
            self._count_response(message)
            self._count_blocks(message)
        elif isinstance(message, UserMessage):
            self._count_blocks(message)
        elif isinstance(message, ResultMessage):
            self._count_result(message, session or "")
        elif isinstance(message, ApiRetryMessage):
            status = message.error_status
            with self._lock:
                self._api_retries[self._status("none" if status is None else str(status))] += 1
        elif isinstance(message, RateLimitEventMessage):
            self._count_rate_limit(message)
        elif isinstance(message, ParseError):
            with self._lock:
                self._parse_errors[message.reason] += 1

    def _count_response(self, message: AssistantMessage) -> None:
        usage = message.usage
        tokens = {name: _whole(usage.get(keys[1])) for name, keys in TOKEN_TYPES.items()}
        model = self._model(message.model or UNKNOWN)
        key = message.message_id
        with self._lock:
            previous = self._response_usage.pop(key, None) if key is not None else None
            if previous is None:
                self._responses[model] += 1
            else:  # a counter never falls: each type's largest value counts
                tokens = {name: max(value, previous[1][name]) for name, value in tokens.items()}
            for name, value in tokens.items():
                self._response_tokens[(model, name)] += value - (
                    previous[1][name] if previous is not None else 0
                )
            if key is not None:
                self._response_usage[key] = (model, tokens)
                drop_first_entries(self._response_usage, KEEP_RESPONSES)

    def _count_blocks(self, message: AssistantMessage | UserMessage) -> None:
        content = message.message.get("content")
        if not isinstance(content, list):
            return
        for raw in content:
            block_type = raw.get("type") if isinstance(raw, dict) else None
            if not isinstance(block_type, str):
                continue
            if block_type in TOOL_USE_BLOCK_TYPES:
                self._start_tool(message, raw)
            elif block_type == "tool_result" or block_type.endswith(SERVER_TOOL_RESULT_SUFFIX):
                self._finish_tool(message, raw, block_type == "tool_result")

    def _start_tool(self, message: Message, block: dict[str, Any]) -> None:
        name = block.get("name")
        tool = self._tool(name if isinstance(name, str) and name else UNKNOWN)
        call_id = block.get("id")
        main_session = message.session_id if message.parent_tool_use_id is None else None
        with self._lock:
            self._tool_calls[tool] += 1
            if isinstance(call_id, str):
                self._running[call_id] = (tool, message.received_at, main_session)
                drop_first_entries(self._running, self._keep_running)

    def _finish_tool(self, message: Message, block: dict[str, Any], client: bool) -> None:
        if client:
            failed = block.get("is_error") is True
        else:
            payload = block.get("content")
            failed = isinstance(payload, dict) and str(payload.get("type")).endswith("_error")
        call_id = block.get("tool_use_id")
        with self._lock:
            started = self._running.pop(call_id, None) if isinstance(call_id, str) else None
            tool = started[0] if started is not None else self._tool(UNKNOWN)
            seconds = None
            if started is not None:
                seconds = max((message.received_at - started[1]).total_seconds(), 0.0)
                buckets = self._durations.setdefault(tool, [0] * (len(DURATION_BUCKETS) + 1))
                buckets[_bucket(seconds)] += 1
                self._duration_sums[tool] = self._duration_sums.get(tool, 0.0) + seconds
            self._tool_errors[tool] += failed
            listeners = list(self._listeners)
        for listener in listeners:
            listener(tool, seconds, failed)

    def _count_result(self, message: ResultMessage, session: str) -> None:
        cost = message.total_cost_usd
        status = message.raw.get("api_error_status")
        with self._lock:
            self._turns[(self._status(message.subtype or ""), message.is_error)] += 1
            if isinstance(status, int) and not isinstance(status, bool):
                self._api_errors[self._status(str(status))] += 1
            if cost is not None:
                self._cost += _growth(self._session_cost.pop(session, None), cost)
                self._session_cost[session] = cost
                drop_first_entries(self._session_cost, self._keep_sessions)
            if message.model_usage:
                self._count_model_usage(session, message.model_usage)
            for call_id, (_, _, call_session) in list(self._running.items()):
                if call_session == session:
                    del self._running[call_id]

    def _count_model_usage(self, session: str, model_usage: dict[str, dict[str, Any]]) -> None:
        previous = self._session_model_usage.pop(session, {})
        latest: dict[tuple[str, str], float] = {}
        for raw_model, usage in model_usage.items():
            model = self._model(raw_model)
            cost = usage.get("costUSD")
            if isinstance(cost, int | float) and not isinstance(cost, bool):
                latest[(model, "cost")] = latest.get((model, "cost"), 0.0) + cost
            for name, keys in TOKEN_TYPES.items():
                latest[(model, name)] = latest.get((model, name), 0) + _whole(usage.get(keys[0]))
        for (model, name), value in latest.items():
            growth = _growth(previous.get((model, name)), value)
            if name == "cost":
                self._model_cost[model] = self._model_cost.get(model, 0.0) + growth
            else:
                self._tokens[(model, name)] += int(growth)
        self._session_model_usage[session] = latest
        drop_first_entries(self._session_model_usage, self._keep_sessions)

    def _count_rate_limit(self, message: RateLimitEventMessage) -> None:
        info = message.rate_limit_info
        status = self._status(message.status or "unknown")
        limit_type = info.get("rateLimitType")
        limit = self._limit(limit_type if isinstance(limit_type, str) else "unknown")
        with self._lock:
            self._rate_limit_events[status] += 1
            self._rate_limits[limit] = RateLimitState(
                status, _number(info.get("utilization")), _number(info.get("resetsAt"))
            )

    def figures(self) -> ClaudeFigures:
        """A frozen copy of every figure so far (safe from any thread)."""
        with self._lock:
            return ClaudeFigures(
                cost_usd=self._cost,
                model_cost_usd=dict(self._model_cost),
                tokens=dict(self._tokens),
                response_tokens=dict(self._response_tokens),
                responses=dict(self._responses),
                sessions=self._session_count,
                session_cost_usd=dict(self._session_cost),
                turns=dict(self._turns),
                tool_calls=dict(self._tool_calls),
                tool_errors=dict(self._tool_errors),
                tool_durations={
                    tool: DurationHistogram(tuple(counts), self._duration_sums[tool])
                    for tool, counts in self._durations.items()
                },
                tools_running=len(self._running),
                api_retries=dict(self._api_retries),
                api_errors=dict(self._api_errors),
                rate_limit_events=dict(self._rate_limit_events),
                rate_limits=dict(self._rate_limits),
                parse_errors=dict(self._parse_errors),
            )


def _whole(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _number(value: object) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def _growth(previous: float | None, latest: float) -> float:
    """What a running total grew by; all of it when it fell (a new process)."""
    if previous is None or latest < previous:
        return latest
    return latest - previous


def _bucket(seconds: float) -> int:
    for index, upper in enumerate(DURATION_BUCKETS):
        if seconds <= upper:
            return index
    return len(DURATION_BUCKETS)
