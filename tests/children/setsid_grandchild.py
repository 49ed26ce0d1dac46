"""Starts a grandchild in a session of its own (out of the process group) that shares
stdout and stderr, prints its pid, and waits forever."""

import signal
import subprocess
import sys

grandchild = subprocess.Popen(
    [sys.executable, "-c", "import signal; signal.pause()"], start_new_session=True
)
sys.stdout.write(f"{grandchild.pid}\n")
sys.stdout.flush()
while True:
    signal.pause()
