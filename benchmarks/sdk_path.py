"""Case "sdk": the official claude-agent-sdk's per-line path, replayed over a file.

What ``SubprocessCLITransport._read_messages_impl`` (``claude_agent_sdk/_internal/transport/
subprocess_cli.py``) and ``parse_message`` (``_internal/message_parser.py``) do with the CLI's
stdout, with the SDK's own functions, minus the process and the event loop:

1. chunks of up to 64 KiB (anyio's ``receive()`` size) decoded by an incremental UTF-8
   decoder, as ``anyio.streams.text.TextReceiveStream`` does;
2. ``_LineFramer.push`` splits them into complete lines;
3. the transport's guard: a line over ``_DEFAULT_MAX_BUFFER_SIZE`` (1 MiB) characters is an
   error;
4. ``_parse_stdout_line``: strip, skip blank and non-``{`` lines, ``json.loads``;
5. ``parse_message``: a typed SDK message, ``None`` for an unknown ``type``.

Where the SDK raises (and ends the stream), the replay counts the line and goes on, so
every line is accounted for. Not replayed: the asyncio loop, the anyio memory stream
between the transport's reader task and the caller, and ``Query``'s routing of control
frames; each adds cost per message, so this is an upper bound of the SDK's throughput.
"""

from __future__ import annotations

import codecs
import importlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

from benchmarks.common import CaseUnavailableError

SDK_DISTRIBUTION = "claude-agent-sdk"
SDK_CHUNK_BYTES = 65536
"""anyio's default ``receive()`` size, what the SDK's text stream reads from the pipe."""

OUTCOMES = (
    "delivered",
    "skipped_blank_or_non_json",
    "skipped_unknown_type",
    "rejected_over_buffer_limit",
    "rejected_invalid_json",
    "rejected_by_parse_message",
)
"""Per line: the SDK yields a message, skips the line, or raises (which ends its stream)."""


@dataclass
class SdkTally:
    """What the replay did with each line, and the SDK message classes it produced."""

    outcomes: Counter[str] = field(default_factory=Counter)
    classes: Counter[str] = field(default_factory=Counter)

    @property
    def lines(self) -> int:
        return sum(self.outcomes.values())


class SdkPath:
    """The SDK's functions, imported once; :meth:`replay` runs them over a file."""

    def __init__(self) -> None:
        try:  # by name: the SDK is optional, and mypy runs without it in CI
            errors = importlib.import_module("claude_agent_sdk._errors")
            parser = importlib.import_module("claude_agent_sdk._internal.message_parser")
            transport = importlib.import_module(
                "claude_agent_sdk._internal.transport.subprocess_cli"
            )
        except ImportError as exc:
            raise CaseUnavailableError(
                f"claude_agent_sdk not importable ({type(exc).__name__}); "
                f"install the e2e extra ({SDK_DISTRIBUTION})"
            ) from exc
        self.version = metadata.version(SDK_DISTRIBUTION)
        self._json_error: type[Exception] = errors.CLIJSONDecodeError
        self._parse_error: type[Exception] = errors.MessageParseError
        self._parse_message: Callable[[dict[str, Any]], object] = parser.parse_message
        self._framer: Callable[[], Any] = transport._LineFramer
        self._parse_line: Callable[[str], dict[str, Any] | None] = transport._parse_stdout_line
        self._max_line: int = transport._DEFAULT_MAX_BUFFER_SIZE

    def replay(self, path: str, tally_classes: bool = False) -> SdkTally:
        """Run the SDK's per-line path over the file at ``path``."""
        tally = SdkTally()
        outcomes = tally.outcomes
        classes = tally.classes
        decode = codecs.getincrementaldecoder("utf-8")().decode
        framer = self._framer()
        parse_line, parse_message = self._parse_line, self._parse_message
        json_error, parse_error, max_line = self._json_error, self._parse_error, self._max_line
        delivered = 0

        def one(line: str) -> None:
            nonlocal delivered
            if len(line) > max_line:
                outcomes["rejected_over_buffer_limit"] += 1
                return
            try:
                data = parse_line(line)
            except json_error:
                outcomes["rejected_invalid_json"] += 1
                return
            if data is None:
                outcomes["skipped_blank_or_non_json"] += 1
                return
            try:
                message = parse_message(data)
            except parse_error:
                outcomes["rejected_by_parse_message"] += 1
                return
            if message is None:
                outcomes["skipped_unknown_type"] += 1
                return
            delivered += 1
            if tally_classes:
                classes[type(message).__name__] += 1

        with open(path, "rb", buffering=0) as f:
            while chunk := f.read(SDK_CHUNK_BYTES):
                for line in framer.push(decode(chunk)):
                    one(line)
        tail = framer.flush() + decode(b"", final=True)
        if tail:  # the SDK parses a last line without "\n" too
            one(tail)
        outcomes["delivered"] += delivered
        return tally


def prepare_sdk() -> Callable[[str], int]:
    """The timed runner: the number of lines the replay accounted for."""
    sdk = SdkPath()

    def run(path: str) -> int:
        return sdk.replay(path).lines

    return run


def check_sdk(path: str, expected: int) -> dict[str, Any]:
    """Untimed: the outcome of every line, and the SDK classes produced."""
    sdk = SdkPath()
    tally = sdk.replay(path, tally_classes=True)
    return {
        "sdk_version": sdk.version,
        "lines": tally.lines,
        "expected_lines": expected,
        "outcomes": {name: tally.outcomes[name] for name in OUTCOMES},
        "classes": dict(tally.classes.most_common()),
    }
