"""The figures of :class:`~rxclaude.handlers.claude_metrics.ClaudeMetrics`, as metric families.

One table of names serves every way out: :meth:`ClaudeFigures.families` is what the
Prometheus and OpenTelemetry exporters export and what :meth:`ClaudeFigures.to_dict`
writes, so a dashboard, a scrape and ``stats --json`` use the same names (without the
exporters' ``rxclaude_`` prefix here):

================================  =========  =========================================
family                            type       labels
================================  =========  =========================================
``claude_cost_usd``               counter    (none): ``total_cost_usd`` of the sessions
``claude_model_cost_usd``         counter    ``model`` (``modelUsage`` ``costUSD``)
``claude_tokens``                 counter    ``model``, ``type`` (``modelUsage``)
``claude_response_tokens``        counter    ``model``, ``type`` (``assistant`` usage)
``claude_responses``              counter    ``model``: API responses (message ids)
``claude_sessions``               counter    (none): sessions seen
``claude_session_cost_usd``       gauge      ``session`` (only with ``session_labels``)
``claude_turns``                  counter    ``subtype``, ``is_error`` (``result`` frames)
``claude_tool_calls``             counter    ``tool``
``claude_tool_errors``            counter    ``tool``
``claude_tool_duration_seconds``  histogram  ``tool``
``claude_tools_running``          gauge      (none)
``claude_api_retries``            counter    ``status`` (``system/api_retry``)
``claude_api_errors``             counter    ``status`` (``result.api_error_status``)
``claude_rate_limit_events``      counter    ``status``
``claude_rate_limit_state``       gauge      ``limit``, ``status``: 1 for the current one
``claude_rate_limit_utilization``  gauge     ``limit``
``claude_rate_limit_resets_at``   gauge      ``limit``: seconds since the epoch
``claude_parse_errors``           counter    ``reason``
================================  =========  =========================================

Token ``type`` is ``input``, ``output``, ``cache_read`` or ``cache_creation``. Counters
are named without ``_total``: Prometheus adds it, OpenTelemetry does not use it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from rxclaude import _html

__all__ = [
    "DURATION_BUCKETS",
    "OTHER",
    "ClaudeFigures",
    "DurationHistogram",
    "MetricFamily",
    "RateLimitState",
]

DURATION_BUCKETS: tuple[float, ...] = (
    0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0,
)  # fmt: skip
"""Upper bounds (seconds) of the tool-duration histogram's buckets; ``+Inf`` follows."""

OTHER = "(other)"
"""The label value that stands for every value past a label's bound."""

FamilyType = Literal["counter", "gauge", "histogram"]
Labels = tuple[str, ...]


@dataclass(frozen=True, slots=True)
class DurationHistogram:
    """A duration distribution: ``counts[i]`` fell in bucket ``i`` (not cumulative); the
    last count is above the last bound."""

    counts: tuple[int, ...]
    total: float

    @property
    def count(self) -> int:
        """Durations recorded."""
        return sum(self.counts)

    def cumulative(self) -> list[tuple[str, int]]:
        """``(upper bound, count at or below it)`` pairs, ``+Inf`` last, as Prometheus has them."""
        running, pairs = 0, []
        for bound, count in zip([*map(repr, DURATION_BUCKETS), "+Inf"], self.counts, strict=True):
            running += count
            pairs.append((bound, running))
        return pairs


@dataclass(frozen=True, slots=True)
class RateLimitState:
    """The latest ``rate_limit_event`` of one limit (``rateLimitType``)."""

    status: str
    utilization: float | None = None
    resets_at: float | None = None


@dataclass(frozen=True, slots=True)
class MetricFamily:
    """One metric: its name, type, help, label names and a value per label set."""

    name: str
    type: FamilyType
    help: str
    labels: tuple[str, ...]
    samples: dict[Labels, float] = field(default_factory=dict)
    histograms: dict[Labels, DurationHistogram] = field(default_factory=dict)


