"""Damaged streams built from real frames, and what decoding them must give.

A stream is a sequence of *segments*, each ending with a line end (the last one may not):
real frames left intact, several intact frames on one line, a frame pretty-printed over
several lines, and damage of any kind. Whatever the damage, the framing rules (README,
"framing rules") promise:

* every intact frame arrives at its offset with the same ``raw`` — or, when its line is
  over ``max_frame_bytes``, one ``frame_too_large`` error in its place;
* a pretty-printed object arrives whole when the line before it left nothing pending and
  none of its lines is a JSON object by itself;
* nothing is lost: the items' spans are in stream order, never overlap, and cover every
  byte of the stream but JSON whitespace and a leading BOM; each message's span decodes
  to its ``raw``, each error's excerpt is the first 200 bytes of its span;
* the output is the same however the stream is cut into chunks.

The hypothesis tests and the atheris target (``atheris_parse.py``) check these.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

from corpus_files import EPOCH, bundled_recordings

from rxclaude import Message, ParseError
from rxclaude.framing import FrameDecoder
from rxclaude.messages import ClaudeMessage

BOM = b"\xef\xbb\xbf"
JSON_WHITESPACE = b" \t\r\n"
EXCERPT_BYTES = 200
"""A ParseError's excerpt: the first 200 bytes of what it reports (README)."""
LARGEST_CORPUS_FRAME = 64 * 1024
"""Real frames longer than this are left out of the mutation base (they slow every example)."""


def corpus_frames() -> list[bytes]:
    """Every distinct line of the bundled recordings up to 64 KiB, without its line end."""
    frames: dict[bytes, None] = {}
    for path in bundled_recordings():
        for line in path.read_bytes().split(b"\n"):
            frame = line.removesuffix(b"\r")
            if frame.strip() and len(frame) <= LARGEST_CORPUS_FRAME:
                frames[frame] = None
    return list(frames)


@dataclass(frozen=True)
class Segment:
    """One or more lines of a stream.

    ``frames``: the ``(position in text, frame text)`` of the objects on the line, which
    must arrive; ``pretty``: the text is one object over several lines, which must arrive
    when nothing is pending before it; damage has neither, and may leave a value pending.
    """

    text: bytes
    frames: tuple[tuple[int, bytes], ...] = ()
    pretty: bool = False


def intact(frame: bytes) -> Segment:
    return Segment(frame, ((0, frame),))


def several(frames: Sequence[bytes], separator: bytes) -> Segment:
    """Several frames on one line (``separator`` is JSON whitespace or empty)."""
    positions: list[tuple[int, bytes]] = []
    position = 0
    for frame in frames:
        positions.append((position, frame))
        position += len(frame) + len(separator)
    return Segment(separator.join(frames), tuple(positions))


def pretty(frame: bytes, line_end: bytes) -> Segment:
    """``frame``'s object pretty-printed over several lines."""
    text = json.dumps(json.loads(frame), indent=1).replace("\n", line_end.decode()).encode()
    return Segment(text, pretty=True)


def damage(text: bytes) -> Segment:
    return Segment(text)


@dataclass(frozen=True)
class Stream:
    """The bytes of a stream, and what decoding them must give.

    ``frames``: ``(offset, frame text)`` of every object that must arrive;
    ``too_large``: ``(offset, length)`` of every line that must be one
    ``frame_too_large`` error.
    """

    data: bytes
    frames: tuple[tuple[int, bytes], ...]
    too_large: tuple[tuple[int, int], ...]


