"""The view of a stream as it arrives: prompts, the assistant's text, tool calls, results,
errors and the outcome of each turn.

:class:`Transcript` decides what to show for each message; an output
(:mod:`~rxclaude.command.view_output`) decides how: plain lines on a pipe, a live region
on a terminal.

What is shown:

* The user's prompts (``> text``), the subagents' prompts too; tool results are not
  prompts.
* The assistant's text once: from the ``text_delta`` events when the response was
  streamed (``--include-partial-messages``), else from the ``assistant`` frames. The
  ``assistant`` frame of a streamed response repeats the deltas, so its text is skipped;
  text the CLI withdraws or corrects (``Superseded`` items of
  :class:`~rxclaude.partials.PartialAssembler`) is flagged.
* Tool calls as ``#N name(input)``, their results as their first lines, with the duration
  :class:`~rxclaude.handlers.ToolUseHandler` paired; a result not printed right under
  its call names it (``⎿ #N name · …``); subagents' frames are nested under the call that
  started them (:mod:`~rxclaude.command.view_calls` has the rules).
* Compaction (``≡ compacted (manual) · 59 tokens before …``).
* Errors highlighted: failed tools, API errors, and every other record of
  :class:`~rxclaude.handlers.ErrorHandler` (parse errors with their byte offset, API
  retries, handler errors, control errors).
* A last line per ``result``: the outcome from ``is_error`` with ``terminal_reason`` (and
  the API status), turns, duration, tokens and cost.
* For session transcripts, a line naming the file (project, session, subagent) whenever
  the next message comes from another one, and tool durations from the entries'
  timestamps.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext
from datetime import timedelta
from typing import NamedTuple

from reactivex import Observable
from rich.console import Console
from rich.text import Text

from rxclaude.command.format import (
    STYLE_DONE,
    STYLE_ERROR,
    STYLE_NOTE,
    STYLE_RESULT,
    STYLE_THINKING,
    STYLE_TOOL,
    STYLE_WARNING,
    json_snippet,
    milliseconds,
    shorten,
    styled,
)
from rxclaude.command.session import NotStreamJSONError, Session
from rxclaude.command.view_calls import CallBook, pad, result_lines, tool_call
from rxclaude.command.view_lines import compaction, prompt, result_details, result_summary
from rxclaude.command.view_output import LiveOutput, Output, PlainOutput
from rxclaude.handlers import BuiltinHandlers, ToolCall
from rxclaude.messages import (
    AssistantMessage,
    CompactBoundaryMessage,
    InitMessage,
    Message,
    ResultMessage,
    UserMessage,
)
from rxclaude.messages.content import (
    ServerToolResultBlock,
    TextBlock,
    ThinkingBlock,
    ToolUseBlock,
)
from rxclaude.partials import BlockComplete, BlockUpdate, PartialAssembler, Superseded
from rxclaude.pipeline import StreamSource
from rxclaude.sources import CLIProcessError
from rxclaude.transcripts import TranscriptFile, source_of

_INLINE_ERRORS = frozenset(("tool_result", "api_error", "result"))
"""Error sources the transcript shows in place (result line, API error, last line)."""


class _Result(NamedTuple):
    """A tool result to show."""

    call_id: str | None
    text: str
    is_error: bool
    parent: str | None
    """The conversation of the frame that carried it."""


def _duration_ms(duration: timedelta | None) -> float | None:
    return None if duration is None else duration.total_seconds() * 1000


class Transcript:
    """Shows each message of a stream on an :class:`Output`.

    ``show`` takes the pipeline's messages in order; it feeds them to a
    :class:`~rxclaude.partials.PartialAssembler` and shows its items too. ``handlers``
    are the built-in handlers that saw each message before it arrives here (tool-call
    durations and error records come from them; ``tool_calls``, if given, lists the timed
    calls instead). ``finish`` closes what the stream left open; ``failed`` reports the
    stream's error.
    """

    def __init__(
        self,
        output: Output,
        handlers: BuiltinHandlers,
        tool_calls: Callable[[], list[ToolCall]] | None = None,
    ) -> None:
        self._out = output
        self._handlers = handlers
        self._tool_calls = tool_calls or (lambda: handlers.tool_use.calls)
        self._file: TranscriptFile | None = None
        """The transcript file of the last message shown."""
        self._assembler = PartialAssembler()
        self._calls = CallBook()
        self._streamed: set[str | None] = set()
        """Main-conversation message ids whose content arrived as deltas."""
        self._errors_shown = 0
        self._shown_error_text: str | None = None
        self._last_call: str | None = None
        """The id of the call whose line was the last one printed, if it was a call's."""

    # -- entry points -----------------------------------------------------------------

    def show(self, message: Message) -> None:
        """Show one message of the pipeline, then the partial items it completes."""
        source = source_of(message)
        if source is not None and source != self._file:
            self._file = source
            self._line(None, transcript_heading(source, message.session_id), STYLE_NOTE)
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
            self._line(None, f"✗ {error}", STYLE_ERROR)
            if error.result is None:
                for line in error.stderr.strip().splitlines()[-10:]:
                    self._line(None, f"  {line}", STYLE_NOTE)
        elif isinstance(error, NotStreamJSONError):
            self._line(None, f"✗ {error}", STYLE_ERROR)
        else:
            self._line(None, f"✗ {type(error).__name__}: {error}", STYLE_ERROR)

    # -- printing ---------------------------------------------------------------------

    def _line(self, speaker: str | None, text: str, style: str, call: str | None = None) -> None:
        """Print ``text`` as a line of the conversation ``speaker`` (indented by the
        caller); first say whose lines follow if that could be unclear. ``call`` is the id
        of the call whose line this is."""
        introduction = self._calls.introduce(speaker)
        if introduction is not None:
            depth = self._calls.depth(speaker)
            self._out.line(styled(f"{pad(depth)}↳ {introduction}", STYLE_NOTE))
        self._out.line(styled(text, style))
        self._last_call = call

    def _text(self, piece: str) -> None:
        """Streamed text of the main conversation."""
        self._out.text(piece)
        self._last_call = None

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
            self._on_user(message)
        elif isinstance(message, ResultMessage):
            self._on_result(message)
        elif isinstance(message, InitMessage):
            self._on_init(message)
        elif isinstance(message, CompactBoundaryMessage):
            self._line(None, compaction(message), STYLE_NOTE)

    def _on_init(self, message: InitMessage) -> None:
        parts = [
            f"session {message.session_id or '?'}",
            message.model or "?",
            f"Claude Code {message.claude_code_version or '?'}",
            message.cwd or "?",
        ]
        self._line(None, " · ".join(parts), STYLE_NOTE)

    def _on_delta(self, update: BlockUpdate) -> None:
        if update.parent_tool_use_id is not None:
            return  # subagents are shown from their assistant frames
        self._streamed.add(update.message_id)
        if update.delta_type == "text_delta":
            piece = update.delta.get("text")
            if isinstance(piece, str):
                self._text(piece)

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
        self._line(None, f"↺ text {superseded.reason}: {shorten(superseded.text)}", STYLE_WARNING)
        replacement = superseded.replacement
        if superseded.reason == "corrected" and replacement is not None:
            self._text(replacement.text)
            self._out.end_text()

    def _on_assistant(self, message: AssistantMessage) -> None:
        parent = message.parent_tool_use_id
        indent = pad(self._calls.depth(parent))
        if message.is_api_error:
            self._shown_error_text = message.text
            label = f"API error ({message.error})" if message.error else "API error"
            self._line(parent, f"{indent}✗ {label}: {message.text}", STYLE_ERROR)
            return
        streamed = parent is None and message.message_id in self._streamed
        results: list[_Result] = []
        for block in message.content:
            if isinstance(block, ToolUseBlock):
                self._flush_results(results)
                call = self._calls.start(block.id, block.name, parent)
                line = f"{indent}● #{call.number} {tool_call(block.name, block.input)}"
                self._line(parent, line, STYLE_TOOL, call=block.id)
            elif isinstance(block, ServerToolResultBlock):
                payload = block.content
                text = payload if isinstance(payload, str) else json_snippet(payload)
                results.append(_Result(block.tool_use_id, text, False, parent))
            elif streamed:
                continue
            elif isinstance(block, TextBlock) and block.text:
                self._flush_results(results)
                if parent is None:
                    self._text(block.text)
                    self._out.end_text()
                else:
                    self._line(parent, f"{indent}│ {shorten(block.text)}", STYLE_NOTE)
            elif isinstance(block, ThinkingBlock):
                self._flush_results(results)
                self._thinking(block.thinking, parent)
        self._flush_results(results)

    def _on_user(self, message: UserMessage) -> None:
        parent = message.parent_tool_use_id
        indent = pad(self._calls.depth(parent))
        for line in prompt(message):
            self._line(parent, f"{indent}{line}", STYLE_NOTE)
        results = [
            _Result(result.tool_use_id, result.text, result.is_error, parent)
            for result in message.tool_results
        ]
        self._flush_results(results)

    def _thinking(self, thinking: str, parent: str | None) -> None:
        if thinking:
            indent = pad(self._calls.depth(parent))
            self._line(parent, f"{indent}✻ {shorten(thinking)}", STYLE_THINKING)

    def _flush_results(self, results: list[_Result]) -> None:
        """Show the results gathered from one frame in the order of their calls; empty
        the list."""

        def call_number(result: _Result) -> float:
            call = self._calls.get(result.call_id)
            return float("inf") if call is None else call.number

        for result in sorted(results, key=call_number):
            self._tool_result(result)
        results.clear()

    def _tool_result(self, result: _Result) -> None:
        call_id = result.call_id
        plain = call_id == self._last_call and self._calls.alone(call_id)
        label = "" if plain else f"{self._calls.label(call_id)} · "
        call = self._calls.answer(call_id)
        speaker = call.parent if call is not None else result.parent
        indent = pad(call.depth if call is not None else self._calls.depth(speaker))
        paired = self._find_call(call_id)
        duration = _duration_ms(paired.duration) if paired is not None else None
        # Within a millisecond, the frames were read from a file, not timed as they ran.
        suffix = f"  ({milliseconds(duration)})" if duration is not None and duration >= 1 else ""
        style = STYLE_ERROR if result.is_error else STYLE_RESULT
        for number, line in enumerate(result_lines(result.text)):
            if number == 0:
                failed = "error: " if result.is_error else ""
                self._line(speaker, f"{indent}  ⎿ {label}{failed}{line}{suffix}", style)
            else:
                self._line(speaker, f"{indent}    {line}", style)

    def _find_call(self, call_id: str | None) -> ToolCall | None:
        return next((c for c in reversed(self._tool_calls()) if c.id == call_id), None)

    def _on_result(self, result: ResultMessage) -> None:
        self._calls.end_turn()
        failed = result.is_error
        self._line(None, result_summary(result), STYLE_ERROR if failed else STYLE_DONE)
        for detail in result_details(result):
            if detail != self._shown_error_text:
                self._line(None, f"  {detail}", STYLE_ERROR)

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
                self._line(None, f"⚠ {record.source}: {record.description}", STYLE_WARNING)
            elif record.source == "other":  # an error item of a stage (redis_write_error…)
                self._line(None, f"✗ {record.message.type}: {record.message}", STYLE_ERROR)
            else:
                self._line(None, f"✗ {record.source}: {record.description}", STYLE_ERROR)


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


