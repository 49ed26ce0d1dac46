"""The built-in scenarios: the ones rxclaude's own end-to-end tests run, by name.

Each is a :class:`~rxclaude.testing.scenario.Scenario`; ``SCENARIOS[name]`` finds one.
Write your own with the same classes and pass the object instead of a name.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from .scenario import (
    APIError,
    NotStreamed,
    Response,
    Scenario,
    Step,
    Streamed,
    reply,
    text_block,
    thinking_block,
    tool_use_block,
)

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
        reply(
            f"msg_fake_{name}_{part}",
            tool_use_block(
                f"toolu_fake_{name}_{part:02d}", "Read", {"file_path": file, **read_options}
            ),
            stop_reason="tool_use",
        )
        for part, file in enumerate(files, 1)
    ]
    steps.append(reply(f"msg_fake_{name}_done", text_block(f"I have read all {parts} files.")))
    return Scenario(
        name,
        tuple(steps),
        prompts=(f"Read {files.name(1)} to {files.name(parts)}, one after the other.",),
        project_files=files,
        # Whole files: no cut at the default 25,000 tokens of a read.
        env={"CLAUDE_CODE_FILE_READ_MAX_OUTPUT_TOKENS": "10000000"},
    )


def _write_file(message_id: str, tool_id: str, name: str, content: str) -> Step:
    return reply(
        message_id,
        text_block(f"I'll write {name}."),
        tool_use_block(tool_id, "Write", {"file_path": name, "content": content}),
        stop_reason="tool_use",
    )


def _bash(message_id: str, tool_id: str, command: str, description: str) -> Step:
    return reply(
        message_id,
        tool_use_block(tool_id, "Bash", {"command": command, "description": description}),
        stop_reason="tool_use",
    )


SESSION_SCENARIOS = (
    # A tool that needs permission in the ``default`` mode (a session allows or denies it).
    Scenario(
        "permission_write",
        (
            _write_file("msg_fake_perm_1", "toolu_fake_perm", "out.txt", "data\n"),
            reply("msg_fake_perm_2", text_block("That is all for the file.")),
        ),
        prompts=("Write data to out.txt.",),
    ),
    # Three turns in one process, the second with a tool call that needs permission.
    Scenario(
        "session_turns",
        (
            reply("msg_fake_turns_1", text_block("First turn: hello.")),
            _write_file("msg_fake_turns_2", "toolu_fake_turns", "turn_two.txt", "two\n"),
            reply("msg_fake_turns_3", text_block("Second turn: the file is written.")),
            reply("msg_fake_turns_4", text_block("Third turn: goodbye.")),
        ),
        prompts=("Say hello.", "Write turn_two.txt.", "Say goodbye."),
    ),
    # A turn whose stream stalls after three deltas until the CLI is interrupted, then a
    # turn that completes.
    Scenario(
        "interrupted",
        (
            Step(
                Streamed(
                    Response("msg_fake_stalled", (text_block(LONG_TEXT, piece=8),), "end_turn"),
                    stall_after=3,
                )
            ),
            reply("msg_fake_after_interrupt", text_block("Back after the interrupt.")),
        ),
        prompts=("Tell me a long story.", "Are you still there?"),
    ),
    # ``set_model`` checks the new model with a non-streaming request before the turn.
    Scenario(
        "model_switch",
        (
            Step(
                Streamed(Response("msg_fake_switch", (text_block("Model switched."),), "end_turn")),
                NotStreamed(Response("msg_fake_check", (text_block("ok"),), "end_turn")),
            ),
        ),
        prompts=("Which model is this?",),
    ),
    # A Bash command that writes a file (so it needs permission), for hooks to watch.
    Scenario(
        "bash_touch",
        (
            _bash("msg_fake_touch_1", "toolu_fake_touch", "touch touched.txt", "Create a file"),
            reply("msg_fake_touch_2", text_block("The command is done.")),
        ),
        prompts=("Create touched.txt.",),
    ),
)
"""The scenarios of interactive sessions (``rxclaude.interactive``)."""

SCENARIOS: dict[str, Scenario] = {
    scenario.name: scenario
    for scenario in (
        Scenario("plain_text", (reply("msg_fake_plain", text_block("Hello from the fake API.")),)),
        Scenario("long_text", (reply("msg_fake_long", text_block(LONG_TEXT, piece=8)),)),
        Scenario(
            "thinking",
            (
                reply(
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
                reply(
                    "msg_fake_bash_1",
                    text_block("I'll run a command."),
                    tool_use_block(
                        "toolu_fake_bash",
                        "Bash",
                        {"command": "echo hello", "description": "Print hello"},
                    ),
                    stop_reason="tool_use",
                ),
                reply("msg_fake_bash_2", text_block("The command printed hello.")),
            ),
        ),
        Scenario(
            "read_file",
            (
                reply(
                    "msg_fake_read_1",
                    tool_use_block("toolu_fake_read", "Read", {"file_path": "notes.txt"}),
                    stop_reason="tool_use",
                ),
                reply("msg_fake_read_2", text_block("The file has two lines.")),
            ),
            project_files={"notes.txt": READ_FILE_CONTENT},
        ),
        Scenario(
            "write_denied",
            (
                reply(
                    "msg_fake_write_1",
                    tool_use_block(
                        "toolu_fake_write", "Write", {"file_path": "out.txt", "content": "data\n"}
                    ),
                    stop_reason="tool_use",
                ),
                reply("msg_fake_write_2", text_block("I was not allowed to write the file.")),
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
                        Response(
                            "msg_fake_broken",
                            (text_block("This answer will break off in the middle.", piece=8),),
                            "end_turn",
                        ),
                        broken_after=3,
                    ),
                    NotStreamed(
                        Response("msg_fake_fallback", (text_block(_FALLBACK_TEXT),), "end_turn")
                    ),
                ),
            ),
        ),
        Scenario(
            "multi_turn",
            (
                reply("msg_fake_turn_1", text_block("Hello, first turn.")),
                reply("msg_fake_turn_2", text_block("Hello again, second turn.")),
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
        *SESSION_SCENARIOS,
    )
}
"""The scenarios by name."""
