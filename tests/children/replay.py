"""Writes a recording to stdout in chunks of random sizes, then ends as it is told.

Usage: replay.py PATH [--repeat N] [--cut BYTES] [--seed SEED] [--then ENDING]

The output is the file at PATH repeated N times (default 1), cut after BYTES bytes if
given, written in chunks of 1 byte to 64 KiB (sizes drawn from SEED), each flushed.
ENDING says what happens after the last chunk:

  exit           exit with code 0 (the default)
  kill           SIGKILL itself
  hang           wait forever (only a signal ends it)
  close-stdout   close stdout, then wait for stdin to reach its end and exit with code 0
"""

import argparse
import os
import random
import signal
import sys
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("path", type=Path)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--cut", type=int)
    parser.add_argument("--seed", default="0")
    parser.add_argument("--then", choices=["exit", "kill", "hang", "close-stdout"], default="exit")
    options = parser.parse_args()
    data = options.path.read_bytes() * options.repeat
    if options.cut is not None:
        data = data[: options.cut]
    sizes = random.Random(options.seed)
    position = 0
    while position < len(data):
        size = sizes.choice((1, 100, 4096, sizes.randint(1, 65536)))
        position += os.write(1, data[position : position + size])
    if options.then == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    elif options.then == "hang":
        while True:
            signal.pause()
    elif options.then == "close-stdout":
        os.close(1)
        sys.stdin.buffer.read()


if __name__ == "__main__":
    main()
