"""Tool input JSON streamed in ``input_json_delta`` pieces has the framing's nesting limit.

The pieces are strings inside the frames, so framing does not see their nesting; the
partial assembler decodes them itself, with the same limit, on any stack.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from rxclaude import Message
from rxclaude.framing import MAX_NESTING_DEPTH
from rxclaude.messages import message_from_json
from rxclaude.partials import BlockComplete, PartialAssembler


def streamed_tool_call(partial_json: str) -> list[Message]:
    """The stream events of one tool call whose input arrives as ``partial_json``."""
    start = {"type": "tool_use", "id": "toolu_1", "name": "Deep", "input": {}}
    events = [
        {"type": "message_start", "message": {"id": "msg_1", "content": []}},
        {"type": "content_block_start", "index": 0, "content_block": start},
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "input_json_delta", "partial_json": partial_json},
        },
        {"type": "content_block_stop", "index": 0},
    ]
    return [message_from_json({"type": "stream_event", "event": event}) for event in events]


def completed(partial_json: str) -> BlockComplete:
    assembler = PartialAssembler()
    items = [
        item for message in streamed_tool_call(partial_json) for item in assembler.feed(message)
    ]
    (complete,) = [item for item in items if isinstance(item, BlockComplete)]
    return complete


def tool_input(depth: int) -> str:
    """A tool input object nesting ``depth`` levels in all."""
    return '{"x":' + "[" * (depth - 1) + "]" * (depth - 1) + "}"


@pytest.mark.parametrize("depth", [MAX_NESTING_DEPTH - 1, MAX_NESTING_DEPTH])
def test_a_tool_input_up_to_the_limit_is_parsed(depth: int) -> None:
    complete = completed(tool_input(depth))
    assert complete.json_error is None
    assert complete.assembled.raw["input"] == json.loads(tool_input(depth))


@pytest.mark.parametrize("depth", [MAX_NESTING_DEPTH + 1, 900, 10_000])
def test_a_tool_input_past_the_limit_is_a_json_error(depth: int) -> None:
    complete = completed(tool_input(depth))
    assert complete.json_error == f"invalid JSON: nests deeper than {MAX_NESTING_DEPTH} levels"
    assert complete.partial_json == tool_input(depth)
    assert complete.assembled.raw["input"] == {}


SMALL_STACK_SCRIPT = f"""
import sys, threading
sys.path.insert(0, {str(__file__.rsplit("/", 1)[0])!r})
from test_parse_partial_json_depth import completed, tool_input

errors = []

def run():
    for depth in (900, 10_000):
        errors.append(completed(tool_input(depth)).json_error)

threading.stack_size(256 * 1024)
worker = threading.Thread(target=run)
worker.start()
worker.join()
print(errors)
"""


def test_a_thread_with_a_256_kib_stack_gets_the_json_errors() -> None:
    """Run in a child process: an overflow there is a failed test, not a crashed run."""
    done = subprocess.run(
        [sys.executable, "-c", SMALL_STACK_SCRIPT], capture_output=True, timeout=120, check=False
    )
    assert done.returncode == 0, f"the child died ({done.returncode}): {done.stderr[-2000:]!r}"
    error = f"invalid JSON: nests deeper than {MAX_NESTING_DEPTH} levels"
    assert done.stdout.decode().strip() == repr([error, error])
