"""Run the real Claude Code CLI offline, against a fake Messages API on 127.0.0.1.

For tests of your own pipelines: a scenario scripts what the fake API answers (text,
thinking, tool calls, API errors, broken streams); :func:`cli_invocation` prepares a run
in a fresh directory (its own ``HOME``, the scenario's files, a request log), inside
``unshare -n`` (loopback only) where that works; :meth:`CLIInvocation.source` starts it::

    from rxclaude import parse_json_frames
    from rxclaude.testing import cli_invocation

    run = cli_invocation("bash_echo", ["-p", "Run echo", "--output-format", "stream-json",
                                      "--verbose"])
    run.source().pipe(parse_json_frames()).subscribe(print)

The CLI comes from :func:`rxclaude.find_claude` (``pip install 'rxclaude[e2e]'`` bundles
one). Every run sets ``CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1``, ``DISABLE_TELEMETRY=1``,
``DISABLE_AUTOUPDATER=1`` and a dummy key; the launcher refuses to start the CLI unless
``ANTHROPIC_BASE_URL`` points to 127.0.0.1 and no proxy is set.
"""

from __future__ import annotations

from .catalogue import SCENARIOS
from .fake_api import LOOPBACK, FakeAPI
from .invocation import CLIInvocation, can_isolate, cli_invocation
from .scenario import (
    INPUT_TOKENS,
    APIError,
    Block,
    NotStreamed,
    Reply,
    Response,
    Scenario,
    Step,
    Streamed,
    reply,
    text_block,
    thinking_block,
    tool_use_block,
)

__all__ = [
    "INPUT_TOKENS",
    "LOOPBACK",
    "SCENARIOS",
    "APIError",
    "Block",
    "CLIInvocation",
    "FakeAPI",
    "NotStreamed",
    "Reply",
    "Response",
    "Scenario",
    "Step",
    "Streamed",
    "can_isolate",
    "cli_invocation",
    "reply",
    "text_block",
    "thinking_block",
    "tool_use_block",
]
