"""Writes two frames and half of a third to stdout, a message to stderr, and exits 3."""

import sys

sys.stdout.buffer.write(b'{"type":"system"}\n{"type":"assistant"}\n{"type":"res')
sys.stdout.buffer.flush()
sys.stderr.write("starting\nfatal: the API key is missing\n")
sys.exit(3)
