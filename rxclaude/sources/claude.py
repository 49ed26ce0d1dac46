"""The Claude Code CLI itself: where to find it, and how a run of a process failed."""

import importlib.util
import os
import shutil
import signal
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rxclaude.messages.errors import ResultCarryingError
from rxclaude.redact import redact, redact_arguments

if TYPE_CHECKING:
    from rxclaude.messages import ResultMessage

_COMMAND_SHOWN = 8  # arguments shown in an error message
_ARGUMENT_SHOWN = 80  # characters of each


class CLIProcessError(ResultCarryingError):
    """The child process exited with a non-zero code or was killed by a signal.

    A :class:`~rxclaude.messages.ResultCarryingError`: ``parse_json_frames`` sets
    :attr:`result` to the last ``result`` frame it decoded before the failure.

    The text shows the command with values that look like credentials redacted; the
    attributes keep them exact.

    Attributes:
        returncode: The exit code; negative when a signal killed the process.
        stderr: The last 64 KiB of its stderr, decoded as UTF-8 (``errors="replace"``).
        command: The argument list it ran (``args`` holds it as a tuple).
        result: The stream's last result frame when a parsing operator saw one.
    """

    def __init__(
        self,
        command: Sequence[str],
        returncode: int,
        stderr: str = "",
        result: "ResultMessage | None" = None,
    ) -> None:
        super().__init__(*command)
        self.command = list(command)
        self.returncode = returncode
        self.stderr = stderr
        self.result = result

    def __str__(self) -> str:
        if self.returncode < 0:
            outcome = f"was killed by signal {_signal_name(-self.returncode)}"
        else:
            outcome = f"exited with code {self.returncode}"
        message = f"command {show_command(self.command)} {outcome}"
        stderr_lines = self.stderr.strip().splitlines()
        return f"{message}: {redact(stderr_lines[-1])}" if stderr_lines else message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        arguments = (self.command, self.returncode, self.stderr, self.result)
        return type(self), arguments, self.__dict__


def show_command(command: Sequence[str]) -> str:
    """The command as a message shows it: credentials redacted, long parts shortened."""
    shown = [
        argument if len(argument) <= _ARGUMENT_SHOWN else argument[: _ARGUMENT_SHOWN - 3] + "..."
        for argument in redact_arguments(command[:_COMMAND_SHOWN])
    ]
    if len(command) > _COMMAND_SHOWN:
        shown.append("...")
    return "[" + ", ".join(repr(argument) for argument in shown) + "]"


def _signal_name(number: int) -> str:
    try:
        return f"{number} ({signal.Signals(number).name})"
    except ValueError:
        return str(number)


def find_claude() -> str | None:
    """The path of the Claude Code CLI, or None when there is none.

    ``claude`` on ``PATH`` comes first; then the binary bundled in the ``claude-agent-sdk``
    wheel (``claude_agent_sdk/_bundled/claude``, installed by the ``e2e`` extra), which is
    located without importing the package.
    """
    name = "claude.exe" if os.name == "nt" else "claude"
    on_path = shutil.which(name)
    if on_path is not None:
        return on_path
    package = importlib.util.find_spec("claude_agent_sdk")
    locations = package.submodule_search_locations if package is not None else None
    for location in locations or ():
        bundled = Path(location) / "_bundled" / name
        if bundled.is_file() and os.access(bundled, os.X_OK):
            return str(bundled)
    return None


__all__ = ["CLIProcessError", "find_claude", "show_command"]
