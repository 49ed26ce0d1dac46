"""The view of a stream as it arrives: the assistant's text, tool calls, results and errors.

:class:`Transcript` decides what to show for each message; an output decides how:

* :class:`PlainOutput` (stdout is not a terminal): plain lines, no escape codes, streamed
  text written as it comes.
* :class:`LiveOutput` (a terminal): colours, and a live region at the bottom holding the
  paragraph being streamed and an optional status line; finished lines scroll above it.

What is shown:

* The assistant's text once: from the ``text_delta`` events when the response was
  streamed (``--include-partial-messages``), else from the ``assistant`` frames. The
  ``assistant`` frame of a streamed response repeats the deltas, so its text is skipped;
  text the CLI withdraws or corrects (``Superseded`` items of
  :class:`~rxclaude.partials.PartialAssembler`) is flagged.
* Tool calls as ``name(input)``, their results as their first lines, with the duration
  :class:`~rxclaude.handlers.ToolUseHandler` paired; subagents' frames indented.
* Errors highlighted: failed tools, API errors, and every other record of
  :class:`~rxclaude.handlers.ErrorHandler` (parse errors with their byte offset, API
  retries, handler errors, control errors).
* A last line per ``result``: outcome, turns, duration, tokens and cost.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import nullcontext
from datetime import timedelta
from types import TracebackType
from typing import Any, Protocol

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.text import Text

from rxclaude.command.format import (
    STYLE_DONE,
    STYLE_ERROR,
    STYLE_NOTE,
    STYLE_RESULT,
    STYLE_THINKING,
    STYLE_TOOL,
    STYLE_WARNING,
    dollars,
    json_snippet,
    milliseconds,
    plural,
    shorten,
    styled,
)
from rxclaude.command.session import Session
from rxclaude.handlers import BuiltinHandlers, ToolCall
from rxclaude.messages import AssistantMessage, InitMessage, Message, ResultMessage, UserMessage
from rxclaude.messages.content import (
    ServerToolResultBlock,
    TextBlock,
    ThinkingBlock,
    ToolUseBlock,
)
from rxclaude.partials import BlockComplete, BlockUpdate, PartialAssembler, Superseded
from rxclaude.pipeline import StreamSource
from rxclaude.sources import CLIProcessError

RESULT_LINES = 3
"""Lines shown of a tool result."""

_INLINE_ERRORS = frozenset(("tool_result", "api_error", "result"))
"""Error sources the transcript shows in place (result line, API error, last line)."""


def tool_call(name: str | None, tool_input: dict[str, Any]) -> str:
    """``name(key=value, …)``, shortened."""
    arguments = ", ".join(f"{key}={json_snippet(value)}" for key, value in tool_input.items())
    return f"{name or '?'}({shorten(arguments)})"


def result_lines(text: str) -> list[str]:
    """The first ``RESULT_LINES`` non-blank lines of a result, each cut to ``SNIPPET``."""
    lines = [line for line in text.split("\n") if line.strip()] or [""]
    shown = [shorten(line) for line in lines[:RESULT_LINES]]
    if len(lines) > RESULT_LINES:
        shown.append(f"… +{len(lines) - RESULT_LINES} lines")
    return shown


def _figure(value: object) -> str:
    """A number of the stream as written; ``?`` for anything else."""
    return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else "?"


def _duration_ms(duration: timedelta | None) -> float | None:
    return None if duration is None else duration.total_seconds() * 1000


class Output(Protocol):
    """Where the transcript goes."""

    def text(self, piece: str) -> None:
        """Append streamed assistant text to the current paragraph."""

    def end_text(self) -> None:
        """End the current paragraph, if any."""

    def line(self, line: Text) -> None:
        """Print a whole line (ending the current paragraph first)."""


class PlainOutput:
    """Plain text, written as it comes: streamed text appears without waiting for a line."""

    def __init__(self, console: Console) -> None:
        self._console = console
        self._open = False

    def text(self, piece: str) -> None:
        if piece:
            self._console.print(styled(piece), end="")
            self._open = not piece.endswith("\n")

    def end_text(self) -> None:
        if self._open:
            self._console.print()
            self._open = False

    def line(self, line: Text) -> None:
        self.end_text()
        self._console.print(line)


class LiveOutput:
    """A terminal: finished lines scroll up, the live region shows what is in progress.

    The live region holds the tail of the paragraph being streamed and, when a
    ``status`` callable is given, the status line it returns; it is redrawn
    ``refresh_per_second`` times a second and removed when the output closes.
    """

    def __init__(
        self,
        console: Console,
        status: Callable[[], Text] | None = None,
        *,
        refresh_per_second: float = 12,
    ) -> None:
        self._console = console
        self._status = status
        self._lock = threading.Lock()
        self._paragraph = ""
        self._live = Live(
            console=console,
            get_renderable=self._render,
            refresh_per_second=refresh_per_second,
            transient=True,
            redirect_stdout=False,
            redirect_stderr=False,
        )

    def __enter__(self) -> LiveOutput:
        self._live.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.end_text()
        self._live.stop()

    def text(self, piece: str) -> None:
        with self._lock:
            self._paragraph += piece

    def end_text(self) -> None:
        with self._lock:
            paragraph, self._paragraph = self._paragraph, ""
        if paragraph.strip():
            self._console.print(styled(paragraph.rstrip("\n")))

    def line(self, line: Text) -> None:
        self.end_text()
        self._console.print(line)

    def _render(self) -> RenderableType:
        with self._lock:
            paragraph = self._paragraph
        parts: list[RenderableType] = []
        if paragraph:
            lines = styled(paragraph).wrap(self._console, self._console.width)
            room = max(1, self._console.height - 3)
            parts.append(Text("\n").join(list(lines)[-room:]))
        if self._status is not None:
            parts.append(self._status())
        return Group(*parts)


class Transcript:
    """Shows each message of a stream on an :class:`Output`.

    ``show`` takes the pipeline's messages in order; it feeds them to a
    :class:`~rxclaude.partials.PartialAssembler` and shows its items too. ``handlers``
    are the built-in handlers that saw each message before it arrives here (tool-call
    durations and error records come from them). ``finish`` closes what the stream left
    open; ``failed`` reports the stream's error.
    """

    def __init__(self, output: Output, handlers: BuiltinHandlers) -> None:
        self._out = output
        self._handlers = handlers
        self._assembler = PartialAssembler()
        self._streamed: set[str | None] = set()
        """Main-conversation message ids whose content arrived as deltas."""
        self._errors_shown = 0
        self._shown_error_text: str | None = None

    # -- entry points -----------------------------------------------------------------

    def show(self, message: Message) -> None:
        """Show one message of the pipeline, then the partial items it completes."""
        self._show(message)
        self._show_new_errors()
        for item in self._assembler.feed(message):
            self._show(item)

    def finish(self) -> None:
        """Close the streams the input left unfinished, and the open paragraph."""
        for item in self._assembler.finish():
            self._show(item)
        self._out.end_text()

    def failed(self, error: Exception) -> None:
        """Report the stream's error (a CLI that failed, an unreadable input…)."""
        self.finish()
        if isinstance(error, CLIProcessError):
            self._out.line(styled(f"✗ {error}", STYLE_ERROR))
            if error.result is None:
                for line in error.stderr.strip().splitlines()[-10:]:
                    self._out.line(styled(f"  {line}", STYLE_NOTE))
        else:
            self._out.line(styled(f"✗ {type(error).__name__}: {error}", STYLE_ERROR))

    # -- messages ---------------------------------------------------------------------

    def _show(self, message: Message) -> None:
        if isinstance(message, BlockUpdate):
            self._on_delta(message)
        elif isinstance(message, BlockComplete):
            self._on_block_complete(message)
        elif isinstance(message, Superseded):
            self._on_superseded(message)
        elif isinstance(message, AssistantMessage):
            self._on_assistant(message)
        elif isinstance(message, UserMessage):
            for result in message.tool_results:
                self._tool_result(
                    result.tool_use_id, result.text, result.is_error, message.parent_tool_use_id
                )
        elif isinstance(message, ResultMessage):
            self._on_result(message)
        elif isinstance(message, InitMessage):
            self._on_init(message)

    def _on_init(self, message: InitMessage) -> None:
        parts = [
            f"session {message.session_id or '?'}",
            message.model or "?",
            f"Claude Code {message.claude_code_version or '?'}",
            message.cwd or "?",
        ]
        self._out.line(styled(" · ".join(parts), STYLE_NOTE))

    def _on_delta(self, update: BlockUpdate) -> None:
        if update.parent_tool_use_id is not None:
            return  # subagents are shown from their assistant frames
        self._streamed.add(update.message_id)
        if update.delta_type == "text_delta":
            piece = update.delta.get("text")
            if isinstance(piece, str):
                self._out.text(piece)

    def _on_block_complete(self, complete: BlockComplete) -> None:
        if complete.parent_tool_use_id is not None:
            return
        if complete.block_type == "text":
            self._out.end_text()
        elif complete.block_type == "thinking":
            thinking = next(
                (
                    block.thinking
                    for block in (complete.block, complete.assembled)
                    if isinstance(block, ThinkingBlock) and block.thinking
                ),
                "",
            )
            self._thinking(thinking, None)

    def _on_superseded(self, superseded: Superseded) -> None:
        if superseded.parent_tool_use_id is not None or not superseded.text:
            return
        self._out.line(
            styled(f"↺ text {superseded.reason}: {shorten(superseded.text)}", STYLE_WARNING)
        )
        replacement = superseded.replacement
        if superseded.reason == "corrected" and replacement is not None:
            self._out.text(replacement.text)
            self._out.end_text()

    def _on_assistant(self, message: AssistantMessage) -> None:
        parent = message.parent_tool_use_id
        if message.is_api_error:
            self._shown_error_text = message.text
            label = f"API error ({message.error})" if message.error else "API error"
            self._out.line(styled(f"✗ {label}: {message.text}", STYLE_ERROR))
            return
        streamed = parent is None and message.message_id in self._streamed
        for block in message.content:
            if isinstance(block, ToolUseBlock):
                self._out.line(
                    styled(_indent(parent) + "● " + tool_call(block.name, block.input), STYLE_TOOL)
                )
            elif isinstance(block, ServerToolResultBlock):
                payload = block.content
                text = payload if isinstance(payload, str) else json_snippet(payload)
                self._tool_result(block.tool_use_id, text, False, parent)
            elif streamed:
                continue
            elif isinstance(block, TextBlock) and block.text:
                if parent is None:
                    self._out.text(block.text)
                    self._out.end_text()
                else:
                    self._out.line(styled(f"{_indent(parent)}│ {shorten(block.text)}", STYLE_NOTE))
            elif isinstance(block, ThinkingBlock):
                self._thinking(block.thinking, parent)

    def _thinking(self, thinking: str, parent: str | None) -> None:
        if thinking:
            self._out.line(styled(f"{_indent(parent)}✻ {shorten(thinking)}", STYLE_THINKING))

    def _tool_result(
        self, call_id: str | None, text: str, is_error: bool, parent: str | None
    ) -> None:
        call = self._find_call(call_id)
        duration = _duration_ms(call.duration) if call is not None else None
        # Within a millisecond, the frames were read from a file, not timed as they ran.
        shown = duration is not None and duration >= 1
        suffix = f"  ({milliseconds(duration)})" if shown else ""
        style = STYLE_ERROR if is_error else STYLE_RESULT
        indent = _indent(parent)
        for number, line in enumerate(result_lines(text)):
            lead = "  ⎿ " if number == 0 else "    "
            tail = suffix if number == 0 else ""
            prefix = "error: " if is_error and number == 0 else ""
            self._out.line(styled(f"{indent}{lead}{prefix}{line}{tail}", style))

    def _find_call(self, call_id: str | None) -> ToolCall | None:
        return next((c for c in reversed(self._handlers.tool_use.calls) if c.id == call_id), None)

    def _on_result(self, result: ResultMessage) -> None:
        usage = result.usage
        facts = [
            plural(result.num_turns, "turn"),
            milliseconds(result.duration_ms),
            f"{_figure(usage.get('input_tokens'))} in / {_figure(usage.get('output_tokens'))} "
            "out tokens",
            dollars(result.total_cost_usd),
        ]
        if not result.is_error:
            self._out.line(styled(" · ".join(["✓ done", *facts]), STYLE_DONE))
            return
        self._out.line(styled(" · ".join([f"✗ failed ({result.subtype})", *facts]), STYLE_ERROR))
        details = result.errors or [result.result or result.terminal_reason or ""]
        for detail in details:
            if detail and detail != self._shown_error_text:
                self._out.line(styled(f"  {detail}", STYLE_ERROR))

    def _show_new_errors(self) -> None:
        """The error records the last message added, except those shown in place."""
        errors = self._handlers.error
        count = errors.count
        if count == self._errors_shown:
            return
        new = errors.errors[-(count - self._errors_shown) :]
        self._errors_shown = count
        for record in new:
            if record.source in _INLINE_ERRORS:
                continue
            if record.source == "api_retry":
                self._out.line(styled(f"⚠ {record.source}: {record.description}", STYLE_WARNING))
            else:
                self._out.line(styled(f"✗ {record.source}: {record.description}", STYLE_ERROR))


