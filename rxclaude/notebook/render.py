"""How :func:`~rxclaude.notebook.live` draws a state: HTML parts, and the ipywidgets holding
them (a status line with the Stop button, the text, the tool calls, the dashboard).

Without ipywidgets the display keeps the HTML only (``LiveDisplay.widget`` is None).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from rxclaude import _html
from rxclaude.notebook.state import LiveState

__all__ = ["Views", "dashboard_html", "render_widgets", "state_html", "tools_html"]

TEXT_STYLE = "max-height:16em;overflow:auto;border:1px solid #ddd;padding:4px"


def tools_html(state: LiveState) -> str:
    """The tool calls: name, status, seconds."""
    rows = [(row.name, row.status, _fixed(row.seconds, 3)) for row in state.tools]
    return _html.table(rows, ("tool", "status", "seconds")) if rows else ""


def dashboard_html(state: LiveState) -> str:
    """Messages, throughput, latency percentiles (ms), buffer fill, drops and cost."""
    snapshot = state.snapshot
    rows: list[tuple[str, str]] = [
        ("messages", str(state.messages)),
        ("cost (USD)", f"{state.cost_usd:.6f}"),
    ]
    if snapshot is not None:
        dropped = sum(n for kind, n in snapshot.backpressure_events_by_kind.items()
                      if kind.value == "dropped")  # fmt: skip
        rows += [
            ("messages/s (window)", _fixed(snapshot.window_messages_per_second, 0)),
            *((f"latency p{q} (ms)", _fixed(None if value is None else value * 1000, 3))
              for q, value in ((50, snapshot.latency_p50), (90, snapshot.latency_p90),
                               (99, snapshot.latency_p99))),
            ("buffer fill", f"{snapshot.buffer_size}/{snapshot.buffer_capacity}"),
            ("dropped", str(dropped)),
            ("parse errors", str(snapshot.parse_errors)),
        ]  # fmt: skip
    return _html.table(rows)


def _fixed(value: float | None, places: int) -> str:
    return "—" if value is None else f"{value:.{places}f}"


def state_html(state: LiveState) -> dict[str, str]:
    """The HTML of each part: ``status``, ``text``, ``tools``, ``dashboard``."""
    text = f'<div style="{TEXT_STYLE}">{_html.pre(state.text)}</div>'
    return {
        "status": f"<b>{_html.text(state.status)}</b>",
        "text": text,
        "tools": tools_html(state),
        "dashboard": dashboard_html(state),
    }


class Views:
    """Where states are shown: the widgets' HTML values, and ``html`` (all parts joined)."""

    def __init__(self, parts: dict[str, Any] | None, button: Any = None) -> None:
        self._parts = parts
        self.button = button
        """The Stop button (None without ipywidgets)."""
        self.html = ""

    def show(self, state: LiveState) -> None:
        parts = state_html(state)
        self.html = "".join(parts.values())
        if self._parts is not None:
            for name, markup in parts.items():
                self._parts[name].value = markup


def render_widgets(stop: Callable[[], None]) -> tuple[Any, Views]:
    """The display's widget (None without ipywidgets) and its :class:`Views`."""
    try:
        widgets = importlib.import_module("ipywidgets")
    except ImportError:
        return None, Views(None)
    parts = {name: widgets.HTML() for name in ("status", "text", "tools", "dashboard")}
    button = widgets.Button(description="Stop", button_style="warning")
    button.on_click(lambda _button: stop())
    body = widgets.HBox([parts["text"], widgets.VBox([parts["dashboard"], parts["tools"]])])
    return widgets.VBox([widgets.HBox([parts["status"], button]), body]), Views(parts, button)