def build_stream(
    segments: Sequence[Segment], line_end: bytes, final_line_end: bool, max_frame_bytes: int
) -> Stream:
    """Join ``segments`` with ``line_end`` (after the last one too if ``final_line_end``)."""
    parts: list[bytes] = []
    frames: list[tuple[int, bytes]] = []
    too_large: list[tuple[int, int]] = []
    offset = 0
    clean = True  # nothing from the lines so far can still be pending
    for index, segment in enumerate(segments):
        end = line_end if final_line_end or index < len(segments) - 1 else b""
        if segment.pretty:
            # Held lines count with their line end; the last line is checked before joining.
            held = len(segment.text) + segment.text.count(b"\n") + 1
            clean = clean and held <= max_frame_bytes and _recoverable(segment.text)
            if clean:
                frames.append((offset, segment.text))
        elif segment.frames:
            line_length = len(segment.text) + len(end.removesuffix(b"\n"))
            if line_length > max_frame_bytes:
                too_large.append((offset, line_length))
            else:
                frames.extend((offset + position, frame) for position, frame in segment.frames)
            clean = True
        else:
            clean = False
        parts.append(segment.text + end)
        offset += len(segment.text) + len(end)
    return Stream(b"".join(parts), tuple(frames), tuple(too_large))


def _recoverable(text: bytes) -> bool:
    """Whether no line of a pretty-printed object stands alone as a JSON object."""
    for line in text.split(b"\n"):
        try:
            alone = json.loads(line)
        except ValueError:
            continue
        if isinstance(alone, dict):
            return False
    return True


def cut(data: bytes, points: Sequence[int]) -> list[bytes]:
    """``data`` cut at ``points`` (taken modulo its length plus one) into chunks."""
    bounds = sorted({0, len(data), *(point % (len(data) + 1) for point in points)})
    return [data[begin:end] for begin, end in pairwise(bounds)]


def decode_whole(data: bytes, max_frame_bytes: int) -> list[Message]:
    """What a decoder gives for ``data`` fed in one piece."""
    items: list[Message] = []
    decoder = FrameDecoder(items.append, lambda: EPOCH, max_frame_bytes)
    decoder.feed(data)
    decoder.finish()
    return items


def check_spans(data: bytes, items: Sequence[Message]) -> None:
    """Items in stream order, not overlapping, covering every non-whitespace byte.

    A message's span decodes to its ``raw``; an error's excerpt is its span's first bytes.
    """
    position = 0
    for item in items:
        assert item.nbytes > 0, f"{item!r} covers no byte"
        assert item.offset >= position, f"{item!r} overlaps or precedes the item before it"
        _check_blank(data, position, item.offset)
        position = item.offset + item.nbytes
        assert position <= len(data), f"{item!r} runs past the end of the stream"
        if isinstance(item, ClaudeMessage):
            assert json.loads(data[item.offset : position]) == item.raw, item
        else:
            assert isinstance(item, ParseError)
            assert item.excerpt == data[item.offset : position][:EXCERPT_BYTES], item
    _check_blank(data, position, len(data))


def _check_blank(data: bytes, begin: int, end: int) -> None:
    gap = data[begin:end]
    if begin == 0 and gap.startswith(BOM):
        gap = gap[len(BOM) :]
    assert not gap.strip(JSON_WHITESPACE), f"bytes {begin}..{end} are in no item: {gap[:80]!r}"


def check_expected(stream: Stream, items: Sequence[Message]) -> None:
    """Every expected frame arrives in its place, every long line is one error there."""
    by_offset = {item.offset: item for item in items}
    for offset, text in stream.frames:
        item = by_offset.get(offset)
        assert isinstance(item, ClaudeMessage), f"the frame at {offset} was lost: {item!r}"
        assert item.nbytes == len(text)
        assert item.raw == json.loads(text)
    for offset, length in stream.too_large:
        item = by_offset.get(offset)
        assert isinstance(item, ParseError), f"no error for the long line at {offset}: {item!r}"
        assert (item.reason, item.nbytes) == ("frame_too_large", length)


def check_decoding(stream: Stream, items: Sequence[Message], max_frame_bytes: int) -> None:
    """All the promises above, for ``items`` decoded from ``stream`` in any chunks."""
    check_spans(stream.data, items)
    check_expected(stream, items)
    assert list(items) == decode_whole(stream.data, max_frame_bytes), "chunking changed the output"
