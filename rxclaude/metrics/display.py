"""A :class:`~rxclaude.metrics.MetricsSnapshot` as plain data and as a notebook table.

:func:`snapshot_dict` flattens a snapshot into one level of ``name: number`` (``by_type.*``,
``by_kind.*``, ``backpressure_events_by_kind.*``, ``latency.count``/``latency.sum``), the
row a DataFrame of snapshots is made of; :func:`snapshot_html` shows the figures grouped,
and :func:`snapshot_rich` as a rich table (frame types are stream text: shown safely).
Read through the snapshot's attributes only (the snapshot module imports this one).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from enum import Enum
from typing import TYPE_CHECKING, Any

from rxclaude import _html

if TYPE_CHECKING:
    from rich.table import Table

__all__ = ["snapshot_dict", "snapshot_html", "snapshot_rich"]

_GROUPS = [
    ("Throughput", ("elapsed", "streams_active", "messages_received", "bytes_processed",
                    "messages_per_second", "bytes_per_second", "window",
                    "window_messages_per_second", "window_bytes_per_second")),
    ("Latency (s)", ("latency_p50", "latency_p90", "latency_p99", "latency_max",
                     "avg_processing_time", "latency.count")),
    ("Errors", ("parse_errors", "handler_errors", "error_rate", "backpressure_events")),
    ("Buffer", ("buffer_size", "buffer_capacity", "buffer_utilisation",
                "buffer_peak_utilisation")),
    ("Spool (bytes)", ("spool_memory_bytes", "spool_disk_bytes", "spool_peak_bytes",
                       "spool_spilled_bytes")),
]  # fmt: skip
"""The sections of the HTML table and the flat names in each."""


def snapshot_dict(snapshot: Any) -> dict[str, float | int | None]:
    """Every figure of ``snapshot`` under a flat name (mappings as ``field.key``)."""
    flat: dict[str, float | int | None] = {}
    for field in dataclasses.fields(snapshot):
        value = getattr(snapshot, field.name)
        if isinstance(value, Mapping):
            for key, count in value.items():
                flat[f"{field.name}.{key.value if isinstance(key, Enum) else key}"] = count
        elif field.name == "latency":
            flat["latency.count"] = value.count
            flat["latency.sum"] = value.total
        else:
            flat[field.name] = value
    return flat


def snapshot_html(snapshot: Any) -> str:
    """The snapshot's figures in sections, then messages per type and per kind."""
    flat = snapshot_dict(snapshot)
    sections = [
        _html.titled(title, _html.table((name, _html.figure(flat.get(name))) for name in names))
        for title, names in _GROUPS
    ]
    for title, prefix in (("By type", "by_type."), ("By kind", "by_kind.")):
        rows = [(name.removeprefix(prefix), count) for name, count in flat.items()
                if name.startswith(prefix) and count]  # fmt: skip
        sections.append(_html.titled(title, _html.table(rows)))
    cells = "".join(f'<div style="margin-right:16px">{section}</div>' for section in sections)
    return _html.titled(
        "MetricsSnapshot", f'<div style="display:flex;flex-wrap:wrap">{cells}</div>'
    )


def snapshot_rich(snapshot: Any) -> Table:
    """The snapshot's figures in their groups, then the types and kinds seen."""
    from rich.table import Table  # noqa: PLC0415 -- only when shown: rich is slow to import
    from rich.text import Text  # noqa: PLC0415

    flat = snapshot_dict(snapshot)
    table = Table(title="MetricsSnapshot", show_header=False, box=None)
    for title, names in _GROUPS:
        table.add_section()
        table.add_row(Text(title, style="bold"), Text(""))
        for name in names:
            table.add_row(Text(name), Text(_html.visible(_plain_figure(flat.get(name)))))
    for title, prefix in (("By type", "by_type."), ("By kind", "by_kind.")):
        table.add_section()
        table.add_row(Text(title, style="bold"), Text(""))
        for name, count in flat.items():
            if name.startswith(prefix) and count:
                table.add_row(Text(_html.visible(name.removeprefix(prefix))), Text(str(count)))
    return table


def _plain_figure(value: float | int | None) -> str:
    if value is None:
        return "none"
    return f"{value:,.6g}" if isinstance(value, float) else f"{value:,}"
