"""Incremental NDJSON framing: bytes in, typed messages and parse errors out.

:func:`parse_json_frames` is the operator; :class:`FrameDecoder` is its engine, usable on
its own without Rx (``feed(chunk)`` … ``finish()``, each returning a list of messages).

Rules, in the order they apply to each line:

* Lines end at the byte ``\\n`` only (never ``str.splitlines``: U+2028/U+2029 may appear
  raw inside strings); a trailing ``\\r`` is not part of the frame; blank lines are
  skipped; a UTF-8 BOM at the very start of the stream is skipped.
* A line that decodes on its own to a JSON object is a frame. This is the fast path:
  the whole chunk is split at once and each line goes straight to ``msgspec``'s JSON decoder.
* Otherwise the line is examined (the slow path): several objects on one line are each
  a frame; a JSON object pretty-printed over several lines is put back together from
  the lines that cannot stand alone — but a line that is a JSON object by itself always
  stands alone, so a broken line never swallows the frames after it. Everything else
  becomes a :class:`~rxclaude.messages.ParseError` at its place in the stream.
* A value nesting deeper than :data:`MAX_NESTING_DEPTH` levels, on one line or over
  several, is ``invalid_json``; it never reaches a JSON decoder (a line is only scanned
  for it when it holds more brackets than the limit).
* A line longer than ``max_frame_bytes`` becomes one ``frame_too_large`` error; its
  bytes are counted and dropped as they arrive, never buffered.
* At the end, a last line without ``\\n`` is a frame if it is complete, and a
  ``truncated`` error if the stream stopped inside it (at any byte: inside a literal, a
  number, an escape or a UTF-8 character too).

The modules, in the order a chunk meets them: :mod:`~rxclaude.framing.operator` (the Rx
operator, and :mod:`~rxclaude.framing.errors` its exception),
:mod:`~rxclaude.framing.chunks` (what a chunk may be), :mod:`~rxclaude.framing.decoder`
(lines and the fast path), :mod:`~rxclaude.framing.depth` (the nesting limit),
:mod:`~rxclaude.framing.recovery` (the slow path) and :mod:`~rxclaude.framing.syntax`
(what a piece of JSON text is). :mod:`~rxclaude.framing.deferred` splits the decoder in two
around a ``backpressure(Policy.BLOCK)`` buffer: lines cut on the producer's side, decoded
on the consumer's.
"""

from rxclaude.framing.chunks import BytesLike, chunk_bytes
from rxclaude.framing.decoder import DEFAULT_MAX_FRAME_BYTES, FrameDecoder
from rxclaude.framing.depth import MAX_NESTING_DEPTH, nests_too_deeply
from rxclaude.framing.operator import FrameDecodeError, parse_json_frames

__all__ = [
    "DEFAULT_MAX_FRAME_BYTES",
    "MAX_NESTING_DEPTH",
    "BytesLike",
    "FrameDecodeError",
    "FrameDecoder",
    "chunk_bytes",
    "nests_too_deeply",
    "parse_json_frames",
]
