"""The e2e tests' helpers around :mod:`rxclaude.testing`.

:func:`rxclaude.testing.cli_invocation` prepares a run of the real CLI against the fake
API; ``collect`` subscribes to a pipeline and waits for its end with a deadline, so a hung
CLI fails the test instead of blocking it; ``run_cli`` does both for the usual pipeline,
with the built-in handlers and ``assemble_partials``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

from reactivex import Observable
from waiting import run_threaded

from rxclaude import (
    Message,
    Router,
    assemble_partials,
    find_claude,
    parse_json_frames,
    route_by_type,
)
from rxclaude.handlers import DefaultRouter
from rxclaude.partials import PartialItem
from rxclaude.testing import SCENARIOS, CLIInvocation, cli_invocation

STREAM_JSON = ["--output-format", "stream-json", "--verbose", "--no-session-persistence"]
"""The output flags of every run."""

PARTIALS = "--include-partial-messages"

RUN_DEADLINE = 60.0
"""Seconds a CLI run may take before ``collect`` gives up on it (only reached on a hang)."""

_T = TypeVar("_T")


def find_cli() -> str | None:
    """The CLI the tests run: ``rxclaude.find_claude()``."""
    return find_claude()


def prompt_args(scenario: str, *extra: str) -> list[str]:
    """``-p`` with the scenario's first prompt, the output flags, then ``extra``."""
    return ["-p", SCENARIOS[scenario].prompts[0], *STREAM_JSON, *extra]


@dataclass(frozen=True)
class Outcome(Generic[_T]):
    """What a subscription delivered: every item, then the error or completion."""

    items: list[_T]
    error: Exception | None


def collect(source: Observable[_T], deadline: float = RUN_DEADLINE) -> Outcome[_T]:
    """Subscribes, waits for the end (at most ``deadline`` seconds) and returns it all.

    Raises:
        AssertionError: the stream had not ended by the deadline; the subscription is
            disposed first, which ends the CLI.
    """
    items, errors = run_threaded(source, deadline)
    return Outcome(items, errors[0] if errors else None)


def label(message: Message) -> str:
    """``type/subtype``; for stream events the event type, and the delta type of deltas.

    E.g. ``system/init``, ``assistant``, ``result/success``,
    ``stream_event/content_block_delta/text_delta``.
    """
    if message.type == "stream_event" and message.raw is not None:
        event = message.raw["event"]
        name = f"stream_event/{event['type']}"
        delta = event.get("delta")
        return f"{name}/{delta['type']}" if event["type"] == "content_block_delta" else name
    return f"{message.type}/{message.subtype}" if message.subtype else message.type


def fingerprint(message: Message) -> tuple[str, Any]:
    """What a frame says, without what changes from run to run (ids, times, costs)."""
    raw = message.raw
    assert raw is not None, message
    if message.type == "stream_event":
        return label(message), raw["event"]
    if message.type in ("assistant", "user"):
        return label(message), raw["message"]["content"]
    if message.type == "result":
        return label(message), (raw.get("is_error"), raw.get("result"))
    return label(message), raw.get("status")


@dataclass(frozen=True)
class CLIRun:
    """A finished run: what ``from_cli | parse_json_frames | route_by_type(router) |
    assemble_partials`` delivered, and the router with the built-in handlers' results."""

    invocation: CLIInvocation
    items: list[Message]
    error: Exception | None
    router: DefaultRouter

    @property
    def messages(self) -> list[Message]:
        """The CLI's frames (the items without the ones ``assemble_partials`` added)."""
        return [item for item in self.items if not isinstance(item, PartialItem)]

    @property
    def partials(self) -> list[PartialItem]:
        """The items ``assemble_partials`` added."""
        return [item for item in self.items if isinstance(item, PartialItem)]

    @property
    def labels(self) -> list[str]:
        return [label(message) for message in self.messages]


def run_cli(
    scenario: str,
    claude_args: Sequence[str],
    *,
    workdir: Path,
    claude: str | None = None,
    input: Observable[bytes] | None = None,
    router: DefaultRouter | None = None,
) -> CLIRun:
    """Runs the CLI against ``scenario`` through the usual pipeline, to its end.

    ``router`` defaults to ``Router.default()``; pass one to add handlers of your own.
    """
    invocation = cli_invocation(scenario, claude_args, workdir=workdir, claude=claude)
    router = router if router is not None else Router.default()
    source = invocation.source(input=input)
    outcome = collect(source.pipe(parse_json_frames(), route_by_type(router), assemble_partials()))
    return CLIRun(invocation, outcome.items, outcome.error, router)