def _indent(parent: str | None) -> str:
    return "" if parent is None else "  "


def status_line(session: Session) -> Callable[[], Text]:
    """The live status line of ``session``: messages, rate, buffer use, errors, state."""

    def render() -> Text:
        figures = session.metrics.snapshot()
        handlers = session.handlers
        errors = handlers.error.count
        state = "done" if handlers.complete.completed else handlers.status.current
        return Text.assemble(
            ("● ", "green"),
            f"{figures.messages_received} messages · "
            f"{figures.window_messages_per_second:.0f} msg/s · "
            f"buffer {figures.buffer_utilisation:.0%} · ",
            (f"{errors} errors", "red" if errors else ""),
            f" · {state or 'streaming'} · {figures.elapsed:.1f} s",
            style="dim",
        )

    return render


def watch(session: Session, source: StreamSource, console: Console) -> Exception | None:
    """Show ``source`` on ``console`` as it streams through ``session``; return its error.

    On a terminal the view is live, with a status line; elsewhere it is plain text.
    """
    live = console.is_terminal
    with LiveOutput(console, status_line(session)) if live else nullcontext() as live_output:
        output: Output = live_output if live_output is not None else PlainOutput(console)
        transcript = Transcript(output, session.handlers)
        error = session.run(source, transcript.show)
        if error is None:
            transcript.finish()
        else:
            transcript.failed(error)
    return error
