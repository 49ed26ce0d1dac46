"""The launcher that runs the real CLI against the fake API.

``python -m rxclaude.testing.sandbox (--scenario NAME | --scenario-file PATH)
--request-log PATH [--isolated] -- CLAUDE ARGS…``

``--scenario`` names a built-in scenario (:data:`rxclaude.testing.SCENARIOS`);
``--scenario-file`` is a pickled :class:`~rxclaude.testing.Scenario` that
:func:`~rxclaude.testing.cli_invocation` wrote for a scenario of the caller's own.

With ``--isolated`` (the harness runs it under ``unshare -n``, in a network namespace of
its own) it first brings the loopback device up and checks that no other interface
exists. Then it starts the fake API for the scenario on 127.0.0.1, points
``ANTHROPIC_BASE_URL`` at it, runs the CLI with stdin, stdout and stderr inherited (so a
consumer that stops reading stops the CLI itself), passes SIGTERM, SIGINT and SIGHUP on to
it, and ends the way the CLI ended: the same exit code, or killed by the same signal.

It refuses to start the CLI (exit code 125, reason on stderr) unless the environment
disables the CLI's non-essential traffic and sets no proxy.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import pickle
import signal
import socket
import struct
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import FrameType
from urllib.parse import urlsplit

from .catalogue import SCENARIOS
from .fake_api import LOOPBACK, FakeAPI
from .scenario import Scenario

LAUNCHER_FAILED = 125
"""The launcher's exit code when it could not start the CLI."""

PROXY_VARIABLES = frozenset(
    f"{name}_proxy" for name in ("http", "https", "all", "ftp", "no", "socks", "grpc")
)
"""Proxy settings, matched case-insensitively: none may be set for a CLI run."""

_SIOCGIFFLAGS = 0x8913
_SIOCSIFFLAGS = 0x8914
_IFF_UP = 0x1
_IFREQ = "16sH22x"  # struct ifreq: the interface name, then ifr_flags in the union


def environment_problems(env: Mapping[str, str]) -> list[str]:
    """Why ``env`` is not safe for a CLI run: an empty list when it is."""
    problems = [f"{name} is set" for name in env if name.lower() in PROXY_VARIABLES]
    if env.get("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC") != "1":
        problems.append("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC is not 1")
    base_url = env.get("ANTHROPIC_BASE_URL")
    if base_url is None or urlsplit(base_url).hostname != LOOPBACK:
        problems.append(f"ANTHROPIC_BASE_URL is not on {LOOPBACK}: {base_url!r}")
    return problems


def bring_loopback_up() -> None:
    """Sets the ``lo`` device up (a new network namespace starts with it down)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = struct.pack(_IFREQ, b"lo", 0)
        _, flags = struct.unpack(_IFREQ, fcntl.ioctl(sock, _SIOCGIFFLAGS, request))
        fcntl.ioctl(sock, _SIOCSIFFLAGS, struct.pack(_IFREQ, b"lo", flags | _IFF_UP))


class _ForwardSignals:
    """Passes the signals a launcher gets on to the CLI, also those that come early."""

    SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)

    def __init__(self) -> None:
        self.child: subprocess.Popen[bytes] | None = None
        self.pending: list[int] = []
        for number in self.SIGNALS:
            signal.signal(number, self._on_signal)

    def _on_signal(self, number: int, _: FrameType | None) -> None:
        if self.child is None:
            self.pending.append(number)
        elif self.child.poll() is None:
            self.child.send_signal(number)

    def started(self, child: subprocess.Popen[bytes]) -> None:
        self.child = child
        for number in self.pending:
            child.send_signal(number)


def _fail(reason: str) -> int:
    print(f"rxclaude.testing.sandbox: {reason}", file=sys.stderr)
    return LAUNCHER_FAILED


def load_scenario(path: Path) -> Scenario:
    """The scenario pickled at ``path`` (written by ``cli_invocation``, never by a stranger).

    Raises:
        TypeError: the file holds something else.
    """
    with path.open("rb") as file:
        scenario = pickle.load(file)
    if not isinstance(scenario, Scenario):
        raise TypeError(f"{path} holds a {type(scenario).__name__}, not a Scenario")
    return scenario


def run(scenario: Scenario, request_log: Path, isolated: bool, command: Sequence[str]) -> int:
    """Runs ``command`` against the fake API; returns its exit code (negative: signal)."""
    forward = _ForwardSignals()
    problems = environment_problems(os.environ)
    if problems:
        return _fail("unsafe environment: " + "; ".join(problems))
    if isolated:
        try:
            bring_loopback_up()
        except OSError as error:
            return _fail(f"cannot bring the loopback device up: {error}")
        others = [name for _, name in socket.if_nameindex() if name != "lo"]
        if others:
            return _fail(f"not isolated: the namespace has interfaces {others}")
    with FakeAPI(scenario, request_log) as api:
        env = {name: value for name, value in os.environ.items() if name != "PYTHONPATH"}
        env["ANTHROPIC_BASE_URL"] = api.url
        try:
            child = subprocess.Popen(command, env=env)
        except OSError as error:
            return _fail(f"cannot start {command[0]}: {error}")
        forward.started(child)
        return child.wait()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m rxclaude.testing.sandbox", description=__doc__)
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--scenario", choices=sorted(SCENARIOS))
    which.add_argument("--scenario-file", type=Path, help="a pickled Scenario")
    parser.add_argument("--request-log", required=True, type=Path)
    parser.add_argument("--isolated", action="store_true", help="inside `unshare -n`")
    parser.add_argument("command", nargs="+", help="the CLI and its arguments, after --")
    arguments = parser.parse_args(argv)
    try:
        scenario = (
            SCENARIOS[arguments.scenario]
            if arguments.scenario is not None
            else load_scenario(arguments.scenario_file)
        )
    except (OSError, pickle.UnpicklingError, TypeError, AttributeError) as error:
        sys.exit(_fail(f"cannot load the scenario: {error}"))
    code = run(scenario, arguments.request_log, arguments.isolated, arguments.command)
    if code < 0:  # end the way the CLI did: killed by the same signal
        if -code not in (signal.SIGKILL, signal.SIGSTOP):  # these cannot be handled
            signal.signal(-code, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
    sys.exit(code)


if __name__ == "__main__":
    main()
