"""Scripted conversations for the fake Messages API, and what each one streams.

A scenario is a list of steps, one per position in the conversation: the CLI makes one
API request per model round trip, and the fake server answers a request with the step
whose index is the number of ``assistant`` messages in the request (so a retried request
gets the same step again). A step answers streaming requests (``"stream": true``) with
its ``streaming`` reply and the CLI's non-streaming fallback with ``non_streaming``.

Replies are data: a message streamed as Server-Sent Events (optionally broken by an SSE
``error`` event after some deltas), a message as one JSON body, or an API error. Tests
read from the same objects what the server sent (``Scenario.streamed_text``) and what the
CLI should keep (``Scenario.text``, ``Scenario.tool_calls``).

Stdlib only: the launcher imports this inside the network namespace.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
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
class Message:
    """One model response."""

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


@dataclass(frozen=True)
class Streamed:
    """A message streamed as SSE; with ``broken_after``, only that many deltas are sent,
    then an SSE ``error`` event, and the connection is closed."""

    message: Message
    broken_after: int | None = None
    error: APIError = APIError(529, "overloaded_error", "Overloaded")

    def events(self) -> list[tuple[str, dict[str, Any]]]:
        """The events the server sends, the final ``error`` event included."""
        events = self.message.events()
        if self.broken_after is None:
            return events
        kept: list[tuple[str, dict[str, Any]]] = []
        deltas = 0
        for name, data in events:
            if name == "content_block_delta":
                if deltas == self.broken_after:
                    break
                deltas += 1
            kept.append((name, data))
        return [*kept, ("error", self.error.body())]

    @property
    def complete(self) -> bool:
        return self.broken_after is None


@dataclass(frozen=True)
class NotStreamed:
    """A message as one JSON body (the reply to a non-streaming request)."""

    message: Message


Reply = Streamed | NotStreamed | APIError


@dataclass(frozen=True)
class Step:
    """The replies to the requests made at one position of the conversation."""

    streaming: Reply
    non_streaming: Reply | None = None

    @property
    def kept(self) -> Message | None:
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
    def messages(self) -> list[Message]:
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


def _reply(message_id: str, *blocks: Block, stop_reason: str = "end_turn") -> Step:
    return Step(Streamed(Message(message_id, blocks, stop_reason)))


LONG_TEXT = " ".join(
    f"Sentence {n} of the long reply, streamed in many small deltas." for n in range(1, 151)
)
"""About 9 KB of text: with 8-character deltas, over a thousand ``stream_event`` frames."""

READ_FILE_CONTENT = "first line\nsecond line\n"

_FALLBACK_TEXT = "The complete answer, from the non-streaming retry."


def read_loop_file(part: int, size: int) -> str:
    """The text of file ``part`` of a read loop: ``size`` characters of lines that name
    their part and number, so no two lines of a run are the same."""
    filler = "lorem ipsum dolor sit amet, " * 3
    lines: list[str] = []
    total = 0
    while total < size:
        line = f"part {part:02d} line {len(lines) + 1:06d}: {filler}\n"
        lines.append(line)
        total += len(line)
    return "".join(lines)[:size]


class ReadLoopFiles(Mapping[str, str]):
    """``part_01.txt`` … of a read loop, each ``size`` characters, made when read (so a
    scenario of megabytes costs nothing until a run writes its files)."""

    def __init__(self, parts: int, size: int) -> None:
        self.parts, self.size = parts, size

    @staticmethod
    def name(part: int) -> str:
        return f"part_{part:02d}.txt"

    def __getitem__(self, name: str) -> str:
        for part in range(1, self.parts + 1):
            if name == self.name(part):
                return read_loop_file(part, self.size)
        raise KeyError(name)

    def __iter__(self) -> Iterator[str]:
        return (self.name(part) for part in range(1, self.parts + 1))

    def __len__(self) -> int:
        return self.parts


def read_loop(name: str, parts: int, size: int, **read_options: int) -> Scenario:
    """A tool loop: in each of ``parts`` turns the model reads the next file with ``Read``
    (``read_options`` added to the input), then it answers with text. Each ``user`` frame
    carries its file twice (the numbered tool result and ``tool_use_result``), so the run
    writes a little over ``2 * parts * size`` bytes."""
    files = ReadLoopFiles(parts, size)
    steps = [
        _reply(
            f"msg_fake_{name}_{part}",
            tool_use_block(
                f"toolu_fake_{name}_{part:02d}", "Read", {"file_path": file, **read_options}
            ),
            stop_reason="tool_use",
        )
        for part, file in enumerate(files, 1)
    ]
    steps.append(_reply(f"msg_fake_{name}_done", text_block(f"I have read all {parts} files.")))
    return Scenario(
        name,
        tuple(steps),
        prompts=(f"Read {files.name(1)} to {files.name(parts)}, one after the other.",),
        project_files=files,
        # Whole files: no cut at the default 25,000 tokens of a read.
        env={"CLAUDE_CODE_FILE_READ_MAX_OUTPUT_TOKENS": "10000000"},
    )


SCENARIOS: dict[str, Scenario] = {
    scenario.name: scenario
    for scenario in (
        Scenario("plain_text", (_reply("msg_fake_plain", text_block("Hello from the fake API.")),)),
        Scenario("long_text", (_reply("msg_fake_long", text_block(LONG_TEXT, piece=8)),)),
        Scenario(
            "thinking",
            (
                _reply(
                    "msg_fake_thinking",
                    thinking_block(
                        "The user wants a short answer. I will reply briefly.",
                        "EqQBCkgIBxABGAIiQFakeSignatureBase64==",
                    ),
                    text_block("Short answer: 42."),
                ),
            ),
        ),
        Scenario(
            "bash_echo",
            (
                _reply(
                    "msg_fake_bash_1",
                    text_block("I'll run a command."),
                    tool_use_block(
                        "toolu_fake_bash",
                        "Bash",
                        {"command": "echo hello", "description": "Print hello"},
                    ),
                    stop_reason="tool_use",
                ),
                _reply("msg_fake_bash_2", text_block("The command printed hello.")),
            ),
        ),
        Scenario(
            "read_file",
            (
                _reply(
                    "msg_fake_read_1",
                    tool_use_block("toolu_fake_read", "Read", {"file_path": "notes.txt"}),
                    stop_reason="tool_use",
                ),
                _reply("msg_fake_read_2", text_block("The file has two lines.")),
            ),
            project_files={"notes.txt": READ_FILE_CONTENT},
        ),
        Scenario(
            "write_denied",
            (
                _reply(
                    "msg_fake_write_1",
                    tool_use_block(
                        "toolu_fake_write", "Write", {"file_path": "out.txt", "content": "data\n"}
                    ),
                    stop_reason="tool_use",
                ),
                _reply("msg_fake_write_2", text_block("I was not allowed to write the file.")),
            ),
        ),
        Scenario("error_500", (Step(APIError(500, "api_error", "Internal server error")),)),
        Scenario("error_529", (Step(APIError(529, "overloaded_error", "Overloaded")),)),
        Scenario("error_401", (Step(APIError(401, "authentication_error", "invalid x-api-key")),)),
        Scenario(
            "midstream_error",
            (
                Step(
                    Streamed(
                        Message(
                            "msg_fake_broken",
                            (text_block("This answer will break off in the middle.", piece=8),),
                            "end_turn",
                        ),
                        broken_after=3,
                    ),
                    NotStreamed(
                        Message("msg_fake_fallback", (text_block(_FALLBACK_TEXT),), "end_turn")
                    ),
                ),
            ),
        ),
        Scenario(
            "multi_turn",
            (
                _reply("msg_fake_turn_1", text_block("Hello, first turn.")),
                _reply("msg_fake_turn_2", text_block("Hello again, second turn.")),
            ),
            prompts=("Say hello.", "Say hello again."),
        ),
        # About 2.5 MB of stream-json in 27 frames.
        read_loop("read_loop", 12, 100_000),
        # About 50 MB in 51 frames. A file over 256 KB is read only with a line range, and
        # the CLI estimates a read's tokens: a file of 4 MB would not fit its context
        # ("Prompt is too long"). Every request carries the files read before it (320 MB
        # of request bodies in all): more, smaller files would cost the CLI more time,
        # fewer, larger ones would make each frame a consumer holds larger.
        read_loop("read_loop_large", 24, 1_000_000, offset=1, limit=1_000_000),
    )
}
"""The scenarios by name."""
