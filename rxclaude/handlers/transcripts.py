"""Token usage and cost from session transcripts: each API response counted once, by
session, day, model and subagent.

A transcript writes one ``assistant`` entry per content block, each repeating the
response's ``usage``; older CLIs also wrote streaming updates of one response as several
entries, and a subagent's responses appear both in its own file and in the parent's
``agent_progress`` lines. :class:`TranscriptUsageHandler` counts a response once, by its
``message.id`` and ``requestId``, whatever the order its entries come in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from typing import Any, ClassVar

from reactivex import abc
from reactivex.disposable import CompositeDisposable

from rxclaude.handlers.base import BuiltinHandler, bound
from rxclaude.messages import (
    AssistantMessage,
    CostStateMessage,
    Kind,
    Message,
    ProgressMessage,
    UserMessage,
)
from rxclaude.messages.fields import JSONObject, get_bool, get_dict, get_float, get_str
from rxclaude.routing import Router
from rxclaude.transcripts import source_of, time_of

TOKEN_FIELDS = (
    "input_tokens",
    "output_tokens",
    "cache_creation_input_tokens",
    "cache_read_input_tokens",
)
"""The ``usage`` fields added up."""

SIDECHAIN = "sidechain"
"""The agent of sidechain entries that name no ``agentId`` (older CLIs)."""


@dataclass(frozen=True)
class UsageTotals:
    """Tokens and cost of a set of API responses.

    ``cost_usd`` is ``None`` when the transcripts hold no figure for it: a session's cost
    comes from its ``cost-state`` lines (running totals the CLI writes), else from the
    ``costUSD`` of its entries (older CLIs).
    """

    responses: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0
    cost_usd: float | None = None

    @property
    def total_tokens(self) -> int:
        """All four token counts together."""
        return (
            self.input_tokens
            + self.output_tokens
            + self.cache_creation_input_tokens
            + self.cache_read_input_tokens
        )


@dataclass(frozen=True)
class AgentInfo:
    """A subagent: the session that ran it and the ``Task``/``Agent`` call that started it
    (``None`` until a line names it)."""

    agent_id: str
    session_id: str | None
    tool_use_id: str | None


_CellKey = tuple[str | None, date, str | None, str | None, str | None]
"""(session, day, model, agent, project)."""


class _Cell:
    """The figures of one (session, day, model, agent)."""

    __slots__ = ("entry_cost", "responses", "state_cost", "tokens")

    def __init__(self) -> None:
        self.responses = 0
        self.tokens = [0, 0, 0, 0]
        self.state_cost = 0.0
        self.entry_cost: float | None = None


class _Response:
    """One API response: where it is counted, and the largest figures seen for it."""

    __slots__ = ("cell", "cost", "tokens")

    def __init__(self, cell: _Cell) -> None:
        self.cell = cell
        self.tokens = [0, 0, 0, 0]
        self.cost = 0.0


class TranscriptUsageHandler(BuiltinHandler):
    """Token usage and cost per session, day, model, subagent and project, each response
    once.

    A response is known by ``message.id`` and ``requestId``; its figures are the largest
    seen on any of its entries, field by field, so repeated entries and streaming updates
    (whose counts only grow) count once, in any order. Entries without a ``message.id``
    count each. Subagent responses are counted from the subagent's file and from the
    parent's ``agent_progress`` lines alike (once). Cost: the ``cost-state`` lines' running
    totals (the growth since the session's previous one; a smaller total starts afresh, as
    after a restart), else the entries' ``costUSD``. Days are those of each line's ``time``
    in ``timezone`` (stream-json frames: their ``received_at``).

    Register it by frame type (it has no kinds): ``handler.register(router)``; nothing
    registers it by default.

    Args:
        timezone: the days' time zone (UTC by default).
        keep_responses: responses remembered for deduplication (the most recent); their
            figures stay in the totals when they are forgotten. ``None``: all.
    """

    kinds: ClassVar[tuple[Kind, ...]] = ()
    types: ClassVar[tuple[str, ...]] = ("assistant", "user", "progress", "cost-state")
    """The frame types it takes."""

    def __init__(
        self,
        *,
        priority: int = 0,
        timezone: tzinfo = UTC,
        keep_responses: int | None = 100_000,
    ) -> None:
        super().__init__(priority=priority)
        self._timezone = timezone
        self._keep_responses = bound("keep_responses", keep_responses)
        self._cells: dict[_CellKey, _Cell] = {}
        self._responses: dict[tuple[str, str | None], _Response] = {}
        self._cost_states: dict[str | None, tuple[float, dict[str | None, float]]] = {}
        self._sessions_with_state: set[str | None] = set()
        self._agents: dict[str, AgentInfo] = {}
        self._repeats = 0

    def register(self, router: Router) -> abc.DisposableBase:
        """Register under each of :attr:`types`; disposing removes the registrations."""
        return CompositeDisposable(*(router.register(name, self) for name in self.types))

    def handle(self, message: Message) -> None:
        if isinstance(message, AssistantMessage):
            self._response(message, message.raw, agent_of(message.raw, message))
        elif isinstance(message, ProgressMessage):
            self._progress(message)
        elif isinstance(message, CostStateMessage):
            self._cost_state(message)
        elif isinstance(message, UserMessage):
            self._hand_back(message)

    # -- responses -----------------------------------------------------------------

    def _response(self, message: Message, entry: JSONObject, agent: str | None) -> None:
        inner = get_dict(entry, "message") or {}
        usage = get_dict(inner, "usage")
        model = get_str(inner, "model")
        cost = get_float(entry, "costUSD")
        if (usage is None and cost is None) or model == "<synthetic>":
            return
        tokens = [_count(usage, name) if usage else 0 for name in TOKEN_FIELDS]
        message_id = get_str(inner, "id")
        request_id = get_str(entry, "requestId") or get_str(entry, "request_id")
        with self._lock:
            response = None
            if message_id is not None:
                key = (message_id, request_id)
                response = self._responses.get(key)
                if response is not None:
                    self._repeats += 1
                else:
                    response = self._responses[key] = _Response(self._cell(message, model, agent))
                    response.cell.responses += 1
                    keep = self._keep_responses
                    while keep is not None and len(self._responses) > keep:
                        del self._responses[next(iter(self._responses))]
            else:
                response = _Response(self._cell(message, model, agent))
                response.cell.responses += 1
            cell = response.cell
            for index, value in enumerate(tokens):
                if value > response.tokens[index]:
                    cell.tokens[index] += value - response.tokens[index]
                    response.tokens[index] = value
            if cost is not None and cost > response.cost:
                cell.entry_cost = (cell.entry_cost or 0.0) + cost - response.cost
                response.cost = cost

    def _progress(self, message: ProgressMessage) -> None:
        forwarded = message.agent_message
        agent_id = message.agent_id
        if agent_id is not None and agent_id not in self._agents:
            self._know_agent(agent_id, message.session_id, message.parent_tool_use_id)
        if forwarded is not None and forwarded.get("type") == "assistant":
            self._response(message, forwarded, agent_id or agent_of(message.raw, message))

    def _hand_back(self, message: UserMessage) -> None:
        """A ``Task``/``Agent`` call's result names the subagent it ran."""
        result = message.raw.get("toolUseResult")
        agent_id = get_str(result, "agentId") if isinstance(result, dict) else None
        if agent_id is None:
            return
        calls = [block.tool_use_id for block in message.tool_results]
        known = self._agents.get(agent_id)
        if known is None or known.tool_use_id is None:
            self._know_agent(agent_id, message.session_id, calls[0] if calls else None)

    def _know_agent(self, agent_id: str, session: str | None, call: str | None) -> None:
        with self._lock:
            self._agents[agent_id] = AgentInfo(agent_id, session, call)

    # -- cost-state -----------------------------------------------------------------

    def _cost_state(self, message: CostStateMessage) -> None:
        total = message.total_cost_usd
        if total is None:
            return
        session = message.session_id
        by_model: dict[str | None, float] = {
            model: cost
            for model, usage in message.model_usage.items()
            if (cost := get_float(usage, "costUSD")) is not None
        } or {None: total}
        with self._lock:
            self._sessions_with_state.add(session)
            previous_total, previous = self._cost_states.get(session, (0.0, {}))
            if total < previous_total:  # a new process that did not restore the totals
                previous = {}
            for model, cost in by_model.items():
                growth = cost - previous.get(model, 0.0)
                if growth < 0:
                    growth = cost
                self._cell(message, model, None).state_cost += growth
            self._cost_states[session] = (total, by_model)

    # -- cells and results ------------------------------------------------------------

    def _cell(self, message: Message, model: str | None, agent: str | None) -> _Cell:
        moment = time_of(message)
        when = (
            datetime.fromtimestamp(moment, self._timezone)
            if moment is not None
            else message.received_at.astimezone(self._timezone)
        )
        source = source_of(message)
        project = source.project if source is not None else None
        key = (message.session_id, when.date(), model, agent, project)
        cell = self._cells.get(key)
        if cell is None:
            cell = self._cells[key] = _Cell()
        return cell

    def _totals(self, part: int | None) -> dict[Any, UsageTotals]:
        """The cells added up by one part of their key (0 session, 1 day, 2 model,
        3 agent, 4 project; ``None``: all of them, under ``None``)."""
        with self._lock:
            sums: dict[Any, list[Any]] = {}
            for key, cell in self._cells.items():
                by_entries = part == 3 or key[0] not in self._sessions_with_state
                cost = cell.entry_cost if by_entries else cell.state_cost
                row = sums.setdefault(None if part is None else key[part], [0] * 5 + [None])
                row[0] += cell.responses
                for index, value in enumerate(cell.tokens, 1):
                    row[index] += value
                if cost is not None:
                    row[5] = (row[5] or 0.0) + cost
        return {name: UsageTotals(*row) for name, row in sums.items()}

    @property
    def total(self) -> UsageTotals:
        """Everything."""
        return self._totals(None).get(None, UsageTotals())

    @property
    def by_session(self) -> dict[str | None, UsageTotals]:
        """Per session id."""
        return self._totals(0)

    @property
    def by_day(self) -> dict[date, UsageTotals]:
        """Per day, in ascending order."""
        return dict(sorted(self._totals(1).items()))

    @property
    def by_model(self) -> dict[str | None, UsageTotals]:
        """Per model (``None``: a cost-state total without per-model figures)."""
        return self._totals(2)

    @property
    def by_agent(self) -> dict[str | None, UsageTotals]:
        """Per subagent (``None``: the main conversation); costs from ``costUSD`` only,
        since ``cost-state`` totals do not split by agent."""
        return self._totals(3)

    @property
    def by_project(self) -> dict[str | None, UsageTotals]:
        """Per project folder (``None``: messages not read from a transcript)."""
        return self._totals(4)

    @property
    def agents(self) -> dict[str, AgentInfo]:
        """The subagents seen, by id."""
        with self._lock:
            return dict(self._agents)

    @property
    def repeats(self) -> int:
        """Entries not counted again: they repeated a response already counted."""
        return self._repeats


def _count(usage: JSONObject, name: str) -> int:
    value = usage.get(name)
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def agent_of(entry: JSONObject, message: Message) -> str | None:
    """The subagent an entry belongs to: its ``agentId``, its subagent file's, or
    :data:`SIDECHAIN`; ``None`` for the main conversation."""
    agent = get_str(entry, "agentId")
    if agent is not None:
        return agent
    source = source_of(message)
    if source is not None and source.agent_id is not None:
        return source.agent_id
    return SIDECHAIN if get_bool(entry, "isSidechain") else None


__all__ = [
    "SIDECHAIN",
    "TOKEN_FIELDS",
    "AgentInfo",
    "TranscriptUsageHandler",
    "UsageTotals",
    "agent_of",
]
