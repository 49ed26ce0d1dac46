"""Writes one frame and half of another, then kills itself with SIGKILL."""

import os
import signal
import sys

sys.stdout.buffer.write(b'{"type":"system"}\n{"type":"assist')
sys.stdout.buffer.flush()
os.kill(os.getpid(), signal.SIGKILL)
