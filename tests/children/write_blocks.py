"""Writes ARGV[1] blocks of 1 MiB to stdout, block i filled with the byte i % 251, and exits."""

import sys

BLOCK = 1 << 20
for index in range(int(sys.argv[1])):
    sys.stdout.buffer.write(bytes([index % 251]) * BLOCK)
sys.stdout.buffer.flush()
