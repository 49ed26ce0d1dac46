"""``backpressure`` against the real CLI process, on the ``long_text`` scenario.

The slow consumer holds the first message until the buffer shows the effect of the hold
(a producer waiting with ``BLOCK``; a hundred drops with ``DROP_OLDEST``), then lets the
rest through. The unthrottled run to compare with is the shared ``long_text`` fixture.
"""

from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path

import psutil
import pytest
from reactivex import operators as ops
from waiting import DEADLINE, wait_until

from rxclaude import (
    Message,
    Policy,
    Router,
    backpressure,
    from_cli,
    parse_json_frames,
    route_by_type,
)
from rxclaude.backpressure import BackpressureStatistics
from rxclaude.messages import ResultMessage
from rxclaude.testing import SCENARIOS, cli_invocation

from .harness import (
    PARTIALS,
    CLIRun,
    collect,
    fingerprint,
    prompt_args,
)

pytestmark = pytest.mark.e2e

ARGS = prompt_args("long_text", PARTIALS)


def test_block_slow_consumer_receives_what_an_unthrottled_run_receives(
    long_text: CLIRun, claude: str, workdir: Path
) -> None:
    invocation = cli_invocation("long_text", ARGS, workdir=workdir)
    bp = backpressure(Policy.BLOCK, buffer_size=16)
    router = Router.default()
    held: list[BackpressureStatistics] = []

    def hold_first(_: Message) -> None:
        if not held:  # until the CLI's stdout reader waits for room
            wait_until(lambda: bp.statistics().producers_waiting == 1)
            held.append(bp.statistics())

    source = from_cli(invocation.argv, cwd=invocation.cwd, env=invocation.env)
    outcome = collect(
        source.pipe(parse_json_frames(), bp, ops.do_action(hold_first), route_by_type(router))
    )

    assert outcome.error is None
    assert [fingerprint(message) for message in outcome.items] == [
        fingerprint(message) for message in long_text.messages
    ]
    (at_hold,) = held
    assert (at_hold.size, at_hold.delivered) == (16, 1)
    stats = bp.statistics()
    assert stats.produced == stats.delivered == len(long_text.messages)
    assert (stats.dropped, stats.discarded, stats.peak_size) == (0, 0, 16)
    assert stats.blocked_time > 0
    text = SCENARIOS["long_text"].text
    assert router.handlers.text.text == router.handlers.text.live_text == text


def test_drop_oldest_counts_reconcile(long_text: CLIRun, claude: str, workdir: Path) -> None:
    invocation = cli_invocation("long_text", ARGS, workdir=workdir)
    dropped: list[Message] = []
    produced: list[Message] = []
    bp = backpressure(Policy.DROP_OLDEST, buffer_size=8, on_drop=dropped.append)
    held = False

    def hold_first(_: Message) -> None:
        nonlocal held
        if not held:  # until the buffer has overflowed many times
            held = True
            wait_until(lambda: bp.statistics().dropped >= 100)

    source = from_cli(invocation.argv, cwd=invocation.cwd, env=invocation.env)
    outcome = collect(
        source.pipe(
            parse_json_frames(), ops.do_action(produced.append), bp, ops.do_action(hold_first)
        )
    )

    assert outcome.error is None
    # The CLI wrote what it writes unthrottled: DROP_OLDEST never slows the producer.
    assert [fingerprint(message) for message in produced] == [
        fingerprint(message) for message in long_text.messages
    ]
    stats = bp.statistics()
    assert stats.produced == len(produced)
    assert stats.delivered + stats.dropped == stats.produced
    assert (stats.delivered, stats.dropped) == (len(outcome.items), len(dropped))
    assert (stats.size, stats.discarded) == (0, 0)
    assert stats.dropped >= 100
    # Each frame was delivered or dropped, exactly once; the newest, the result, survives.
    offsets = sorted(message.offset for message in [*outcome.items, *dropped])
    assert offsets == [message.offset for message in produced]
    assert isinstance(outcome.items[-1], ResultMessage)


def test_dispose_while_held_ends_the_cli_and_its_launcher(claude: str, workdir: Path) -> None:
    invocation = cli_invocation("long_text", ARGS, workdir=workdir)
    bp = backpressure(Policy.BLOCK, buffer_size=16)
    holding, release = threading.Event(), threading.Event()
    ended = threading.Event()

    def hold_first(_: Message) -> None:
        if not holding.is_set():
            holding.set()
            release.wait(DEADLINE)

    source = from_cli(invocation.argv, cwd=invocation.cwd, env=invocation.env)
    subscription = source.pipe(parse_json_frames(), bp).subscribe(
        hold_first, lambda _: ended.set(), ended.set
    )
    assert holding.wait(DEADLINE)
    wait_until(lambda: bp.statistics().producers_waiting == 1)
    launcher_and_cli = psutil.Process().children(recursive=True)
    assert os.path.realpath(claude) in [process.exe() for process in launcher_and_cli]

    subscription.dispose()
    release.set()

    for process in launcher_and_cli:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.wait(DEADLINE)
    assert psutil.Process().children(recursive=True) == []
    assert not ended.is_set()  # disposing is not an end of the stream
