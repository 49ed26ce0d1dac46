"""Starts a grandchild that shares stdout, prints its pid, and waits forever."""

import signal
import subprocess
import sys

grandchild = subprocess.Popen([sys.executable, "-c", "import signal; signal.pause()"])
sys.stdout.write(f"{grandchild.pid}\n")
sys.stdout.flush()
while True:
    signal.pause()
