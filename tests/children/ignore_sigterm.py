"""Ignores SIGTERM, says so on stdout, then waits forever (only SIGKILL ends it)."""

import signal
import sys

signal.signal(signal.SIGTERM, signal.SIG_IGN)
sys.stdout.write("ready\n")
sys.stdout.flush()
while True:
    signal.pause()
