"""``live(messages)``: a notebook display that follows a running pipeline.

It shows the assistant's text as it streams, the tool calls (running, done, failed, with
their durations) and a small dashboard (messages, throughput, latency percentiles, buffer
fill, drops, cost), in ipywidgets with a Stop button that disposes the subscription.

Design decisions:

* **Nothing blocks the kernel.** ``live`` subscribes and returns at once: the messages are
  subscribed on ``scheduler`` (by default a ``NewThreadScheduler``, so a source that reads
  in a loop reads on its own thread), and the display is refreshed by
  ``StreamMetrics.observe(interval)`` on its own timer.
* **A bounded refresh rate.** Messages only update the state (under a lock); the widgets
  are redrawn on the ``interval`` ticks when something changed, and once more when the
  stream ends or is stopped, so a fast stream costs one redraw per ``interval``.
* **States, then widgets.** Each redraw renders a frozen :class:`LiveState` (kept in
  ``states``, the last :data:`KEEP_STATES`), so a test drives ``live`` with a
  ``TestScheduler`` and reads the sequence of states; the widgets only show them.
* Text: from ``text_delta`` events when the stream has partial messages, else from the
  ``assistant`` frames (never both: after the first delta, frames' text is not added).
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Any

from reactivex import Observable, abc
from reactivex.disposable import CompositeDisposable, SerialDisposable
from reactivex.scheduler import NewThreadScheduler

from rxclaude.handlers import ClaudeMetrics
from rxclaude.messages import AssistantMessage, Message, StreamEventMessage, UserMessage
from rxclaude.metrics import MetricsSnapshot, StreamMetrics, measure
from rxclaude.notebook.render import render_widgets
from rxclaude.notebook.state import LiveState, ToolRow
from rxclaude.pipeline import StreamHandler, StreamSource

__all__ = ["KEEP_STATES", "LiveDisplay", "LiveState", "ToolRow", "live"]

KEEP_STATES = 1000
"""How many rendered states ``LiveDisplay.states`` keeps (the most recent)."""


class LiveDisplay:
    """A running :func:`live` display: ``stop()`` it, read ``states``, show ``widget``."""

    def __init__(self, metrics: StreamMetrics, max_chars: int, keep_tools: int) -> None:
        self.metrics = metrics
        self.claude = ClaudeMetrics()
        self.states: deque[LiveState] = deque(maxlen=KEEP_STATES)
        self.done = threading.Event()
        """Set once the stream has ended or the display was stopped, and the last state is
        drawn."""
        self._ended = False
        self._max_chars, self._keep_tools = max_chars, keep_tools
        self._lock = threading.Lock()
        self._text: list[str] = []
        self._streamed = False
        self._tools: dict[str, ToolRow] = {}
        self._starts: dict[str, Any] = {}
        self._messages = 0
        self._changed = True
        self._status = "running"
        self._subscription = CompositeDisposable()
        self._ticks = SerialDisposable()
        self.widget, self._views = render_widgets(self.stop)
        self.button = self._views.button
        """The Stop button (None without ipywidgets)."""

    def stop(self) -> None:
        """Dispose the subscription (and the refresh timer), then draw the last state."""
        self._finish("stopped")
        self._subscription.dispose()

    @property
    def html(self) -> str:
        """The last state drawn, as HTML."""
        return self._views.html

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        """The widget in a notebook; the last state's HTML without ipywidgets."""
        if self.widget is not None:
            return self.widget._repr_mimebundle_(**kwargs)
        return {"text/html": self.html}

    def _on_next(self, message: Message) -> None:
        self.claude.handle(message)
        with self._lock:
            self._messages += 1
            self._changed = True
            if isinstance(message, StreamEventMessage) and message.delta_type == "text_delta":
                self._streamed = True
                self._add_text(str((message.delta or {}).get("text", "")))
            elif isinstance(message, AssistantMessage):
                if not self._streamed:
                    self._add_text(message.text)
                for call in message.tool_uses:
                    self._start_tool(call.id or "", call.name or "?", message)
            elif isinstance(message, UserMessage):
                for result in message.tool_results:
                    self._end_tool(result.tool_use_id or "", result.is_error, message)

    def _add_text(self, text: str) -> None:
        self._text.append(text)
        if len(self._text) > 64:
            self._text = ["".join(self._text)[-self._max_chars :]]

    def _start_tool(self, call_id: str, name: str, message: Message) -> None:
        self._tools[call_id] = ToolRow(call_id, name, "running")
        self._starts[call_id] = message.received_at
        while len(self._tools) > self._keep_tools:
            self._starts.pop(next(iter(self._tools)), None)
            del self._tools[next(iter(self._tools))]

    def _end_tool(self, call_id: str, failed: bool, message: Message) -> None:
        started = self._starts.pop(call_id, None)
        row = self._tools.get(call_id)
        if row is not None and started is not None:
            seconds = max((message.received_at - started).total_seconds(), 0.0)
            self._tools[call_id] = ToolRow(
                call_id, row.name, "error" if failed else "done", seconds
            )

    def _tick(self, snapshot: MetricsSnapshot) -> None:
        self._draw(snapshot, final=False)

    def _finish(self, status: str) -> None:
        with self._lock:
            if self._ended:
                return
            self._status, self._ended = status, True
        self._ticks.dispose()
        self._draw(self.metrics.snapshot(), final=True)
        self.done.set()

    def _draw(self, snapshot: MetricsSnapshot, *, final: bool) -> None:
        """Draw the state; a tick draws only when something changed and never after the
        end (``_ended`` is set under the lock before the final state is drawn)."""
        with self._lock:
            if not final:
                if not self._changed or self._ended:
                    return
                self._changed = False
            state = LiveState(
                status=self._status,
                messages=self._messages,
                text="".join(self._text)[-self._max_chars :],
                tools=tuple(self._tools.values()),
                cost_usd=self.claude.figures().cost_usd,
                snapshot=snapshot,
            )
            self.states.append(state)
            self._views.show(state)


