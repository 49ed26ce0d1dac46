"""``rxclaude demo``: a bundled recording replayed through the whole pipeline, then its figures.

No API key, no network: the recording is real Claude Code output (see
``rxclaude/samples/PROVENANCE.md``), written into the pipeline frame by frame as an
``Observable[bytes]``, as ``from_cli`` would deliver it.

**The pace.** Recordings carry no arrival times, so the replay derives them from what the
frames report, in milliseconds before each frame:

* a ``message_start`` event with ``ttft_ms`` (time to first token) comes that long after
  the frame before it;
* the frame after a ``system/api_retry`` comes ``retry_delay_ms`` after it;
* the rest of a turn's ``duration_ms`` (from the ``result`` that ends it) is spread
  evenly over the turn's other frames; frames after the last ``result``, or in a turn
  whose result has no duration, take ``FRAME_MS`` each;
* the first frame comes at once.

**Watchable by default.** The bundled recordings ran against a local mock of the API, so
their own pace is quick (under a second each: over before one sees it). By default the
replay keeps the recorded proportions but stretches or compresses the whole to between
``WATCH_MIN_MS`` and ``WATCH_MAX_MS`` (a recording with no time to go on is spread evenly
over ``WATCH_MIN_MS``). ``--speed X`` plays the recorded pace X times faster, uncapped
(``--speed 1``: as recorded); ``--fast`` drops every delay (for CI).
"""

from __future__ import annotations

import argparse
import itertools
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import reactivex
from reactivex import Observable
from reactivex import operators as ops
from rich.console import Console

from rxclaude._samples import sample_names, sample_path
from rxclaude.command import stats
from rxclaude.command.format import STYLE_NOTE, milliseconds, styled
from rxclaude.command.session import Session
from rxclaude.command.view import watch
from rxclaude.framing import parse_json_frames
from rxclaude.messages import ApiRetryMessage, Message, ResultMessage, StreamEventMessage

DEFAULT_SAMPLE = "tool_use_partial"
"""A Bash round-trip streamed as deltas: text, a tool call and its result, cost."""
FRAME_MS = 20.0
"""The delay of a frame whose turn gives no duration."""
WATCH_MIN_MS = 4000.0
"""The shortest default replay: enough to see the text stream and the tools run."""
WATCH_MAX_MS = 10_000.0
"""The longest default replay."""
SAMPLE_NOTES = {
    "api_error_529_overloaded": "the API is overloaded: a retry, then the turn fails",
    "permission_denied": "a Write the permissions refuse, then the answer",
    "thinking_partial": "a thinking block and a short answer, streamed as deltas",
    "tool_use_partial": "a Bash round-trip streamed as deltas (the default)",
}
"""What each bundled recording shows, for ``--list``."""


class Frame(NamedTuple):
    """One frame of a recording, as the replay writes it."""

    chunk: bytes
    """The frame's bytes with its line end (and any blank lines before the next one)."""
    delay_ms: float
    """How long after the previous frame it comes, at the original pace."""


def load(path: Path) -> list[Frame]:
    """The frames of a recording, with the delays derived as the module describes."""
    data = path.read_bytes()
    decoded: list[Message] = reactivex.just(data).pipe(parse_json_frames(), ops.to_list()).run()
    if not decoded:
        return [Frame(data, 0.0)] if data else []
    starts = [0, *(message.offset for message in decoded[1:]), len(data)]
    chunks = [data[start:end] for start, end in itertools.pairwise(starts)]
    return [Frame(chunk, delay) for chunk, delay in zip(chunks, _delays(decoded), strict=True)]


def _delays(messages: list[Message]) -> list[float]:
    """Milliseconds before each message, at the pace the module docstring describes."""
    fixed: list[float | None] = [None] * len(messages)
    for index, message in enumerate(messages):
        if isinstance(message, StreamEventMessage) and message.event_type == "message_start":
            ttft = message.raw.get("ttft_ms")
            if isinstance(ttft, int | float) and not isinstance(ttft, bool):
                fixed[index] = float(ttft)
        elif isinstance(message, ApiRetryMessage) and index + 1 < len(messages):
            fixed[index + 1] = message.retry_delay_ms
    fixed[0] = 0.0
    delays = [FRAME_MS if known is None else known for known in fixed]
    start = 0
    for end, message in enumerate(messages):
        if not isinstance(message, ResultMessage):
            continue
        turn = range(start, end + 1)
        free = [index for index in turn if fixed[index] is None]
        duration = message.duration_ms
        if duration is not None and free:
            known = sum(value for index in turn if (value := fixed[index]) is not None)
            share = max(duration - known, 0.0) / len(free)
            for index in free:
                delays[index] = share
        start = end + 1
    return delays


