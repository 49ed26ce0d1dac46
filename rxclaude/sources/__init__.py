"""Sources: byte chunks from files, readers and processes, at the head of the data path.

* :mod:`~rxclaude.sources.files`: ``from_file`` and ``from_reader``;
* :mod:`~rxclaude.sources.process`: ``from_cli``, a child process's stdout;
* :mod:`~rxclaude.sources.spool`: where a source keeps what its producer wrote and the
  consumer has not taken yet (memory, then disk);
* :mod:`~rxclaude.sources.claude`: finding the Claude Code CLI, and ``CLIProcessError``.
"""

from rxclaude.sources.claude import CLIProcessError, find_claude, show_command
from rxclaude.sources.files import (
    DEFAULT_CHUNK_SIZE,
    DEFAULT_FILE_CHUNK_SIZE,
    check_chunk_size,
    from_file,
    from_reader,
)
from rxclaude.sources.pipes import InputChunk, ProcessInput
from rxclaude.sources.process import STDERR_TAIL_BYTES, STRAGGLER_TIMEOUT, from_cli
from rxclaude.sources.spool import (
    DEFAULT_SPOOL_MEMORY,
    EMPTY_SPOOL_STATISTICS,
    Spool,
    SpooledSource,
    SpoolFullError,
    SpoolStatistics,
)

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "DEFAULT_FILE_CHUNK_SIZE",
    "DEFAULT_SPOOL_MEMORY",
    "EMPTY_SPOOL_STATISTICS",
    "STDERR_TAIL_BYTES",
    "STRAGGLER_TIMEOUT",
    "CLIProcessError",
    "InputChunk",
    "ProcessInput",
    "Spool",
    "SpoolFullError",
    "SpoolStatistics",
    "SpooledSource",
    "check_chunk_size",
    "find_claude",
    "from_cli",
    "from_file",
    "from_reader",
    "show_command",
]
