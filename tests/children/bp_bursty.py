"""Writes numbered NDJSON frames in random-size chunks with random pauses, then exits 0.

Usage: bp_bursty.py SEED COUNT MAX_PAUSE_SECONDS

Simulates a network peer: the byte stream of COUNT frames ``{"type":"stream_event",
"seq":n}`` is cut into chunks of 1 byte to 16 KiB, each written and flushed after a pause
of up to MAX_PAUSE_SECONDS (a quarter of the chunks go out without a pause, as bursts).
The same SEED gives the same chunks and pauses.
"""

import random
import sys
import time


def main() -> None:
    seed, count, max_pause = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    randomness = random.Random(seed)
    data = b"".join(b'{"type":"stream_event","seq":%d}\n' % seq for seq in range(count))
    stdout = sys.stdout.buffer
    position = 0
    while position < len(data):
        size = randomness.choice((1, 7, 100, 1000, 4096, randomness.randint(1, 16384)))
        stdout.write(data[position : position + size])
        stdout.flush()
        position += size
        if randomness.random() < 0.75:
            time.sleep(randomness.uniform(0, max_pause))


if __name__ == "__main__":
    main()
