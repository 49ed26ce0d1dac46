"""Writes nothing and waits forever."""

import signal

while True:
    signal.pause()
