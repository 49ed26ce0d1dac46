"""``rxclaude run`` on a terminal: a conversation with Claude Code, turn by turn.

A prompt, the answer streamed as it is written (``--include-partial-messages``), tool calls
and their results on a line each, and every permission prompt asked on the terminal
(``y`` allows, anything else denies). An empty line is skipped; ``/exit``, end of input
(Ctrl-D) or Ctrl-C at the prompt ends the conversation; Ctrl-C during an answer interrupts
the turn. Built on :class:`~rxclaude.interactive.ClaudeSession`; everything from the stream
is shown through :func:`~rxclaude.command.format.safe`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

from rich.console import Console
from rich.text import Text

from rxclaude.command.format import (
    dollars,
    json_snippet,
    milliseconds,
    plural,
    shorten,
    styled,
)
from rxclaude.interactive import (
    ClaudeSession,
    PermissionDecision,
    SessionClosedError,
    allow,
    deny,
)
from rxclaude.messages import (
    AssistantMessage,
    Message,
    ResultMessage,
    StreamEventMessage,
    UserMessage,
)
from rxclaude.messages.control import CanUseToolRequest
from rxclaude.sources import CLIProcessError

ReadLine = Callable[[str], str | None]
"""Shows a prompt and returns the line typed, or None at the end of input."""

EXIT = "/exit"
PARTIALS = "--include-partial-messages"


def terminal_line(prompt: str) -> str | None:
    """``input(prompt)``, None at the end of input."""
    try:
        return input(prompt)
    except EOFError:
        return None


def ask_permission(console: Console, read_line: ReadLine) -> Callable[..., PermissionDecision]:
    """A permission function that asks on the terminal."""

    def decide(request: CanUseToolRequest) -> PermissionDecision:
        question = Text("\n? ", style="bold yellow")
        question.append_text(styled(request.tool_name or "a tool", "bold"))
        question.append_text(styled(" " + json_snippet(request.input), "dim"))
        console.print(question)
        answer = read_line("allow? [y/N] ")
        if answer is not None and answer.strip().lower() in ("y", "yes"):
            return allow(request)
        return deny(request, "The user did not allow this tool call.")

    return decide


def terminal_session(
    claude: str | Sequence[str],
    arguments: Sequence[str],
    console: Console,
    read_line: ReadLine = terminal_line,
    **options: Any,
) -> ClaudeSession:
    """A session whose permission prompts are asked on the terminal; ``options`` go to
    :class:`~rxclaude.interactive.ClaudeSession`."""
    args = [*arguments, *([] if PARTIALS in arguments else [PARTIALS])]
    return ClaudeSession(
        claude, args=args, can_use_tool=ask_permission(console, read_line), **options
    )


class _Printer:
    """Shows one turn's messages as they arrive."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.streamed = False  # text was streamed since the last line break

    def show(self, message: Message) -> None:
        if isinstance(message, StreamEventMessage):
            delta = message.delta
            if message.delta_type == "text_delta" and delta is not None:
                self.console.print(styled(str(delta.get("text", ""))), end="")
                self.streamed = True
        elif isinstance(message, AssistantMessage):
            for call in message.tool_uses:
                self._line(Text("⚙ ").append_text(styled(call.name or "", "bold")))
        elif isinstance(message, UserMessage):
            for result in message.tool_results:
                mark = Text("✗ ", style="red") if result.is_error else Text("✓ ", style="green")
                self._line(mark.append_text(styled(shorten(result.text), "dim")))
        elif isinstance(message, ResultMessage):
            figures = (
                f"{plural(message.num_turns, 'model turn')}, "
                f"{milliseconds(message.duration_ms)}, {dollars(message.total_cost_usd)}"
            )
            style = "red" if message.is_error else "dim"
            self._line(styled(f"[{message.subtype or 'result'}: {figures}]", style))

    def _line(self, text: Text) -> None:
        if self.streamed:
            self.console.print()
            self.streamed = False
        self.console.print(text)


def converse(session: ClaudeSession, console: Console, read_line: ReadLine = terminal_line) -> int:
    """Runs the conversation on a session not yet started; returns the exit code (0, or
    the CLI's: 128 + N when signal N killed it, 1 for another failure)."""
    printer = _Printer(console)
    try:
        session.start()
        while True:
            try:
                line = read_line("> ")
            except KeyboardInterrupt:
                line = None
            if line is None or line.strip() == EXIT:
                return 0
            if line.strip():
                _turn(session, line, printer)
    except CLIProcessError as error:
        console.print(styled(f"the CLI ended: {error}", "red"))
        return error.returncode if error.returncode >= 0 else 128 - error.returncode
    except SessionClosedError as error:
        console.print(styled(f"the session ended: {error}", "red"))
        return 1
    finally:
        session.close()


def _turn(session: ClaudeSession, line: str, printer: _Printer) -> None:
    """One turn, shown as it streams; Ctrl-C interrupts it."""
    done = threading.Event()
    failure: list[Exception] = []

    def failed(error: Exception) -> None:
        failure.append(error)
        done.set()

    subscription = session.ask(line).subscribe(printer.show, failed, done.set)
    try:
        done.wait()  # Ctrl-C interrupts the wait
    except KeyboardInterrupt:
        session.interrupt()
        done.wait()
    finally:
        subscription.dispose()
    if failure:
        raise failure[0]


def run_interactive(
    claude: str | Sequence[str],
    arguments: Sequence[str],
    console: Console,
    read_line: ReadLine = terminal_line,
) -> int:
    """``rxclaude run`` on a terminal: the conversation, and its exit code."""
    return converse(terminal_session(claude, arguments, console, read_line), console, read_line)


__all__ = ["EXIT", "ReadLine", "converse", "run_interactive", "terminal_line", "terminal_session"]
