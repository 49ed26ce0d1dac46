"""``rxclaude view``: how each turn ends, the user's prompts, compaction, subagents nested by
``parent_tool_use_id``, and tool results under the call they answer (issue #13, item 3).

Each test streams frames through the command's real pipeline (``Session``, the plain
output) and checks the exact lines shown. Tool durations are left out of the comparison:
they depend on how fast this machine read the frames.
"""

from __future__ import annotations

import io
import json
import re
from typing import Any

import pytest
import reactivex
from corpus_files import bundled_recordings, recording

from rxclaude import sample_names, sample_path
from rxclaude.command.format import outcome
from rxclaude.command.session import Session, make_console
from rxclaude.command.view import watch
from rxclaude.command.view_calls import MAX_DEPTH

DURATION = re.compile(r"  \(\d[\d.]* m?s\)$")


def view(frames: list[dict[str, Any]]) -> list[str]:
    """The lines ``view`` shows for ``frames``, durations left out."""
    data = b"".join(json.dumps(frame).encode() + b"\n" for frame in frames)
    return view_bytes(data)


def view_bytes(data: bytes) -> list[str]:
    out = io.StringIO()
    error = watch(Session(), reactivex.just(data), make_console(out))
    assert error is None
    return [DURATION.sub("", line) for line in out.getvalue().splitlines()]


def assistant(*blocks: dict[str, Any], parent: str | None = None) -> dict[str, Any]:
    return {
        "type": "assistant",
        "message": {"id": "m", "content": list(blocks)},
        "parent_tool_use_id": parent,
    }


def user(content: str | list[dict[str, Any]], parent: str | None = None, **extra: Any) -> Any:
    return {
        "type": "user",
        "message": {"role": "user", "content": content},
        "parent_tool_use_id": parent,
        **extra,
    }


def call(call_id: str, name: str, **arguments: Any) -> dict[str, Any]:
    return {"type": "tool_use", "id": call_id, "name": name, "input": arguments}


def answer(call_id: str, text: str, is_error: bool = False) -> dict[str, Any]:
    return {"type": "tool_result", "tool_use_id": call_id, "content": text, "is_error": is_error}


def text(value: str) -> dict[str, Any]:
    return {"type": "text", "text": value}


# -- how a turn ends ------------------------------------------------------------------


def result(**fields: Any) -> dict[str, Any]:
    frame = {
        "type": "result",
        "num_turns": 1,
        "duration_ms": 829,
        "usage": {"input_tokens": 3, "output_tokens": 4},
        "total_cost_usd": 0.5,
    }
    return frame | fields


FACTS = "1 turn · 829 ms · 3 in / 4 out tokens · $0.5"


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        (  # the CLI's shape of a turn that died on an API error
            {
                "subtype": "success",
                "is_error": True,
                "terminal_reason": "api_error",
                "api_error_status": 529,
                "result": "API Error: 529 Overloaded.",
            },
            [
                f"✗ error · terminal_reason api_error · API 529 · {FACTS}",
                "  API Error: 529 Overloaded.",
            ],
        ),
        (
            {
                "subtype": "error_max_turns",
                "is_error": True,
                "terminal_reason": "max_turns",
                "errors": ["Reached maximum number of turns (1)"],
            },
            [
                f"✗ error_max_turns · terminal_reason max_turns · {FACTS}",
                "  Reached maximum number of turns (1)",
            ],
        ),
        (  # a startup failure: no terminal_reason
            {"subtype": "error_during_execution", "is_error": True, "errors": ["No conversation"]},
            [f"✗ error_during_execution · {FACTS}", "  No conversation"],
        ),
        (
            {"subtype": "success", "is_error": False, "terminal_reason": "completed"},
            [f"✓ done · completed · {FACTS}"],
        ),
        ({"subtype": "success", "is_error": False}, [f"✓ done · {FACTS}"]),  # older CLIs
        (  # a subtype the CLI does not write on a success is shown, not hidden
            {"subtype": "error_max_turns", "is_error": False},
            [f"✓ done (error_max_turns) · {FACTS}"],
        ),
    ],
)
def test_the_outcome_comes_from_is_error_with_the_terminal_reason(
    fields: dict[str, Any], expected: list[str]
) -> None:
    assert view([result(**fields)]) == expected


