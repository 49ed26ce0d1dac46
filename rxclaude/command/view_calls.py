"""The tool calls of a view: their numbers, their nesting, how their results name them.

The view only appends lines, so a result cannot be moved under its call once other lines
have come between them (parallel calls, a subagent's work). Hence:

* every call is shown with a number, counted over the whole stream: ``● #2 Bash(…)``;
* a result printed right after its call's line, while no other call of the same
  conversation awaits its result, is shown plainly (``⎿ output``); any other names its
  call: ``⎿ #2 Bash · output``, at the call's indentation;
* results arriving in one frame are shown in the order of their calls;
* a subagent's lines (frames whose ``parent_tool_use_id`` is the ``Task``/``Agent``
  call that started it) are indented one level deeper than that call (at most
  ``MAX_DEPTH`` levels). A reader takes an indented line to belong to the last call
  shown one level up; whenever that is not the line's subagent (parallel subagents, a
  call printed since), a line ``↳ #1 Agent`` first says whose lines follow.

:class:`CallBook` keeps what that takes: the calls not answered yet (at most ``keep``;
the oldest is forgotten first; the main conversation's are forgotten when its turn ends,
as the CLI gives them up then) and, per level, the call a reader would take the next
lines to belong to.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from rxclaude.command.format import json_snippet, shorten

RESULT_LINES = 3
"""Lines shown of a tool result or a prompt."""
KEEP_CALLS = 1000
"""Unanswered calls remembered at most."""
MAX_DEPTH = 8
"""Levels of subagents indented at most; a deeper one's lines are introduced instead."""
ID_CHARS = 24
"""Characters shown of the id of a call the view never saw."""


def tool_call(name: str | None, tool_input: dict[str, Any]) -> str:
    """``name(key=value, …)``, shortened."""
    arguments = ", ".join(f"{key}={json_snippet(value)}" for key, value in tool_input.items())
    return f"{name or '?'}({shorten(arguments)})"


def result_lines(text: str) -> list[str]:
    """The first ``RESULT_LINES`` non-blank lines of a text, each cut to ``SNIPPET``."""
    lines = [line for line in text.split("\n") if line.strip()] or [""]
    shown = [shorten(line) for line in lines[:RESULT_LINES]]
    if len(lines) > RESULT_LINES:
        shown.append(f"… +{len(lines) - RESULT_LINES} lines")
    return shown


def pad(depth: int) -> str:
    """The indentation of a line ``depth`` subagents deep."""
    return "  " * depth


class Call(NamedTuple):
    """A tool call the view has shown."""

    number: int
    """Its number in the view, from 1."""
    name: str
    """The tool's name (``?`` when the stream gave none)."""
    parent: str | None
    """The subagent call it was made in (``None``: the main conversation)."""
    depth: int
    """The indentation level of its line."""

    @property
    def label(self) -> str:
        """``#2 Bash``."""
        return f"#{self.number} {self.name}"


class CallBook:
    """The calls shown and not answered yet, and the subagents speaking."""

    def __init__(self, keep: int = KEEP_CALLS) -> None:
        self._keep = keep
        self._calls: dict[str, Call] = {}
        self._count = 0
        self._shown: dict[int, str] = {}
        """Per level, the call whose subagent a reader takes the next deeper lines for."""

    def start(self, call_id: str | None, name: str | None, parent: str | None) -> Call:
        """Number a new call made in the conversation ``parent``."""
        self._count += 1
        call = Call(self._count, name or "?", parent, self.depth(parent))
        if call_id is not None:
            self._calls.pop(call_id, None)
            self._calls[call_id] = call
            self._shown[call.depth] = call_id
            if len(self._calls) > self._keep:
                del self._calls[next(iter(self._calls))]
        return call

    def get(self, call_id: str | None) -> Call | None:
        """The unanswered call ``call_id``, if the view showed it."""
        return None if call_id is None else self._calls.get(call_id)

    def answer(self, call_id: str | None) -> Call | None:
        """Forget the call ``call_id``, answered; return it if it was known."""
        if call_id is None:
            return None
        return self._calls.pop(call_id, None)

    def end_turn(self) -> None:
        """Forget the main conversation's calls still unanswered: its turn ended."""
        for call_id in [key for key, call in self._calls.items() if call.parent is None]:
            self.answer(call_id)

    def alone(self, call_id: str | None) -> bool:
        """True when ``call_id`` is the only unanswered call of its conversation."""
        call = self.get(call_id)
        if call is None:
            return False
        return not any(
            other.parent == call.parent and key != call_id for key, other in self._calls.items()
        )

    def depth(self, parent: str | None) -> int:
        """The indentation level of the lines of the conversation ``parent``."""
        if parent is None:
            return 0
        call = self._calls.get(parent)
        return 1 if call is None else min(call.depth + 1, MAX_DEPTH)

    def label(self, call_id: str | None) -> str:
        """``#2 Bash``, or the call's id (shortened) when the view never showed it."""
        call = self.get(call_id)
        return call.label if call is not None else shorten(call_id or "?", ID_CHARS)

    def introduce(self, speaker: str | None) -> str | None:
        """The label of ``speaker``'s call if a line of that subagent needs a line saying
        whose it is first (the last call or introduction one level up was another)."""
        if speaker is None:
            return None
        level = self.depth(speaker) - 1
        if self._shown.get(level) == speaker:
            return None
        self._shown[level] = speaker
        return self.label(speaker)
