"""Atheris (libFuzzer) target: parse_json_frames on inputs the fuzzer evolves.

``test_fuzz.py`` runs it for a bounded time; by hand, for as long as you like::

    PYTHONPATH=tests python tests/reliability/atheris_parse.py -max_total_time=600 CORPUS_DIR

An input starting with a zero byte is a recipe (``atheris.FuzzedDataProvider``): a size
limit, a line end, segments — real frames chosen by index, several on a line,
pretty-printed, real frames with bytes overwritten, raw bytes — then the points where
the stream is cut into chunks. Any other input is itself the stream, cut into chunks of
a size it determines. Either way the oracle of ``framing_oracle`` must hold; a failed
assertion, any exception, or an input taking over ``-timeout`` seconds is a finding.
"""

from __future__ import annotations

import gc
import importlib
import sys
import types
from typing import Any

import reactivex

from reliability.framing_oracle import (
    Segment,
    Stream,
    build_stream,
    check_decoding,
    check_spans,
    corpus_frames,
    cut,
    damage,
    decode_whole,
    intact,
    pretty,
    several,
)
from rxclaude import Message, parse_json_frames
from rxclaude.framing import DEFAULT_MAX_FRAME_BYTES

atheris: Any = importlib.import_module("atheris")

FRAMES = corpus_frames()
LIMITS = [DEFAULT_MAX_FRAME_BYTES, 4096, 300, 200]
"""Size limits to try; not below 200 bytes, where the excerpt of a long line depends on
the chunks (``test_the_excerpt_of_a_long_line_does_not_depend_on_the_chunks``)."""


def decode_in_chunks(chunks: list[bytes], max_frame_bytes: int) -> list[Message]:
    """The operator's output for ``chunks``; it must complete without an error."""
    items: list[Message] = []
    errors: list[Exception] = []
    completed: list[bool] = []
    reactivex.from_iterable(chunks).pipe(
        parse_json_frames(max_frame_bytes=max_frame_bytes)
    ).subscribe(items.append, errors.append, lambda: completed.append(True))
    assert errors == [], errors
    assert completed == [True]
    return items


def recipe(provider: Any) -> tuple[Stream, int, list[int]]:
    """A stream of segments, its size limit, and its cut points, read from the input."""
    max_frame_bytes: int = provider.PickValueInList(LIMITS)
    line_end: bytes = provider.PickValueInList([b"\n", b"\r\n"])
    final_line_end: bool = provider.ConsumeBool()
    segments: list[Segment] = []
    for _ in range(provider.ConsumeIntInRange(0, 16)):
        kind = provider.ConsumeIntInRange(0, 4)
        frame = FRAMES[provider.ConsumeIntInRange(0, len(FRAMES) - 1)]
        if kind == 0:
            segments.append(intact(frame))
        elif kind == 1:
            second = FRAMES[provider.ConsumeIntInRange(0, len(FRAMES) - 1)]
            segments.append(several([frame, second], provider.PickValueInList([b"", b" "])))
        elif kind == 2:
            segments.append(pretty(frame, line_end))
        elif kind == 3:
            position = provider.ConsumeIntInRange(0, len(frame))
            patch: bytes = provider.ConsumeBytes(provider.ConsumeIntInRange(0, 8))
            segments.append(damage(frame[:position] + patch + frame[position + len(patch) :]))
        else:
            segments.append(damage(provider.ConsumeBytes(provider.ConsumeIntInRange(0, 200))))
    stream = build_stream(segments, line_end, final_line_end, max_frame_bytes)
    points = [provider.ConsumeIntInRange(0, len(stream.data)) for _ in range(8)]
    return stream, max_frame_bytes, points


def test_one_input(data: bytes) -> None:
    if data.startswith(b"\x00"):
        stream, max_frame_bytes, points = recipe(atheris.FuzzedDataProvider(data[1:]))
        check_decoding(
            stream, decode_in_chunks(cut(stream.data, points), max_frame_bytes), max_frame_bytes
        )
        return
    size = len(data) % 13 + 1
    chunks = [data[i : i + size] for i in range(0, len(data), size)]
    items = decode_in_chunks(chunks, DEFAULT_MAX_FRAME_BYTES)
    check_spans(data, items)
    assert items == decode_whole(data, DEFAULT_MAX_FRAME_BYTES)


def instrument_rxclaude() -> None:
    """Coverage feedback from the library's own functions (all of Python takes 30 s)."""
    for function in gc.get_objects():
        if isinstance(function, types.FunctionType) and (function.__module__ or "").startswith(
            "rxclaude"
        ):
            atheris.instrument_func(function)


def main() -> None:
    instrument_rxclaude()
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
