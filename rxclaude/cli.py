"""Deprecated: the process source moved to :mod:`rxclaude.sources` (``from_cli``,
``CLIProcessError``, ``find_claude``). This module goes away in the next release."""

import warnings

from rxclaude.sources.claude import CLIProcessError, find_claude, show_command
from rxclaude.sources.pipes import InputChunk, ProcessInput
from rxclaude.sources.process import STDERR_TAIL_BYTES, STRAGGLER_TIMEOUT, from_cli
from rxclaude.sources.spool import SpoolFullError

warnings.warn(
    "rxclaude.cli is deprecated: import from rxclaude.sources", DeprecationWarning, stacklevel=2
)

__all__ = [
    "STDERR_TAIL_BYTES",
    "STRAGGLER_TIMEOUT",
    "CLIProcessError",
    "InputChunk",
    "ProcessInput",
    "SpoolFullError",
    "find_claude",
    "from_cli",
    "show_command",
]
