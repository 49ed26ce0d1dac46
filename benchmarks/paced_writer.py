"""Child of the latency benchmark: writes corpus frames to stdout at a fixed rate.

``python benchmarks/paced_writer.py CORPUS COUNT RATE`` writes COUNT frames, the corpus
lines in order (from the start again if it has fewer), frame ``i`` when
``time.perf_counter()`` reaches ``start + i / RATE``: a deadline schedule, so a late frame
never delays the ones after it. Each frame gets ``"bench_sent_ns": time.time_ns()`` as its
first key, read just before its bytes are written, so the reader can compute the
write-to-handler latency on the same wall clock. Standard library only.
"""

from __future__ import annotations

import itertools
import os
import sys
import time

STAMP_KEY = "bench_sent_ns"
_STAMP_PREFIX = b'{"' + STAMP_KEY.encode() + b'":%d,'


def frame_bodies(path: str, count: int) -> list[bytes]:
    """The first ``count`` corpus lines (cycling), without their opening ``{``."""
    with open(path, "rb") as f:
        lines = list(itertools.islice((line for line in f if line.strip()), count))
    if count and not lines:
        raise ValueError(f"{path} has no frames")
    bodies = []
    for line in itertools.islice(itertools.cycle(lines), count):
        if not line.startswith(b"{") or line[1:].lstrip().startswith(b"}"):
            raise ValueError(f"not a JSON object with keys: {line[:80]!r}")
        bodies.append(line[1:] if line.endswith(b"\n") else line[1:] + b"\n")
    return bodies


def stamped(body: bytes, sent_ns: int) -> bytes:
    """A frame with the send time as its first key."""
    return _STAMP_PREFIX % sent_ns + body


def write_paced(bodies: list[bytes], rate: float, fd: int) -> None:
    """Write each frame at its deadline on the ``perf_counter`` schedule."""
    start = time.perf_counter()
    for index, body in enumerate(bodies):
        delay = start + index / rate - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        pending = memoryview(stamped(body, time.time_ns()))
        while pending:
            pending = pending[os.write(fd, pending) :]


def main(argv: list[str]) -> int:
    """``CORPUS COUNT RATE``: write COUNT frames to stdout at RATE per second."""
    path, count, rate = argv[0], int(argv[1]), float(argv[2])
    if count < 0 or rate <= 0:
        raise SystemExit("COUNT must be >= 0 and RATE > 0")
    write_paced(frame_bodies(path, count), rate, sys.stdout.fileno())
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