@dataclass(frozen=True)
class ClaudeFigures:
    """What Claude did in the streams so far: cost, tokens, turns, tools, API trouble.

    Keys of the dictionaries are label values: a model, a ``(model, token type)`` pair, a
    tool name, a status; bounded label values fold into :data:`OTHER`.
    """

    cost_usd: float
    model_cost_usd: dict[str, float]
    tokens: dict[tuple[str, str], int]
    response_tokens: dict[tuple[str, str], int]
    responses: dict[str, int]
    sessions: int
    session_cost_usd: dict[str, float]
    """Latest ``total_cost_usd`` per kept session (exported only with ``session_labels``)."""
    turns: dict[tuple[str, bool], int]
    tool_calls: dict[str, int]
    tool_errors: dict[str, int]
    tool_durations: dict[str, DurationHistogram]
    tools_running: int
    api_retries: dict[str, int]
    api_errors: dict[str, int]
    rate_limit_events: dict[str, int]
    rate_limits: dict[str, RateLimitState]
    parse_errors: dict[str, int]

    def families(self, *, session_labels: bool = False) -> list[MetricFamily]:
        """The figures as metric families (the table in this module's docstring)."""
        rate = self.rate_limits
        families = [
            _family("claude_cost_usd", "counter", "Estimated cost (USD).", (),
                    {(): self.cost_usd}),
            _family("claude_model_cost_usd", "counter", "Estimated cost per model (USD).",
                    ("model",), _keyed(self.model_cost_usd)),
            _family("claude_tokens", "counter", "Tokens per model (result modelUsage).",
                    ("model", "type"), _pairs(self.tokens)),
            _family("claude_response_tokens", "counter",
                    "Tokens per model as the assistant frames report them.",
                    ("model", "type"), _pairs(self.response_tokens)),
            _family("claude_responses", "counter", "API responses per model.", ("model",),
                    _keyed(self.responses)),
            _family("claude_sessions", "counter", "Sessions seen.", (), {(): self.sessions}),
            _family("claude_turns", "counter", "Turns ended (result frames).",
                    ("subtype", "is_error"),
                    {(subtype, str(error).lower()): n for (subtype, error), n in
                     self.turns.items()}),
            _family("claude_tool_calls", "counter", "Tool calls started.", ("tool",),
                    _keyed(self.tool_calls)),
            _family("claude_tool_errors", "counter", "Tool results reporting an error.",
                    ("tool",), _keyed(self.tool_errors)),
            MetricFamily("claude_tool_duration_seconds", "histogram",
                         "From a tool_use to its result.", ("tool",),
                         histograms={(tool, ): h for tool, h in self.tool_durations.items()}),
            _family("claude_tools_running", "gauge", "Tool calls waiting for their result.",
                    (), {(): self.tools_running}),
            _family("claude_api_retries", "counter", "API retries per HTTP status.",
                    ("status",), _keyed(self.api_retries)),
            _family("claude_api_errors", "counter", "Turns ended by an API error, per status.",
                    ("status",), _keyed(self.api_errors)),
            _family("claude_rate_limit_events", "counter", "Rate-limit events per status.",
                    ("status",), _keyed(self.rate_limit_events)),
            _family("claude_rate_limit_state", "gauge",
                    "1 for each limit's current status.", ("limit", "status"),
                    {(limit, state.status): 1 for limit, state in rate.items()}),
            _family("claude_rate_limit_utilization", "gauge", "Utilisation of each limit.",
                    ("limit",), {(limit,): state.utilization for limit, state in rate.items()
                                 if state.utilization is not None}),
            _family("claude_rate_limit_resets_at", "gauge",
                    "When each limit resets (seconds since the epoch).", ("limit",),
                    {(limit,): state.resets_at for limit, state in rate.items()
                     if state.resets_at is not None}),
            _family("claude_parse_errors", "counter", "Parse errors per reason.", ("reason",),
                    _keyed(self.parse_errors)),
        ]  # fmt: skip
        if session_labels:
            families.append(
                _family("claude_session_cost_usd", "gauge", "Estimated cost per session (USD).",
                        ("session",), _keyed(self.session_cost_usd))
            )  # fmt: skip
        return families

    def to_dict(self, *, session_labels: bool = False) -> dict[str, object]:
        """The families as plain JSON-able data: ``{name: {"type", "help", "samples"}}``,
        each sample ``{"labels": {...}, "value": x}`` (histograms: ``count``, ``sum`` and
        cumulative ``buckets``)."""
        document: dict[str, object] = {}
        for family in self.families(session_labels=session_labels):
            samples: list[dict[str, object]] = [
                {"labels": dict(zip(family.labels, key, strict=True)), "value": value}
                for key, value in sorted(family.samples.items())
            ]
            samples += [
                {
                    "labels": dict(zip(family.labels, key, strict=True)),
                    "count": histogram.count,
                    "sum": histogram.total,
                    "buckets": dict(histogram.cumulative()),
                }
                for key, histogram in sorted(family.histograms.items())
            ]
            document[family.name] = {"type": family.type, "help": family.help, "samples": samples}
        return document

    def _repr_html_(self) -> str:
        rows: list[tuple[object, ...]] = []
        for family in self.families():
            for key, value in sorted(family.samples.items()):
                rows.append((family.name, ", ".join(key), _html.figure(value)))
            for key, histogram in sorted(family.histograms.items()):
                mean = histogram.total / histogram.count if histogram.count else None
                shown = f"{histogram.count} calls, mean {_html.figure(mean)} s"
                rows.append((family.name, ", ".join(key), shown))
        return _html.titled("ClaudeFigures", _html.table(rows, ("metric", "labels", "value")))


def _family(
    name: str, kind: FamilyType, help_text: str, labels: Labels, samples: dict[Labels, float]
) -> MetricFamily:
    return MetricFamily(name, kind, help_text, labels, samples)


def _keyed(values: dict[str, int] | dict[str, float]) -> dict[Labels, float]:
    return {(key,): value for key, value in values.items()}


def _pairs(values: dict[tuple[str, str], int]) -> dict[Labels, float]:
    return {key: value for key, value in values.items()}
