"""pandas views: one row per message, one row per metrics snapshot (the ``notebooks`` extra).

``pandas`` is imported when a frame is made, never by ``import rxclaude.notebook``.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from typing import Any

from rxclaude.messages import (
    AssistantMessage,
    Message,
    ParseError,
    ResultMessage,
    StreamEventMessage,
    UserMessage,
    kinds_of,
)
from rxclaude.messages.display import readable
from rxclaude.metrics import MetricsSnapshot

__all__ = ["MESSAGE_COLUMNS", "snapshots_to_dataframe", "to_dataframe"]

MESSAGE_COLUMNS = (
    "offset", "nbytes", "received_at", "type", "subtype", "kinds", "session_id", "model",
    "input_tokens", "output_tokens", "cost_usd", "tool_names", "is_error", "text",
)  # fmt: skip
"""The columns of :func:`to_dataframe`, in order."""

TEXT_CHARS = 200
"""How much readable content the ``text`` column keeps."""


def _pandas() -> Any:
    try:
        return importlib.import_module("pandas")
    except ImportError as error:
        raise ImportError("DataFrames need pandas: pip install 'rxclaude[notebooks]'") from error


def to_dataframe(messages: Iterable[Message]) -> Any:
    """A ``pandas.DataFrame`` of one row per message (:data:`MESSAGE_COLUMNS`).

    ``kinds`` is the sorted kind names joined by ``,``; ``input_tokens``/``output_tokens``
    are the usage of an ``assistant`` frame or a ``result`` (missing elsewhere);
    ``cost_usd`` a result's ``total_cost_usd``; ``tool_names`` the tools an ``assistant``
    frame calls; ``is_error`` a failed result, an API-error message, a failed tool result
    or a parse error; ``text`` the readable content, cut to :data:`TEXT_CHARS`.
    """
    rows = [_row(message) for message in messages]
    return _pandas().DataFrame(rows, columns=list(MESSAGE_COLUMNS))


def snapshots_to_dataframe(snapshots: Iterable[MetricsSnapshot]) -> Any:
    """A ``pandas.DataFrame``, one row per snapshot (:meth:`MetricsSnapshot.to_dict`),
    indexed by ``elapsed``: the time series of ``metrics.observe(interval)`` collected with
    ``ops.to_list()``."""
    frame = _pandas().DataFrame([snapshot.to_dict() for snapshot in snapshots])
    return frame.set_index("elapsed") if "elapsed" in frame else frame


def _row(message: Message) -> dict[str, Any]:
    usage: dict[str, Any] = {}
    row: dict[str, Any] = {
        "offset": message.offset,
        "nbytes": message.nbytes,
        "received_at": message.received_at,
        "type": message.type,
        "subtype": message.subtype,
        "kinds": ",".join(sorted(kind.value for kind in kinds_of(message))),
        "session_id": message.session_id,
        "is_error": isinstance(message, ParseError),
    }
    if isinstance(message, AssistantMessage):
        usage = message.usage
        row["model"] = message.model
        row["tool_names"] = ",".join(block.name or "" for block in message.tool_uses) or None
        row["is_error"] = message.is_api_error
    elif isinstance(message, ResultMessage):
        usage = message.usage
        row["cost_usd"] = message.total_cost_usd
        row["is_error"] = message.is_error
    elif isinstance(message, UserMessage):
        row["is_error"] = any(result.is_error for result in message.tool_results)
    elif isinstance(message, StreamEventMessage):
        row["subtype"] = message.event_type
    for column in ("input_tokens", "output_tokens"):
        value = usage.get(column)
        row[column] = value if isinstance(value, int) and not isinstance(value, bool) else None
    text = " ".join(value for _, value in readable(message) if value)
    row["text"] = text[:TEXT_CHARS]
    return row
