"""Sessions against a stand-in for the CLI (Python run by the sandbox launcher in its
place), for what the real CLI does not do on demand: control requests of unknown
subtypes, requests withdrawn, answers that never come, and many permission prompts in a
row (the latency measurement: ``cd tests && python -m e2e.test_session_stand_in``).

The stand-in answers ``initialize``, then plays its script: each request is written, the
line the session answers with is read and reported back as a ``system`` frame
(``stand_in_answer``), so the test sees exactly what the session wrote.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

import pytest
from conftest import TIMEOUT, Recording
from reactivex import operators as ops
from waiting import wait_until

from rxclaude import Message
from rxclaude.backpressure import Policy, backpressure
from rxclaude.interactive import (
    ClaudeSession,
    ControlEvent,
    ControlTimeoutError,
    HookMatcher,
    allow,
)
from rxclaude.messages.control import CanUseToolRequest
from rxclaude.testing import cli_invocation

pytestmark = pytest.mark.e2e

STAND_IN = r"""
import json, os, sys, time

def read():
    line = sys.stdin.readline()
    return json.loads(line) if line else None

def write(frame):
    sys.stdout.write(json.dumps(frame) + "\n")
    sys.stdout.flush()

def request(request_id, subtype, **fields):
    return {"type": "control_request", "request_id": request_id,
            "request": {"subtype": subtype, **fields}}

init = read()
write({"type": "control_response", "response": {
    "subtype": "success", "request_id": init["request_id"], "response": {"pid": os.getpid()}}})
SCRIPT
while read() is not None:  # the host's other lines go unanswered
    pass
"""

ASK_EACH = """
for frame in FRAMES:
    write(frame)
    write({"type": "system", "subtype": "stand_in_answer", "answer": read()})
"""

CANCEL = """
write(request("perm_1", "can_use_tool", tool_name="Write", input={}, tool_use_id="t1"))
write({"type": "control_cancel_request", "request_id": "perm_1"})
write(request("hook_1", "hook_callback", callback_id="hook_0", input={}))
write({"type": "system", "subtype": "stand_in_answer", "answer": read()})
"""

PROMPTS = """
latencies = []
for n in range(COUNT):
    for filler in range(FILLER):
        write({"type": "assistant", "message": {"role": "assistant", "content": [
            {"type": "text", "text": f"filler {n}.{filler}"}]}})
    started = time.perf_counter()
    write(request(f"perm_{n}", "can_use_tool", tool_name="Read", input={"n": n},
                  tool_use_id=f"t{n}"))
    answer = read()
    latencies.append(time.perf_counter() - started)
    assert answer["response"]["request_id"] == f"perm_{n}", answer
