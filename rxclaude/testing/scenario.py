"""Scripted conversations for the fake Messages API: what each reply streams.

A scenario is a list of steps, one per position in the conversation: the CLI makes one
API request per model round trip, and the fake server answers a request with the step
whose index is the number of ``assistant`` messages in the request (so a retried request
gets the same step again). A step answers streaming requests (``"stream": true``) with
its ``streaming`` reply and the CLI's non-streaming fallback with ``non_streaming``.

Replies are data: a message streamed as Server-Sent Events (optionally broken by an SSE
``error`` event after some deltas), a message as one JSON body, or an API error. Tests
read from the same objects what the server sent (``Scenario.streamed_text``) and what the
CLI should keep (``Scenario.text``, ``Scenario.tool_calls``).

Standard library only: the launcher loads scenarios inside the network namespace.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

INPUT_TOKENS = 42
"""``input_tokens`` of every fake response."""


@dataclass(frozen=True)
class Block:
    """A content block: how it starts, the deltas that build it, and the finished block."""

    start: dict[str, Any]
    deltas: tuple[dict[str, Any], ...]
    final: dict[str, Any]

    @property
    def block_type(self) -> str:
        block_type = self.final["type"]
        assert isinstance(block_type, str)
        return block_type


def _pieces(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def text_block(text: str, piece: int = 16) -> Block:
    """A ``text`` block streamed as ``text_delta``s of ``piece`` characters."""
    deltas = tuple({"type": "text_delta", "text": part} for part in _pieces(text, piece))
    return Block({"type": "text", "text": ""}, deltas, {"type": "text", "text": text})


def thinking_block(thinking: str, signature: str, piece: int = 20) -> Block:
    """A ``thinking`` block: ``thinking_delta``s, then one ``signature_delta``."""
    deltas = tuple(
        {"type": "thinking_delta", "thinking": part} for part in _pieces(thinking, piece)
    )
    final = {"type": "thinking", "thinking": thinking, "signature": signature}
    return Block(
        {"type": "thinking", "thinking": "", "signature": ""},
        (*deltas, {"type": "signature_delta", "signature": signature}),
        final,
    )


def tool_use_block(tool_id: str, name: str, tool_input: dict[str, Any], piece: int = 12) -> Block:
    """A ``tool_use`` block: an empty ``input_json_delta`` first (as the API sends), then
    the input's JSON in pieces."""
    encoded = json.dumps(tool_input)
    deltas = tuple(
        {"type": "input_json_delta", "partial_json": part}
        for part in ["", *_pieces(encoded, piece)]
    )
    start = {"type": "tool_use", "id": tool_id, "name": name, "input": {}}
    return Block(start, deltas, {**start, "input": tool_input})


@dataclass(frozen=True)
class Response:
    """One model response (an API ``message``; not an rxclaude :class:`~rxclaude.Message`)."""

    id: str
    blocks: tuple[Block, ...]
    stop_reason: str

    @property
    def text(self) -> str:
        """The text of the message's text blocks, concatenated."""
        return "".join(block.final["text"] for block in self.blocks if block.block_type == "text")

    @property
    def output_tokens(self) -> int:
        """A made-up count: one per delta, plus one."""
        return 1 + sum(len(block.deltas) for block in self.blocks)

    def body(self) -> dict[str, Any]:
        """The complete message, as a non-streaming reply carries it."""
        return {
            "id": self.id,
            "type": "message",
            "role": "assistant",
            "model": "claude-fake-1",
            "content": [block.final for block in self.blocks],
            "stop_reason": self.stop_reason,
            "stop_sequence": None,
            "usage": _usage(self.output_tokens),
        }

    def events(self) -> list[tuple[str, dict[str, Any]]]:
        """The SSE events of the streamed message, in order, ``ping`` included."""
        started = {**self.body(), "content": [], "stop_reason": None, "usage": _usage(1)}
        events: list[tuple[str, dict[str, Any]]] = [
            ("message_start", {"type": "message_start", "message": started}),
            ("ping", {"type": "ping"}),
        ]
        for index, block in enumerate(self.blocks):
            events.append(
                (
                    "content_block_start",
                    {"type": "content_block_start", "index": index, "content_block": block.start},
                )
            )
            events.extend(
                ("content_block_delta", {"type": "content_block_delta", "index": index, "delta": d})
                for d in block.deltas
            )
            events.append(("content_block_stop", {"type": "content_block_stop", "index": index}))
        delta = {"stop_reason": self.stop_reason, "stop_sequence": None}
        usage = {"output_tokens": self.output_tokens}
        events.append(("message_delta", {"type": "message_delta", "delta": delta, "usage": usage}))
        events.append(("message_stop", {"type": "message_stop"}))
        return events