def transcript_heading(source: TranscriptFile, session_id: str | None) -> str:
    """``── project · session ID · subagent ID``, or ``── PATH`` for a file whose place
    names neither project nor session."""
    session = session_id or source.session_id
    if session is None:
        return f"── {source.path}"
    parts = [source.project or "?", f"session {session}"]
    if source.agent_id is not None:
        parts.append(f"subagent {source.agent_id}")
    return "── " + " · ".join(parts)


def watch(session: Session, source: StreamSource, console: Console) -> Exception | None:
    """Show ``source`` on ``console`` as it streams through ``session``; return its error.

    On a terminal the view is live, with a status line; elsewhere it is plain text.
    """
    return _watch(session, console, lambda show: session.run(source, show))


def watch_messages(
    session: Session, messages: Observable[Message], console: Console
) -> Exception | None:
    """Show parsed ``messages`` (``from_transcripts``, or frames through more stages) as
    :func:`watch` shows a stream, tool durations from ``session``'s transcript handler if
    it has one; return the stream's error."""
    tool_time = session.tool_time
    calls = None if tool_time is None else (lambda: tool_time.calls)
    return _watch(session, console, lambda show: session.run_messages(messages, show), calls)


def _watch(
    session: Session,
    console: Console,
    run: Callable[[Callable[[Message], None]], Exception | None],
    tool_calls: Callable[[], list[ToolCall]] | None = None,
) -> Exception | None:
    live = console.is_terminal
    with LiveOutput(console, status_line(session)) if live else nullcontext() as live_output:
        output: Output = live_output if live_output is not None else PlainOutput(console)
        transcript = Transcript(output, session.handlers, tool_calls)
        error = run(transcript.show)
        if error is None:
            transcript.finish()
        else:
            transcript.failed(error)
    return error
