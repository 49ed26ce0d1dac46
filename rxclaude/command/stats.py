"""``rxclaude stats``: the figures of a stream, as a table or as one JSON document.

The figures come from the pipeline's :class:`~rxclaude.metrics.StreamMetrics` and the
built-in handlers of ``Router.default()``. ``--json`` prints one document with these keys,
always present (a figure the stream did not give is ``null``):

``source``
    What was read: a path, ``<stdin>``, ``sample NAME``, or the command line of ``run``.
``live``
    Whether the stream arrived live (``run``, a pipe): false for a file or a sample, whose
    ``throughput`` is then the speed of reading it and whose tool durations are ``null``
    (a recording carries no times of its own).
``messages``
    ``total`` (messages through the pipeline, parse errors included), ``bytes`` (the
    frames' bytes, line ends excluded), ``by_type`` (frame ``type`` → count;
    ``parse_error`` for bad input, ``""`` for objects without a ``type``), ``by_kind``
    (every ``Kind`` value → count; a message counts once for each of its kinds),
    ``system_subtypes`` (``system`` subtype → count).
``tools``
    ``calls`` (started), ``errors``, ``unpaired_results`` (results whose call was not
    seen), ``running`` (calls still without a result), ``unanswered`` (calls given up
    without a result when their session's ``result`` came), and ``by_name``: tool name →
    ``{"calls", "errors", "finished", "duration_ms": {"total", "mean", "max"}}``. A
    duration runs from the arrival of the ``tool_use`` frame to that of its result;
    ``null`` when the stream was not live.
``tokens``
    ``input``, ``output``, ``cache_read``, ``cache_creation``: the ``usage`` of the
    ``result`` frames, added up over the turns.
``cost_usd``
    The sessions' estimated cost (``null`` without a ``result``).
``errors``
    ``total`` and ``by_source`` (``parse``, ``result``, ``api_retry``, ``api_error``,
    ``tool_result``, ``handler``, ``control``, ``stream``; see ``ErrorRecord``).
``parse_errors``
    ``count``, and ``items``: ``{"offset", "nbytes", "reason", "detail"}`` for each of the
    first 20 parse errors (``PARSE_ERRORS_KEPT``), in stream order.
``throughput``
    ``elapsed_s``, ``messages_per_s``, ``bytes_per_s``: over the whole stream (for a
    stream that was not ``live``, the time and speed of reading it).
``latency_ms``
    ``p50``, ``p90``, ``p99``, ``max``: from a frame's arrival to the end of its handling
    (parsing, buffering, handlers, rendering), every message sampled (``null`` without
    samples); ``samples``.
``backpressure``
    ``policy``, ``capacity``, ``peak_size``, ``produced``, ``delivered``, ``dropped``,
    ``blocked_s``: the buffer between the reader and the handlers.
``spool``
    ``received_bytes``, ``delivered_bytes``, ``discarded_bytes``, ``peak_bytes``,
    ``peak_memory_bytes``, ``peak_disk_bytes``, ``spilled_bytes``: what the source kept
    for the pipeline (memory, then disk) while it fell behind the writer: the CLI's
    stdout for ``run``, a pipe on stdin; ``null`` for a file.
``result``
    The last ``result`` frame: ``subtype``, ``is_error``, ``num_turns``, ``duration_ms``,
    ``duration_api_ms``, ``total_cost_usd``, ``stop_reason``, ``terminal_reason``,
    ``api_error_status``, ``errors``; ``null`` without one. ``is_error`` says whether the
    turn failed: the CLI writes ``subtype: "success"`` for a turn that died on an API error.
``stream_error``
    How the stream failed (a CLI's non-zero exit, an unreadable input), else ``null``.
``claude``
    The Claude-level metrics (:class:`~rxclaude.handlers.ClaudeMetrics`), under the names
    ``run --prometheus`` exports without its ``rxclaude_`` prefix (and counters' ``_total``):
    ``{family: {"type", "help", "samples"}}`` as ``ClaudeFigures.to_dict()`` writes it;
    without ``claude_tool_duration_seconds`` when the stream was not ``live``. ``null`` for
    session transcripts.
``redis``
    ``null`` unless the stream went to or came from Redis (:mod:`~rxclaude.command.fleet`):
    for ``run --to-redis``, ``to`` (the URL, password redacted), ``key``, ``written``,
    ``failed``, ``dropped``, ``discarded``, ``batches``, ``retries``, ``blocked_s``; for
    ``stats --from-redis``, ``from``, ``keys``, ``group``, ``consumer``, ``read``
    (entries), ``redelivered``, ``duplicates`` (dropped by ``dedupe``), ``lost``, ``reads``,
    ``retries`` and ``hosts``: host → ``{"messages", "sessions", "turns", "errors",
    "cost_usd"}``.
``transcripts``
    ``null`` for stream-json. For session transcripts (:mod:`~rxclaude.command.stats_transcripts`
    has its keys), whose ``tokens`` count each API response once, ``cost_usd`` comes from
    their ``cost-state`` lines or ``costUSD``, and tool durations from the entries'
    timestamps.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple

from rich.console import Console
from rich.table import Table

from rxclaude.command import stats_transcripts
from rxclaude.command.format import dollars, milliseconds, outcome, plural, safe_json, styled
from rxclaude.command.session import NO_TYPE, Session
from rxclaude.messages.fields import get_int
from rxclaude.sources import SpoolStatistics

Document = dict[str, Any]


def collect(
    session: Session,
    source: str,
    stream_error: Exception | None = None,
    *,
    spool: SpoolStatistics | None = None,
    live: bool = True,
    by: str | None = None,
    since: datetime | None = None,
) -> Document:
    """The figures of ``session``'s stream so far, as the JSON document described above;
    ``spool``: the source's spool, if it had one; ``live``: whether the stream arrived
    live rather than read from a recording; ``by`` and ``since``: for transcripts, the
    grouping asked for and the time they were read from."""
    transcripts = session.usage is not None
    handlers = session.handlers
    snapshot = session.metrics.snapshot()
    buffer = session.pipeline.backpressure.statistics()
    usage = handlers.metadata.usage
    last = handlers.complete.last
    return {
        "source": source,
        "live": live,
        "messages": {
            "total": snapshot.messages_received,
            "bytes": snapshot.bytes_processed,
            "by_type": dict(sorted(snapshot.by_type.items())),
            "by_kind": {kind.value: count for kind, count in snapshot.by_kind.items()},
            "system_subtypes": dict(sorted(handlers.system.counts.items())),
        },
        "tools": stats_transcripts.tools(session) if transcripts else _tools(session, live),
        "tokens": stats_transcripts.tokens(session)
        if transcripts
        else {
            "input": usage.get("input_tokens", 0),
            "output": usage.get("output_tokens", 0),
            "cache_read": usage.get("cache_read_input_tokens", 0),
            "cache_creation": usage.get("cache_creation_input_tokens", 0),
        },
        "cost_usd": stats_transcripts.cost(session)
        if transcripts
        else handlers.metadata.cost_usd
        if handlers.metadata.cost_by_session
        else None,
        "errors": {
            "total": handlers.error.count,
            "by_source": dict(sorted(handlers.error.by_source.items())),
        },
        "parse_errors": {
            "count": snapshot.parse_errors,
            "items": [
                {
                    "offset": error.offset,
                    "nbytes": error.nbytes,
                    "reason": error.reason,
                    "detail": error.detail,
                }
                for error in session.parse_errors
            ],
        },
        "throughput": {
            "elapsed_s": snapshot.elapsed,
            "messages_per_s": snapshot.messages_per_second,
            "bytes_per_s": snapshot.bytes_per_second,
        },
        "latency_ms": {
            "p50": _ms(snapshot.latency_p50),
            "p90": _ms(snapshot.latency_p90),
            "p99": _ms(snapshot.latency_p99),
            "max": _ms(snapshot.latency_max),
            "samples": snapshot.latency.count,
        },
        "backpressure": {
            "policy": session.policy.value,
            "capacity": buffer.capacity,
            "peak_size": buffer.peak_size,
            "produced": buffer.produced,
            "delivered": buffer.delivered,
            "dropped": buffer.dropped,
            "blocked_s": buffer.blocked_time,
        },
        "spool": None
        if spool is None
        else {
            "received_bytes": spool.received_bytes,
            "delivered_bytes": spool.delivered_bytes,
            "discarded_bytes": spool.discarded_bytes,
            "peak_bytes": spool.peak_bytes,
            "peak_memory_bytes": spool.peak_memory_bytes,
            "peak_disk_bytes": spool.peak_disk_bytes,
            "spilled_bytes": spool.spilled_bytes,
        },
        "result": None
        if last is None
        else {
            "subtype": last.subtype,
            "is_error": last.is_error,
            "num_turns": last.num_turns,
            "duration_ms": last.duration_ms,
            "duration_api_ms": last.duration_api_ms,
            "total_cost_usd": last.total_cost_usd,
            "stop_reason": last.stop_reason,
            "terminal_reason": last.terminal_reason,
            "api_error_status": get_int(last.raw, "api_error_status"),
            "errors": last.errors,
        },
        "stream_error": None if stream_error is None else str(stream_error),
        "claude": None if transcripts else _claude(session, live),
        "redis": None,
        "transcripts": stats_transcripts.figures(session, by, since) if transcripts else None,
    }


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else seconds * 1000


def _claude(session: Session, live: bool) -> Document:
    figures = session.claude.figures().to_dict()
    if not live:  # the arrival times of a recording's frames are reading times
        del figures["claude_tool_duration_seconds"]
    return figures


def _models(claude: Document) -> str | None:
    """``model N responses · …`` from the Claude figures, or None without responses."""
    samples = claude["claude_responses"]["samples"]
    shown = [f"{s['labels']['model']} {plural(int(s['value']), 'response')}" for s in samples]
    return " · ".join(shown) or None


def _tools(session: Session, live: bool) -> Document:
    tool_use = session.handlers.tool_use
    calls = tool_use.calls
    by_name: Document = {}
    for name, started in sorted(tool_use.by_name.items()):
        finished = [call for call in calls if call.name == name and call.finished]
        durations = [
            call.duration.total_seconds() * 1000
            for call in finished
            if call.duration is not None and live
        ]
        by_name[name] = {
            "calls": started,
            "errors": sum(1 for call in finished if call.is_error),
            "finished": len(finished),
            "duration_ms": {
                "total": sum(durations) if durations else None,
                "mean": sum(durations) / len(durations) if durations else None,
                "max": max(durations, default=None),
            },
        }
    return {
        "calls": tool_use.count,
        "errors": tool_use.error_count,
        "unpaired_results": tool_use.unpaired_results,
        "running": len(tool_use.running),
        "unanswered": tool_use.unanswered_calls,
        "by_name": by_name,
    }


def to_json(document: Document | list[Document]) -> str:
    """The document (or documents) as indented JSON, with nothing a terminal would act on
    left raw."""
    return safe_json(json.dumps(document, indent=2, ensure_ascii=False))


def _total(total: int, counts: dict[str, int]) -> str:
    return f"{total} · {_counts(counts)}" if total else "0"


def _counts(counts: dict[str, int]) -> str:
    present = sorted((item for item in counts.items() if item[1]), key=lambda i: (-i[1], i[0]))
    return " · ".join(f"{key or NO_TYPE} {n}" for key, n in present) or "none"


class Row(NamedTuple):
    """One line of the human-readable figures."""

    label: str
    value: str
    alert: bool = False
    """Whether the line reports something that went wrong."""


def rows(document: Document) -> list[Row]:
    """The document as (label, value) lines for people."""
    messages, tools, tokens = document["messages"], document["tools"], document["tokens"]
    throughput, latency = document["throughput"], document["latency_ms"]
    errors, parse_errors = document["errors"], document["parse_errors"]
    buffer = document["backpressure"]
    live = document["live"]
    transcripts = document["transcripts"]
    lines = [Row("source", document["source"])]
    if transcripts is not None:
        lines.append(Row("transcripts", stats_transcripts.summary(transcripts)))
    lines += [
        Row(
            "messages",
            f"{messages['total']:,} · {messages['bytes']:,} bytes · "
            f"{'' if live else 'read in '}{throughput['elapsed_s']:.3f} s",
        ),
        Row("by type", _counts(messages["by_type"])),
        Row("by kind", _counts(messages["by_kind"])),
    ]
    if messages["system_subtypes"]:
        lines.append(Row("system", _counts(messages["system_subtypes"])))
    lines.append(Row("tool calls", f"{tools['calls']} · {tools['errors']} failed"))
    for name, tool in tools["by_name"].items():
        duration = tool["duration_ms"]
        timing = (
            f" · {milliseconds(duration['total'])} total · max {milliseconds(duration['max'])}"
            if duration["total"] is not None
            else ""
        )
        lines.append(
            Row(
                f"  {name}",
                f"{plural(tool['calls'], 'call')} · {tool['errors']} failed{timing}",
                tool["errors"] > 0,
            )
        )
    lines += [
        Row(
            "tokens",
            f"{tokens['input']:,} in · {tokens['output']:,} out · "
            f"{tokens['cache_read']:,} cache read · {tokens['cache_creation']:,} cache write",
        ),
        *(
            [Row("responses", stats_transcripts.responses(transcripts))]
            if transcripts is not None
            else []
        ),
        Row("cost", dollars(document["cost_usd"])),
        *(
            [Row("models", models)]
            if document["claude"] is not None and (models := _models(document["claude"]))
            else []
        ),
        Row("errors", _total(errors["total"], errors["by_source"]), errors["total"] > 0),
        Row("parse errors", str(parse_errors["count"]), parse_errors["count"] > 0),
    ]
    lines += [
        Row(f"  at byte {item['offset']}", f"{item['reason']}: {item['detail']}", alert=True)
        for item in parse_errors["items"]
    ]
    more = parse_errors["count"] - len(parse_errors["items"])
    if more > 0:
        lines.append(Row("  …", f"{more:,} more", alert=True))
    lines += [
        Row(
            "throughput" if live else "read speed",
            f"{throughput['messages_per_s']:,.0f} msg/s · "
            f"{throughput['bytes_per_s'] / 1e6:,.2f} MB/s",
        ),
        Row("latency", _latency(latency)),
        Row(
            "buffer",
            f"{buffer['policy']} · peak {buffer['peak_size']}/{buffer['capacity']} · "
            f"{buffer['dropped']} dropped · blocked {buffer['blocked_s']:.3f} s",
            buffer["dropped"] > 0,
        ),
    ]
    spool = document["spool"]
    if spool is not None:
        lines.append(
            Row(
                "spool",
                f"{spool['received_bytes']:,} bytes kept · peak {spool['peak_bytes']:,} "
                f"({spool['peak_memory_bytes']:,} in memory, "
                f"{spool['peak_disk_bytes']:,} on disk)",
            )
        )
    result = document["result"]
    if result is not None:
        ended = outcome(
            result["is_error"],
            result["subtype"],
            result["terminal_reason"],
            result["api_error_status"],
        )
        lines.append(
            Row(
                "result",
                f"{ended} · {plural(result['num_turns'], 'turn')} · "
                f"{milliseconds(result['duration_ms'])} "
                f"(API {milliseconds(result['duration_api_ms'])})",
                result["is_error"],
            )
        )
    if document["stream_error"] is not None:
        lines.append(Row("stream error", document["stream_error"], alert=True))
    return lines


def _latency(latency: Document) -> str:
    if not latency["samples"]:
        return "none sampled"
    return " · ".join(f"{name} {latency[name]:.2f} ms" for name in ("p50", "p90", "p99", "max"))


def render(console: Console, document: Document, more: Sequence[Row] = ()) -> None:
    """Print the figures and the ``more`` rows: a table on a terminal, aligned plain text
    elsewhere; then the transcripts' ``--by`` table, if any."""
    lines = [*rows(document), *more]
    transcripts = document["transcripts"]
    groups = None if transcripts is None else stats_transcripts.group_table(transcripts)
    if not console.is_terminal:
        width = max(len(row.label) for row in lines)
        for row in lines:
            console.print(styled(f"{row.label:<{width}}  {row.value}"))
        if groups is not None:
            _plain_table(console, *groups)
        return
    table = Table(title="rxclaude stats", title_justify="left", show_header=False, box=None)
    table.add_column(style="bold cyan", no_wrap=True)
    table.add_column()
    for row in lines:
        table.add_row(styled(row.label), styled(row.value, "red" if row.alert else ""))
    console.print(table)
    if groups is not None:
        title, cells = groups
        by_table = Table(title=title, title_justify="left", box=None)
        by_table.add_column(title.removeprefix("by "), style="bold cyan")
        for column in stats_transcripts.GROUP_COLUMNS:
            by_table.add_column(column, justify="right")
        for cell_row in cells:
            by_table.add_row(*(styled(cell) for cell in cell_row))
        console.print(by_table)


def _plain_table(console: Console, title: str, cells: list[list[str]]) -> None:
    """A table as aligned plain lines: the key on the left, the figures on the right."""
    header = [title.removeprefix("by "), *stats_transcripts.GROUP_COLUMNS]
    widths = [max(len(row[column]) for row in [header, *cells]) for column in range(len(header))]
    console.print()
    for row in [header, *cells]:
        key, *figures = row
        aligned = (f"{figure:>{width}}" for figure, width in zip(figures, widths[1:], strict=True))
        line = "  ".join([f"{key:<{widths[0]}}", *aligned])
        console.print(styled(line))
