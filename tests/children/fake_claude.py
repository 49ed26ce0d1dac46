"""A stand-in for the Claude Code CLI: prints a recording, then exits with a chosen code.

Its arguments are ignored, but written as JSON (with its pid) to ``$FAKE_CLAUDE_REPORT``.
``$FAKE_CLAUDE_RECORDING`` is the file printed to stdout, ``$FAKE_CLAUDE_STDERR`` a line
for stderr, ``$FAKE_CLAUDE_EXIT`` the exit code (0 by default). With
``$FAKE_CLAUDE_HANG`` set, it prints the recording without its last line and then waits
until it is killed, as a CLI waiting for the API would.
"""

import json
import os
import signal
import sys
from pathlib import Path

report = {"argv": sys.argv[1:], "pid": os.getpid()}
Path(os.environ["FAKE_CLAUDE_REPORT"]).write_text(json.dumps(report))
recording = Path(os.environ["FAKE_CLAUDE_RECORDING"]).read_bytes()
if os.environ.get("FAKE_CLAUDE_HANG"):
    recording = recording[: recording.rstrip(b"\n").rfind(b"\n") + 1]
sys.stdout.buffer.write(recording)
sys.stdout.buffer.flush()
if os.environ.get("FAKE_CLAUDE_HANG"):
    while True:
        signal.pause()
print(os.environ.get("FAKE_CLAUDE_STDERR", ""), file=sys.stderr)
sys.exit(int(os.environ.get("FAKE_CLAUDE_EXIT", "0")))
