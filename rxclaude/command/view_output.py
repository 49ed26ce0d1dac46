"""Where the view goes: plain text on a pipe, a live region on a terminal.

* :class:`PlainOutput` (stdout is not a terminal): plain lines, no escape codes, streamed
  text written as it comes.
* :class:`LiveOutput` (a terminal): colours, and a live region at the bottom holding the
  paragraph being streamed and an optional status line; finished lines scroll above it.

Both take untrusted text only through :func:`~rxclaude.command.format.styled` (or a
``Text`` built with it): nothing from the stream reaches the terminal raw.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from types import TracebackType
from typing import Protocol

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.text import Text

from rxclaude.command.format import styled


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
