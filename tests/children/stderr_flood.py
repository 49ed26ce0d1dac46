"""Floods stderr while writing stdout slowly, then exits with the given code.

Usage: stderr_flood.py STDERR_SOURCE STDOUT_LINES EXIT_CODE

Writes STDOUT_LINES lines to stdout, each followed by an equal share of the content
of the file STDERR_SOURCE on stderr, so the child blocks on a full stderr pipe
unless the parent drains it while reading stdout.
"""

import sys
from pathlib import Path


def main() -> None:
    stderr_source, stdout_lines, exit_code = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    stderr_content = Path(stderr_source).read_bytes()
    share = -(-len(stderr_content) // stdout_lines)
    for line in range(stdout_lines):
        sys.stdout.buffer.write(b'{"line":%d}\n' % line)
        sys.stdout.buffer.flush()
        sys.stderr.buffer.write(stderr_content[line * share : (line + 1) * share])
        sys.stderr.buffer.flush()
    sys.exit(exit_code)


if __name__ == "__main__":
    main()
