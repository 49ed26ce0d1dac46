"""Writes numbered NDJSON frames to stdout as fast as it can, then exits 0.

Usage: bp_flood.py COUNT FRAME_BYTES

Frame ``n`` is ``{"type":"stream_event","seq":n,"pad":"..."}`` plus a newline, padded to
exactly FRAME_BYTES bytes, so COUNT frames are COUNT * FRAME_BYTES bytes. Frames are
written in writes of about 1 MiB.
"""

import sys

WRITE_BYTES = 1 << 20


def main() -> None:
    count, frame_bytes = int(sys.argv[1]), int(sys.argv[2])
    overhead = len(b'{"type":"stream_event","seq":,"pad":""}\n')
    padding = b"x" * frame_bytes
    frames_per_write = max(1, WRITE_BYTES // frame_bytes)
    stdout = sys.stdout.buffer
    for first in range(0, count, frames_per_write):
        stdout.write(
            b"".join(
                b'{"type":"stream_event","seq":%d,"pad":"%s"}\n'
                % (seq, padding[: frame_bytes - overhead - len(str(seq))])
                for seq in range(first, min(count, first + frames_per_write))
            )
        )
    stdout.flush()


if __name__ == "__main__":
    main()