def test_the_outcome_of_every_result_in_the_recordings() -> None:
    """Every ``result`` of the bundled samples and the real recordings: the mark follows
    ``is_error``, an error subtype is named, ``terminal_reason`` and the API status shown."""
    paths = [*bundled_recordings(), *(sample_path(name) for name in sample_names())]
    seen = 0
    for path in paths:
        for line in path.read_bytes().splitlines():
            try:
                frame = json.loads(line)
            except ValueError:
                continue
            if not isinstance(frame, dict) or frame.get("type") != "result":
                continue
            seen += 1
            shown = outcome(
                frame["is_error"],
                frame.get("subtype"),
                frame.get("terminal_reason"),
                frame.get("api_error_status"),
            )
            assert shown.startswith("✗" if frame["is_error"] else "✓ done"), (path, shown)
            if frame["is_error"] and frame["subtype"].startswith("error_"):
                assert shown.startswith(f"✗ {frame['subtype']}")
            if frame.get("terminal_reason"):
                assert frame["terminal_reason"] in shown
            if frame.get("api_error_status") is not None:
                assert f"API {frame['api_error_status']}" in shown
    assert seen >= 20


# -- prompts and compaction -------------------------------------------------------------


def test_prompts_are_shown_from_string_and_block_content_but_tool_results_are_not() -> None:
    lines = view(
        [
            user("Say hello"),
            user([text("first line\nsecond line"), {"type": "image", "source": {}}]),
            user([answer("t9", "a result, not a prompt")]),
            user("summary of the earlier conversation", isSynthetic=True),
        ]
    )
    assert lines == [
        "> Say hello",
        "> first line",
        "  second line",
        "  [image]",
        "  ⎿ t9 · a result, not a prompt",
        "> [synthetic] summary of the earlier conversation",
    ]


def test_a_long_prompt_is_shortened_to_its_first_lines() -> None:
    lines = view([user("\n".join(f"line {n}" for n in range(10)))])
    assert lines == ["> line 0", "  line 1", "  line 2", "  … +7 lines"]


def test_compaction_is_shown_with_its_trigger_and_tokens() -> None:
    boundary = {"type": "system", "subtype": "compact_boundary"}
    metadata = {"trigger": "auto", "pre_tokens": 160000, "post_tokens": 4000, "duration_ms": 2500}
    assert view([boundary | {"compact_metadata": metadata}, boundary]) == [
        "≡ compacted (auto) · 160000 tokens before · 4000 after · 2.5 s",
        "≡ compacted",
    ]


def test_the_compaction_recording_shows_the_boundary_and_the_turns_after_it() -> None:
    lines = view_bytes(recording("compact_boundary_multiturn.stdout"))
    boundary = lines.index("≡ compacted (manual) · 59 tokens before · 2597 after · 119 ms")
    assert lines[boundary + 1].startswith("> [synthetic] This session is being continued")
    assert "> <local-command-stdout>Compacted </local-command-stdout>" in lines[boundary:]
    assert [line for line in lines if line.startswith("✓")] == [
        "✓ done · completed · 1 turn · 218 ms · 42 in / 17 out tokens · $0.000381",
        "✓ done · 0 turns · 162 ms · 0 in / 0 out tokens · $0.001143",
        "✓ done · completed · 1 turn · 89 ms · 42 in / 17 out tokens · $0.001524",
    ]


# -- tool results under their calls ---------------------------------------------------------


def test_a_result_right_under_its_call_is_plain() -> None:
    assert view([assistant(call("t1", "Bash", command="ls")), user([answer("t1", "a\nb")])]) == [
        '● #1 Bash(command="ls")',
        "  ⎿ a",
        "    b",
    ]


def test_parallel_results_arriving_out_of_order_name_their_calls() -> None:
    lines = view(
        [
            assistant(call("t1", "Bash", command="ls")),
            assistant(call("t2", "Read", file_path="x")),
            assistant(call("t3", "Bash", command="date")),
            user([answer("t3", "Tuesday")]),
            user([answer("t1", "denied", is_error=True)]),
            user([answer("t2", "contents")]),
        ]
    )
    assert lines == [
        '● #1 Bash(command="ls")',
        '● #2 Read(file_path="x")',
        '● #3 Bash(command="date")',
        "  ⎿ #3 Bash · Tuesday",  # under the last call but another is outstanding: named
        "  ⎿ #1 Bash · error: denied",
        "  ⎿ #2 Read · contents",
    ]


def test_results_arriving_together_are_shown_in_the_order_of_their_calls() -> None:
    lines = view(
        [
            assistant(call("t1", "Glob", pattern="a"), call("t2", "Glob", pattern="b")),
            user([answer("t2", "b.py"), answer("t1", "a.py"), answer("t0", "unseen call")]),
        ]
    )
    assert lines == [
        '● #1 Glob(pattern="a")',
        '● #2 Glob(pattern="b")',
        "  ⎿ #1 Glob · a.py",
        "  ⎿ #2 Glob · b.py",
        "  ⎿ t0 · unseen call",
    ]