write({"type": "system", "subtype": "stand_in_latencies", "latencies": latencies})
"""


def stand_in(script: str, workdir: Path, **options: Any) -> ClaudeSession:
    program = STAND_IN.replace("SCRIPT", script)
    invocation = cli_invocation(
        "plain_text", ["-c", program], workdir=workdir, claude=sys.executable
    )
    return invocation.session(**options)


def ask_each(frames: list[dict[str, Any]]) -> str:
    return f"FRAMES = json.loads({json.dumps(frames)!r})\n{ASK_EACH}"


def answers(messages: list[Message]) -> list[Any]:
    return [message.raw["answer"] for message in messages if message.raw is not None]


def request(request_id: str, subtype: str, **fields: Any) -> dict[str, Any]:
    return {
        "type": "control_request",
        "request_id": request_id,
        "request": {"subtype": subtype, **fields},
    }


def error(request_id: str, text: str) -> dict[str, Any]:
    return {
        "type": "control_response",
        "response": {"subtype": "error", "request_id": request_id, "error": text},
    }


def run_until(
    session: ClaudeSession, frames: int
) -> tuple[Recording[Message], Recording[ControlEvent]]:
    """Starts the session, waits for ``frames`` messages, then closes it (which ends the
    stand-in's input: it exits)."""
    messages: Recording[Message] = Recording()
    control: Recording[ControlEvent] = Recording()
    session.messages.subscribe(messages)
    session.control.subscribe(control)
    with session:
        wait_until(lambda: len(messages.items) >= frames)
    messages.wait_done()
    control.wait_done()
    assert messages.error is None and messages.completed
    return messages, control


def test_requests_the_host_cannot_answer_get_error_responses(workdir: Path) -> None:
    frames = [
        request("r1", "made_up_subtype", anything=1),
        request("r2", "can_use_tool", tool_name="Write", input={}, tool_use_id="t1"),
        request("r3", "mcp_message", server_name="nowhere", message={"jsonrpc": "2.0"}),
        request("r4", "hook_callback", callback_id="hook_0", input={}),
    ]
    session = stand_in(ask_each(frames), workdir)
    messages, control = run_until(session, len(frames))
    assert answers(messages.items) == [
        error("r1", "unsupported control request subtype: 'made_up_subtype'"),
        error("r2", "unsupported control request subtype: 'can_use_tool'"),
        error("r3", "unsupported control request subtype: 'mcp_message'"),
        error("r4", "unsupported control request subtype: 'hook_callback'"),
    ]
    received = [event.message.raw for event in control.items if event.direction == "received"]
    assert received[1:] == frames  # after the answer to initialize
    assert [type(event.message).__name__ for event in control.items[2:]] == [
        "ControlRequestMessage",
        "ControlErrorResponse",
        "CanUseToolRequest",
        "ControlErrorResponse",
        "McpMessageRequest",
        "ControlErrorResponse",
        "HookCallbackRequest",
        "ControlErrorResponse",
    ]


def test_failing_handlers_answer_with_errors(workdir: Path) -> None:
    def broken_permission(request: CanUseToolRequest) -> Any:
        raise RuntimeError("no decision today")

    frames = [
        request("r1", "can_use_tool", tool_name="Write", input={}, tool_use_id="t1"),
        request("r2", "hook_callback", callback_id="hook_9", input={}),
        request("r3", "hook_callback", callback_id="hook_0", input={}),
    ]

    def broken_hook(request: Any) -> dict[str, Any]:
        raise ValueError("hook broke")

    hooks = {"PreToolUse": [HookMatcher([broken_hook])]}
    session = stand_in(ask_each(frames), workdir, can_use_tool=broken_permission, hooks=hooks)
    messages, _ = run_until(session, len(frames))
    assert answers(messages.items) == [
        error("r1", "the permission function failed: RuntimeError('no decision today')"),
        error("r2", "the hook failed: LookupError(\"no hook callback has the id 'hook_9'\")"),
        error("r3", "the hook failed: ValueError('hook broke')"),
    ]


def test_a_permission_policy_that_ends_answers_the_open_requests(workdir: Path) -> None:
    frames = [request("r1", "can_use_tool", tool_name="Write", input={}, tool_use_id="t1")]
    undecided = ops.take_while(lambda _: False)  # ends at the first request, deciding nothing
    session = stand_in(ask_each(frames), workdir, permission_policy=undecided)
    messages, _ = run_until(session, len(frames))
    assert answers(messages.items) == [error("r1", "the permission policy ended")]


def test_a_withdrawn_request_is_not_answered(workdir: Path) -> None:
    """The permission function decides after the CLI withdrew the request: the decision is
    not written, so the next line the stand-in reads is the hook's answer (the control
    thread runs the hook after the permission function)."""
    cancelled = threading.Event()

    def wait_for_the_cancel(request: CanUseToolRequest) -> Any:
        assert cancelled.wait(TIMEOUT)
        return allow(request)

    def on_control(event: ControlEvent) -> None:
        if event.message.type == "control_cancel_request":
            cancelled.set()

    hooks = {"PreToolUse": [HookMatcher([lambda _: {"continue": True}])]}
    session = stand_in(CANCEL, workdir, can_use_tool=wait_for_the_cancel, hooks=hooks)
    session.control.subscribe(on_control)
    messages, control = run_until(session, 1)
    success = {"subtype": "success", "request_id": "hook_1", "response": {"continue": True}}
    assert answers(messages.items) == [{"type": "control_response", "response": success}]
    assert [(event.direction, type(event.message).__name__) for event in control.items[2:]] == [
        ("received", "CanUseToolRequest"),
        ("received", "ControlCancelRequestMessage"),
        ("received", "HookCallbackRequest"),
        ("sent", "ControlSuccessResponse"),
    ]


def test_an_unanswered_request_times_out_with_a_clear_error(workdir: Path) -> None:
    session = stand_in("", workdir, control_timeout=0.2)
    with session, pytest.raises(ControlTimeoutError) as timed_out:
        session.interrupt()
    error = timed_out.value
    assert (error.subtype, error.timeout) == ("interrupt", 0.2)
    assert str(error) == (
        f"the CLI did not answer the control request 'interrupt' ({error.request_id}) within 0.2 s"
    )


# -- latency: from a permission prompt written to its answer read back --------------------


def prompt_latencies(workdir: Path, count: int, filler: int, held: bool) -> list[float]:
    """Round trips of ``count`` permission prompts, each after ``filler`` messages, as the
    stand-in measures them; ``held``: the consumer holds its first message all along,
    behind a full one-slot BLOCK buffer."""
    script = PROMPTS.replace("COUNT", str(count)).replace("FILLER", str(filler))
    session = stand_in(script, workdir, can_use_tool=allow)
    release = threading.Event()
    report: list[list[float]] = []
    done = threading.Event()

    def consume(message: Message) -> None:
        if held and not release.is_set():
            release.wait(TIMEOUT)
        if message.subtype == "stand_in_latencies" and message.raw is not None:
            report.append(message.raw["latencies"])

    def release_after_the_last_answer(event: ControlEvent) -> None:
        raw = event.message.raw or {}
        if raw.get("response", {}).get("request_id") == f"perm_{count - 1}":
            release.set()

    if held:
        session.control.subscribe(release_after_the_last_answer)
    session.messages.pipe(backpressure(Policy.BLOCK, buffer_size=1)).subscribe(
        consume, lambda _: done.set(), done.set
    )
    with session:
        wait_until(lambda: bool(report))
    assert done.wait(TIMEOUT)
    (latencies,) = report
    return latencies


@pytest.mark.parametrize("held", [False, True], ids=["consumer free", "consumer held"])
def test_every_prompt_is_answered_in_order(held: bool, workdir: Path) -> None:
    latencies = prompt_latencies(workdir, count=20, filler=5, held=held)
    assert len(latencies) == 20 and all(latency < TIMEOUT for latency in latencies)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main() -> None:
    """Prints p50/p99 of the prompt round trip, consumer free and held."""
    with tempfile.TemporaryDirectory() as directory:
        for held in (False, True):
            latencies = prompt_latencies(Path(directory), count=1000, filler=10, held=held)
            print(
                f"consumer {'held' if held else 'free'}: {len(latencies)} prompts, "
                f"p50 {percentile(latencies, 0.5) * 1e3:.3f} ms, "
                f"p99 {percentile(latencies, 0.99) * 1e3:.3f} ms, "
                f"mean {statistics.fmean(latencies) * 1e3:.3f} ms"
            )


if __name__ == "__main__":
    main()
