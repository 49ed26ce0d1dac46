"""The figures of ``rxclaude stats`` over session transcripts.

Transcripts carry what a stream-json recording does not: every ``assistant`` entry has
its response's ``usage`` (repeated on each entry of one response: counted once, by
``message.id`` and ``requestId``), ``cost-state`` lines or ``costUSD`` hold the cost, and
every entry has a timestamp, so a tool call's time runs from its ``tool_use`` entry to
its ``tool_result`` entry. These figures come from
:class:`~rxclaude.handlers.transcripts.TranscriptUsageHandler` and
:class:`~rxclaude.handlers.transcripts_tools.TranscriptToolHandler`; the document's
``transcripts`` key adds:

``files``, ``sessions``, ``projects``
    How many transcript files were read, sessions seen (their ``sessionId``) and project
    folders.
``responses``, ``repeated_entries``
    API responses counted, and entries not counted again (another entry of a response
    already counted).
``since``
    The ``--since`` time (ISO 8601), else ``null``.
``by``
    With ``--by day|session|project``: ``{"day": {KEY: TOTALS}}``, KEY a day
    (``YYYY-MM-DD`` in the local time zone), a session id or a project folder's name
    (``""`` for none), TOTALS ``{"responses", "input", "output", "cache_read",
    "cache_creation", "cost_usd"}``; else ``null``.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from rxclaude.command.format import dollars
from rxclaude.command.session import Session
from rxclaude.handlers.transcripts import TranscriptUsageHandler, UsageTotals
from rxclaude.handlers.transcripts_tools import TranscriptToolHandler

Document = dict[str, Any]

GROUPINGS = ("day", "session", "project")
"""What ``--by`` takes."""

GROUP_COLUMNS = ("responses", "input", "output", "cache read", "cache write", "cost")
"""The columns of a ``--by`` table, after the key."""

NONE_KEY = "(none)"
"""What the table shows for a session or project that has no name."""


def _handlers(session: Session) -> tuple[TranscriptUsageHandler, TranscriptToolHandler]:
    if session.usage is None or session.tool_time is None:
        raise ValueError("the session was not made for transcripts")
    return session.usage, session.tool_time


def tokens(session: Session) -> Document:
    """The document's ``tokens``: each response once."""
    return _tokens(_handlers(session)[0].total)


def _tokens(total: UsageTotals) -> Document:
    return {
        "input": total.input_tokens,
        "output": total.output_tokens,
        "cache_read": total.cache_read_input_tokens,
        "cache_creation": total.cache_creation_input_tokens,
    }


def cost(session: Session) -> float | None:
    """The document's ``cost_usd``: from ``cost-state`` lines, else ``costUSD``."""
    return _handlers(session)[0].total.cost_usd


def _ms(duration: timedelta | None) -> float | None:
    return None if duration is None else duration.total_seconds() * 1000


def tools(session: Session) -> Document:
    """The document's ``tools``, timed by the entries' timestamps (``unanswered`` is
    ``null``: a transcript has no turn's end to give calls up at; ``running`` counts the
    calls without a result)."""
    _usage, tool_time = _handlers(session)
    by_name: Document = {}
    for name, figures in sorted(tool_time.by_name.items()):
        timed = figures.answered > 0
        by_name[name] = {
            "calls": figures.calls,
            "errors": figures.errors,
            "finished": figures.answered,
            "duration_ms": {
                "total": _ms(figures.total) if timed else None,
                "mean": _ms(figures.mean),
                "max": _ms(figures.longest) if timed else None,
            },
        }
    calls = sum(tool["calls"] for tool in by_name.values())
    return {
        "calls": calls,
        "errors": sum(tool["errors"] for tool in by_name.values()),
        "unpaired_results": tool_time.unpaired_results,
        "running": calls - sum(tool["finished"] for tool in by_name.values()),
        "unanswered": None,
        "by_name": by_name,
    }


def figures(session: Session, by: str | None, since: datetime | None) -> Document:
    """The document's ``transcripts``."""
    usage, _tool_time = _handlers(session)
    total = usage.total
    groups: Document | None = None
    if by is not None:
        totals: dict[Any, UsageTotals] = getattr(usage, f"by_{by}")
        groups = {by: {_key(key): _group(value) for key, value in _sorted(totals)}}
    return {
        "files": len(session.files),
        "sessions": len(session.sessions),
        "projects": len({file.project for file in session.files}),
        "responses": total.responses,
        "repeated_entries": usage.repeats,
        "since": None if since is None else since.isoformat(),
        "by": groups,
    }


def _sorted(totals: dict[Any, UsageTotals]) -> list[tuple[Any, UsageTotals]]:
    return sorted(totals.items(), key=lambda item: (item[0] is not None, str(item[0] or "")))


def _key(key: date | str | None) -> str:
    return "" if key is None else key.isoformat() if isinstance(key, date) else key


def _group(total: UsageTotals) -> Document:
    return {"responses": total.responses, **_tokens(total), "cost_usd": total.cost_usd}


def summary(transcripts: Document) -> str:
    """``4 files · 3 sessions · 1 project``."""
    return " · ".join(
        _count(transcripts[name], noun)
        for name, noun in (("files", "file"), ("sessions", "session"), ("projects", "project"))
    )


def responses(transcripts: Document) -> str:
    """``9 · 14 repeated entries counted once``."""
    repeated = transcripts["repeated_entries"]
    return f"{transcripts['responses']:,} · {repeated:,} repeated entries counted once"


def _count(count: int, noun: str) -> str:
    return f"{count:,} {noun}" + ("" if count == 1 else "s")


def group_table(transcripts: Document) -> tuple[str, list[list[str]]] | None:
    """The ``--by`` table: its title (``by day``) and rows (key first, then
    :data:`GROUP_COLUMNS`), or ``None`` without ``--by``."""
    groups = transcripts["by"]
    if not groups:
        return None
    (by, rows), *_ = groups.items()
    lines = [
        [
            key or NONE_KEY,
            f"{row['responses']:,}",
            f"{row['input']:,}",
            f"{row['output']:,}",
            f"{row['cache_read']:,}",
            f"{row['cache_creation']:,}",
            dollars(row["cost_usd"]),
        ]
        for key, row in rows.items()
    ]
    return f"by {by}", lines


__all__ = [
    "GROUPINGS",
    "GROUP_COLUMNS",
    "NONE_KEY",
    "cost",
    "figures",
    "group_table",
    "responses",
    "summary",
    "tokens",
    "tools",
]
