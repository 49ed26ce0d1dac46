"""How much decoding on demand could save at most (issue #16's lazy designs), measured.

Decoding a payload later still means checking now that it is valid: the framing must
report invalid UTF-8 at the frame's place, and ``msgspec`` skips a field it does not
decode without checking its UTF-8. These loops time, over the corpus' lines held in
memory, what the eager decoder does and the least a lazy one must do instead:

* ``generic``: ``msgspec`` decodes every line to Python objects (what the framing does);
* ``deferred``: every line but its ``tool_use_result`` value, plus the UTF-8 check of
  that value (the on-demand ``tool_use_result`` design);
* ``envelope``: a typed decode of only the fields routing and ``kind_mask`` read, plus
  the UTF-8 check of the whole line (the envelope-only design, for a router that needs no
  payload).

The saving of a design is ``generic`` minus its own time. Subtracted from a case's time
it gives the ratio that case would reach if laziness cost nothing else: an upper bound
(building messages that decode later, and decoding whatever is read, come on top).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

import msgspec

_NON_ASCII = bytes(range(128, 256))


class _Block(msgspec.Struct, gc=False):
    type: Any = None
    is_error: Any = None


class _Inner(msgspec.Struct, gc=False):
    content: list[_Block] | str | None = None
    model: Any = None


class _Delta(msgspec.Struct, gc=False):
    type: Any = None


class _Event(msgspec.Struct, gc=False):
    type: Any = None
    delta: _Delta | None = None


class _Envelope(msgspec.Struct, gc=False):
    """The fields ``route_by_type`` and ``kind_mask`` read; the rest is skipped."""

    type: Any = None
    subtype: Any = None
    session_id: Any = None
    is_error: Any = None
    error: Any = None
    is_api_error_message: Any = None
    message: _Inner | str | None = None
    event: _Event | None = None
    abandoned_blocks: Any = None


def _utf8_checked(line: bytes) -> bool:
    """True once ``line`` is known to be valid UTF-8 (a ``UnicodeDecodeError`` if not)."""
    return line.isascii() or bool(line.decode())


def _split_tool_use_results(lines: list[bytes]) -> tuple[list[bytes], list[bytes]]:
    """The lines without their ``tool_use_result`` value, and those values' JSON text."""
    decode, encode = msgspec.json.Decoder().decode, msgspec.json.Encoder().encode
    rest: list[bytes] = []
    deferred: list[bytes] = []
    for line in lines:
        frame = decode(line)
        if isinstance(frame, dict) and "tool_use_result" in frame:
            deferred.append(encode(frame.pop("tool_use_result")))
            rest.append(encode(frame))
        else:
            rest.append(line)
    return rest, deferred


def _median_seconds(run: Callable[[], None], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure_bounds(path: str, rounds: int) -> dict[str, Any]:
    """Median seconds of each loop over the corpus at ``path`` (see the module docstring),
    and the share of its bytes that are not ASCII."""
    with open(path, "rb") as corpus:
        lines = corpus.read().split(b"\n")
    lines = [line for line in lines if line.strip()]
    rest, deferred = _split_tool_use_results(lines)
    generic = msgspec.json.Decoder().decode
    envelope = msgspec.json.Decoder(_Envelope).decode

    def run_generic() -> None:
        for line in lines:
            generic(line)

    def run_deferred() -> None:
        for line in rest:
            generic(line)
        for value in deferred:
            _utf8_checked(value)

    def run_envelope() -> None:
        for line in lines:
            envelope(line)
            _utf8_checked(line)

    total = sum(len(line) for line in lines)
    non_ascii = sum(
        len(line) - len(line.translate(None, _NON_ASCII)) for line in lines if not line.isascii()
    )
    return {
        "generic_s": _median_seconds(run_generic, rounds),
        "deferred_s": _median_seconds(run_deferred, rounds),
        "envelope_s": _median_seconds(run_envelope, rounds),
        "tool_use_result_bytes": sum(len(value) for value in deferred),
        "non_ascii_byte_share": non_ascii / total if total else 0.0,
    }


def bound_ratio(a_seconds: float, case_seconds: float, saving_seconds: float) -> float:
    """The ratio to ``a`` a case would reach if it took ``saving_seconds`` less."""
    return a_seconds / max(case_seconds - saving_seconds, 1e-9)