def _usage(output_tokens: int) -> dict[str, Any]:
    return {
        "input_tokens": INPUT_TOKENS,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
        "output_tokens": output_tokens,
        "service_tier": "standard",
    }


@dataclass(frozen=True)
class APIError:
    """An error reply: HTTP ``status`` with the API's error body (also sent as an SSE
    ``error`` event when it breaks a stream)."""

    status: int
    error_type: str
    message: str

    def body(self) -> dict[str, Any]:
        return {"type": "error", "error": {"type": self.error_type, "message": self.message}}


STALL_LIMIT = 120.0
"""Seconds a stalled stream (``Streamed(stall_after=…)``) is held open at most."""


@dataclass(frozen=True)
class Streamed:
    """A message streamed as SSE; with ``broken_after``, only that many deltas are sent,
    then an SSE ``error`` event, and the connection is closed. With ``stall_after``, only
    that many deltas are sent, and the connection is held open until the client closes
    it (at most :data:`STALL_LIMIT` seconds): a turn that stays in progress until it is
    interrupted."""

    message: Response
    broken_after: int | None = None
    error: APIError = APIError(529, "overloaded_error", "Overloaded")
    stall_after: int | None = None

    def __post_init__(self) -> None:
        if self.broken_after is not None and self.stall_after is not None:
            raise ValueError("a stream is broken off or stalled, not both")

    def events(self) -> list[tuple[str, dict[str, Any]]]:
        """The events the server sends, the final ``error`` event included."""
        events = self.message.events()
        cut = self.broken_after if self.broken_after is not None else self.stall_after
        if cut is None:
            return events
        kept: list[tuple[str, dict[str, Any]]] = []
        deltas = 0
        for name, data in events:
            if name == "content_block_delta":
                if deltas == cut:
                    break
                deltas += 1
            kept.append((name, data))
        return kept if self.stall_after is not None else [*kept, ("error", self.error.body())]

    @property
    def complete(self) -> bool:
        return self.broken_after is None and self.stall_after is None


@dataclass(frozen=True)
class NotStreamed:
    """A message as one JSON body (the reply to a non-streaming request)."""

    message: Response


Reply = Streamed | NotStreamed | APIError


@dataclass(frozen=True)
class Step:
    """The replies to the requests made at one position of the conversation."""

    streaming: Reply
    non_streaming: Reply | None = None

    @property
    def kept(self) -> Response | None:
        """The message the CLI ends up with: the streamed one if its stream completes,
        else the non-streaming fallback's; None when the step only fails."""
        for reply in (self.streaming, self.non_streaming):
            if isinstance(reply, Streamed) and reply.complete:
                return reply.message
            if isinstance(reply, NotStreamed):
                return reply.message
        return None


@dataclass(frozen=True)
class Scenario:
    """A named script for the fake API and the facts tests compare the CLI's output to.

    Attributes:
        prompts: the user turns; one for ``-p``, more for ``--input-format stream-json``.
        project_files: files created in the CLI's working directory before it starts.
        max_retries: ``CLAUDE_CODE_MAX_RETRIES`` for the run.
        env: CLI settings added to the run's environment (never the network settings,
            which the harness fixes and the launcher checks).
    """

    name: str
    steps: tuple[Step, ...]
    prompts: tuple[str, ...] = ("Say something.",)
    project_files: Mapping[str, str] = field(default_factory=dict)
    max_retries: int = 1
    env: Mapping[str, str] = field(default_factory=dict)

    @property
    def messages(self) -> list[Response]:
        """The messages the CLI keeps, in conversation order."""
        return [message for step in self.steps if (message := step.kept) is not None]

    @property
    def text(self) -> str:
        """The text of the kept messages, concatenated."""
        return "".join(message.text for message in self.messages)

    @property
    def streamed_text(self) -> str:
        """Every ``text_delta`` the streaming replies send (each step's once)."""
        return "".join(
            data["delta"]["text"]
            for step in self.steps
            if isinstance(step.streaming, Streamed)
            for name, data in step.streaming.events()
            if name == "content_block_delta" and data["delta"]["type"] == "text_delta"
        )

    @property
    def thinking(self) -> str:
        """The thinking of the kept messages, concatenated."""
        return "".join(
            block.final["thinking"]
            for message in self.messages
            for block in message.blocks
            if block.block_type == "thinking"
        )

    @property
    def tool_calls(self) -> list[tuple[str, str, dict[str, Any]]]:
        """``(id, name, input)`` of the kept messages' tool calls."""
        return [
            (block.final["id"], block.final["name"], block.final["input"])
            for message in self.messages
            for block in message.blocks
            if block.block_type == "tool_use"
        ]


def reply(message_id: str, *blocks: Block, stop_reason: str = "end_turn") -> Step:
    """A step that streams one response made of ``blocks``."""
    return Step(Streamed(Response(message_id, blocks, stop_reason)))
