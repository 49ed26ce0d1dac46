"""The nesting limit, :data:`MAX_NESTING_DEPTH`, and the scans that enforce it.

Two scans answer the same question: :func:`_nests_too_deep` for the hot path (bytes, yes
or no, at once for a line with too few brackets to be too deep) and
:func:`_nesting_limit_index` for the slow path (text, and where the limit is crossed).
"""

from __future__ import annotations

import re
from array import array
from itertools import accumulate

MAX_NESTING_DEPTH = 512
"""How deep a JSON value may nest (a frame's own object is the first level), on one line
or over several, before it is an ``invalid_json`` error.

Checked before any JSON decoder runs, so the outcome never depends on the caller's stack
(the decoders stop at the interpreter's recursion limit, which does) and a thread with a
small stack (256 KiB) cannot overflow it inside a decoder.
"""

TOO_DEEP = f"the JSON value nests deeper than {MAX_NESTING_DEPTH} levels"
"""The ``detail`` of a parse error for a value past the limit."""

# A JSON string (to its end, if unterminated), an opening or a closing bracket.
_STRUCTURE = re.compile(r'(?P<open>[\[{])|(?P<close>[\]}])|"(?:[^"\\]++|\\.)*+"?', re.DOTALL)
_NOT_BRACKETS = bytes(sorted(set(range(256)) - set(b"[]{}")))
_DEPTH_STEPS = bytes.maketrans(b"[]{}", b"\x01\xff\x01\xff")  # +1 and -1 as signed bytes


def nests_too_deeply(text: str) -> bool:
    """Whether a JSON value in ``text`` nests deeper than :data:`MAX_NESTING_DEPTH`.

    For JSON carried inside messages (tool input streamed in pieces): decoding it under
    the framing's limit keeps any decoder within a small stack.
    """
    return _nesting_limit_index(text, 0) >= 0


def _nesting_limit_index(text: str, start: int) -> int:
    """The index of the first bracket in ``text[start:]`` nested past the limit, else -1.

    Brackets in JSON strings do not count; the scan stops at a closing bracket that closes
    nothing, where every decoder stops too.
    """
    if text.count("[", start) + text.count("{", start) <= MAX_NESTING_DEPTH:
        return -1
    depth = 0
    for token in _STRUCTURE.finditer(text, start):
        if token.lastgroup == "open":
            depth += 1
            if depth > MAX_NESTING_DEPTH:
                return token.start()
        elif token.lastgroup == "close":
            if not depth:
                break
            depth -= 1
    return -1


_COUNTED_LINE_BYTES = 4096
"""Shorter lines have their brackets counted; in longer ones, ``find`` (``memchr``) leaps
from bracket to bracket over the long strings between them."""


def _nests_too_deep(line: bytes) -> bool:
    """Whether ``_nesting_limit_index`` finds a bracket past the limit in ``line``, quickly.

    A line with no more brackets than the limit is let through at once; only the others
    are scanned, outside their strings, a piece per quote.
    """
    if len(line) < _COUNTED_LINE_BYTES:
        brackets = line.count(b"{") + line.count(b"[")
        return brackets > MAX_NESTING_DEPTH and _nesting_exceeds_limit(line)
    brackets = 0
    find = line.find
    for bracket in (b"{", b"["):
        index = find(bracket)
        while index >= 0:
            brackets += 1
            if brackets > MAX_NESTING_DEPTH:
                return _nesting_exceeds_limit(line)
            index = find(bracket, index + 1)
    return False


def _nesting_exceeds_limit(line: bytes) -> bool:
    """The exact answer of ``_nests_too_deep``: the depth of the brackets outside strings."""
    parts = line.split(b'"')
    if b"\\" in line:
        outside = []
        inside = False
        for part in parts:
            if not inside:
                outside.append(part)
                inside = True
            elif part[-1:] != b"\\" or (
                part[-2:-1] == b"\\" and (len(part) - len(part.rstrip(b"\\"))) % 2 == 0
            ):
                inside = False  # the quote after this part is not escaped: the string ends
    else:
        outside = parts[::2]
    steps = b"".join(outside).translate(_DEPTH_STEPS, _NOT_BRACKETS)
    if len(steps) <= MAX_NESTING_DEPTH:
        return False
    depths = list(accumulate(array("b", steps)))
    if -1 in depths:  # a bracket that closes nothing: no decoder gets further
        del depths[depths.index(-1) :]
    return max(depths, default=0) > MAX_NESTING_DEPTH


__all__ = ["MAX_NESTING_DEPTH", "TOO_DEEP", "nests_too_deeply"]