def live(
    messages: Observable[Message] | StreamHandler,
    *,
    source: StreamSource | None = None,
    metrics: StreamMetrics | None = None,
    interval: float = 0.5,
    scheduler: abc.SchedulerBase | None = None,
    max_chars: int = 20_000,
    keep_tools: int = 50,
) -> LiveDisplay:
    """Subscribe to ``messages`` and show them live; returns at once (display the result).

    .. code-block:: text

        messages: -a--d--d--t--r--|
        ticks:    -----s-----s-----s      (metrics.observe(interval), while running)
        states:        S1    S2   S3(completed)

    Args:
        messages: the pipeline's output, e.g. ``from_cli(args).pipe(parse_json_frames(),
            ...)``; or a :class:`~rxclaude.pipeline.StreamHandler`, whose stream of
            ``source`` is shown with its metrics.
        source: what the ``StreamHandler`` streams (a path, a command, bytes, a reader).
        metrics: the pipeline's :class:`StreamMetrics` (its dashboard figures); None
            measures ``messages`` with a new one on ``scheduler``.
        interval: seconds between redraws at most.
        scheduler: subscribes and ticks on it (a ``NewThreadScheduler`` and the metrics'
            own timer if None); a ``TestScheduler`` makes it run in virtual time.
        max_chars: the assistant text shown, its last characters.
        keep_tools: the tool calls shown, the latest.
    """
    if isinstance(messages, StreamHandler):
        if source is None:
            raise TypeError("live(StreamHandler) needs source=: what the pipeline streams")
        handler = messages
        messages, metrics = handler.stream(source), handler.metrics
    if metrics is None:
        metrics = StreamMetrics(scheduler=scheduler)
        messages = messages.pipe(measure(metrics))
    display = LiveDisplay(metrics, max_chars, keep_tools)
    display._ticks.disposable = metrics.observe(interval, scheduler).subscribe(
        display._tick, scheduler=scheduler
    )

    def on_error(error: Exception) -> None:
        display._finish(f"failed: {type(error).__name__}: {error}")

    subscription = messages.subscribe(
        display._on_next,
        on_error,
        lambda: display._finish("completed"),
        scheduler=scheduler or NewThreadScheduler(),
    )
    display._subscription.add(subscription)
    display._subscription.add(display._ticks)
    return display