def test_the_parallel_tools_recording_names_each_result() -> None:
    lines = view_bytes(recording("parallel_tools"))
    results = [line[: line.index(" · ")] for line in lines if "⎿" in line]
    assert results == ["  ⎿ #1 Bash", "  ⎿ #2 Bash", "  ⎿ #3 Bash"]


# -- subagents ------------------------------------------------------------------------------


def test_subagents_nest_by_parent_tool_use_id() -> None:
    lines = view(
        [
            assistant(call("task", "Task", prompt="look")),
            user([text("look around")], parent="task"),
            assistant(call("inner", "Task", prompt="deeper"), parent="task"),
            assistant(call("ls", "Bash", command="ls"), parent="inner"),
            user([answer("ls", "x.txt")], parent="inner"),
            assistant(text("inner done"), parent="inner"),
            user([answer("inner", "found x.txt")], parent="task"),
            assistant({"type": "thinking", "thinking": "so"}, text("outer done"), parent="task"),
            user([answer("task", "x.txt it is")]),
        ]
    )
    assert lines == [
        '● #1 Task(prompt="look")',
        "  > look around",
        '  ● #2 Task(prompt="deeper")',
        '    ● #3 Bash(command="ls")',
        "      ⎿ x.txt",
        "    │ inner done",
        "    ⎿ #2 Task · found x.txt",
        "  ✻ so",
        "  │ outer done",
        "  ⎿ #1 Task · x.txt it is",
    ]


def test_parallel_subagents_say_whose_lines_follow_when_the_speaker_changes() -> None:
    lines = view(
        [
            assistant(call("a", "Agent", description="one")),
            assistant(call("b", "Agent", description="two")),
            assistant(text("a starts"), parent="a"),
            assistant(text("b starts"), parent="b"),
            assistant(text("b goes on"), parent="b"),
            assistant(call("ls", "Bash", command="ls"), parent="a"),
            user([answer("ls", "x.txt")], parent="a"),
            user([answer("a", "a's report")]),
            assistant(text("b ends"), parent="b"),
        ]
    )
    assert lines == [
        '● #1 Agent(description="one")',
        '● #2 Agent(description="two")',
        "  ↳ #1 Agent",  # the call just above is #2's
        "  │ a starts",
        "  ↳ #2 Agent",
        "  │ b starts",
        "  │ b goes on",
        "  ↳ #1 Agent",
        '  ● #3 Bash(command="ls")',
        "    ⎿ x.txt",
        "  ⎿ #1 Agent · a's report",
        "  ↳ #2 Agent",
        "  │ b ends",
    ]


def test_one_subagent_needs_no_introduction() -> None:
    lines = view(
        [
            assistant(call("a", "Agent", description="one")),
            assistant(text("working"), parent="a"),
            assistant(call("ls", "Bash", command="ls"), parent="a"),
            user([answer("ls", "x.txt")], parent="a"),
            assistant(text("done"), parent="a"),
            user([answer("a", "report")]),
        ]
    )
    assert lines == [
        '● #1 Agent(description="one")',
        "  │ working",
        '  ● #2 Bash(command="ls")',
        "    ⎿ x.txt",
        "  │ done",
        "  ⎿ #1 Agent · report",
    ]


def test_parents_named_in_a_circle_do_not_hang_the_view() -> None:
    lines = view(
        [
            assistant(call("x", "Task"), parent="y"),
            assistant(call("y", "Task"), parent="x"),
            assistant(text("hello"), parent="x"),
            assistant(text("there"), parent="y"),
        ]
    )
    assert lines == [
        "  ↳ y",  # a subagent whose call the view never saw: named by its id
        "  ● #1 Task()",
        "    ● #2 Task()",
        "    │ hello",
        "      │ there",
    ]


def test_subagents_nest_at_most_max_depth_levels_then_say_whose_lines_follow() -> None:
    frames = [assistant(call("c0", "Task"))]
    frames += [assistant(call(f"c{n}", "Task"), parent=f"c{n - 1}") for n in range(1, 11)]
    lines = view(frames)
    deepest = "  " * MAX_DEPTH
    assert lines == [
        *(f"{'  ' * n}● #{n + 1} Task()" for n in range(MAX_DEPTH + 1)),
        f"{deepest}↳ #9 Task",  # c9 is shown as deep as c8, so it is said to be c8's
        f"{deepest}● #10 Task()",
        f"{deepest}↳ #10 Task",
        f"{deepest}● #11 Task()",
    ]


def test_labels_of_hostile_calls_are_sanitised() -> None:
    frames = [
        assistant(call("t\x1b", "B\x9bash", command="x")),
        assistant(call("u", "Read")),
        user([answer("t\x1b", "\u202eevil")]),
    ]
    lines = view(frames)
    assert lines[2] == "  ⎿ #1 B\\u009bash · \\u202eevil"