def watchable(frames: list[Frame]) -> list[Frame]:
    """``frames`` at the default pace: the recorded delays scaled so that they add up to
    between ``WATCH_MIN_MS`` and ``WATCH_MAX_MS``, or spread evenly over ``WATCH_MIN_MS``
    when they add up to nothing."""
    if len(frames) < 2:
        return frames
    total = sum(frame.delay_ms for frame in frames)
    if total <= 0:
        even = WATCH_MIN_MS / (len(frames) - 1)
        return [frames[0], *(frame._replace(delay_ms=even) for frame in frames[1:])]
    scale = min(max(total, WATCH_MIN_MS), WATCH_MAX_MS) / total
    return [frame._replace(delay_ms=frame.delay_ms * scale) for frame in frames]


def replay(frames: list[Frame], speed: float | None) -> Observable[bytes]:
    """The frames' bytes, each after its delay divided by ``speed`` (none if ``None``)."""
    source: Observable[Frame] = reactivex.from_iterable(frames)
    if speed is None:
        return source.pipe(ops.map(_chunk))
    return source.pipe(ops.concat_map(_after_delay(speed)))


def _chunk(frame: Frame) -> bytes:
    return frame.chunk


def _after_delay(speed: float) -> Callable[[Frame], Observable[bytes]]:
    def delayed(frame: Frame) -> Observable[bytes]:
        timer: Observable[int] = reactivex.timer(frame.delay_ms / 1000 / speed)
        return timer.pipe(ops.map(lambda _: frame.chunk))

    return delayed


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``--sample``, ``--list``, ``--speed``, ``--fast``."""
    parser.add_argument(
        "--sample",
        choices=sample_names(),
        default=DEFAULT_SAMPLE,
        metavar="NAME",
        help=f"the bundled recording to replay (default: {DEFAULT_SAMPLE}; see --list)",
    )
    parser.add_argument("--list", action="store_true", help="list the bundled recordings")
    pace = parser.add_mutually_exclusive_group()
    pace.add_argument(
        "--speed",
        type=_positive,
        metavar="X",
        help="replay X times faster than recorded, uncapped (1: as recorded; default: the "
        f"recorded proportions over {WATCH_MIN_MS / 1000:g} to {WATCH_MAX_MS / 1000:g} s)",
    )
    pace.add_argument("--fast", action="store_true", help="replay without any delay (for CI)")


def _positive(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, not {text}")
    return value


def run_demo(options: argparse.Namespace, console: Console) -> int:
    """Replay the chosen sample with the live view, then print the figures."""
    if options.list:
        for name in sample_names():
            frames = load(sample_path(name))
            recorded = milliseconds(sum(frame.delay_ms for frame in frames))
            replayed = milliseconds(sum(frame.delay_ms for frame in watchable(frames)))
            facts = f"{len(frames):>3} frames  {recorded:>6} recorded  {replayed:>6} to watch"
            console.print(styled(f"{name:<26} {facts}  {SAMPLE_NOTES.get(name, '')}".rstrip()))
        return 0
    recorded_frames = load(sample_path(options.sample))
    recorded = milliseconds(sum(frame.delay_ms for frame in recorded_frames))
    if options.fast:
        frames, speed, pace = recorded_frames, None, "without delays"
    elif options.speed is not None:
        frames, speed = recorded_frames, options.speed
        pace = "at its recorded pace" if speed == 1 else f"at {speed:g}x its recorded pace"
    else:
        frames, speed = watchable(recorded_frames), 1.0
        length = milliseconds(sum(frame.delay_ms for frame in frames))
        pace = f"over {length} (--speed 1: as recorded, --fast: without delays)"
    console.print(
        styled(
            f"rxclaude demo: sample {options.sample} ({len(frames)} frames, {recorded} as "
            f"recorded), replayed {pace} through parse_json_frames → backpressure → "
            "route_by_type → measure. No API key, no network.",
            STYLE_NOTE,
        )
    )
    session = Session()
    error = watch(session, replay(frames, speed), console)
    console.print()
    stats.render(console, stats.collect(session, f"sample {options.sample}", error))
    return 0 if error is None else 1
