"""The launcher, with a small Python program in the CLI's place (no CLI needed)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import psutil
import pytest
from conftest import TIMEOUT

from rxclaude.testing import CLIInvocation, can_isolate, cli_invocation
from rxclaude.testing.sandbox import LAUNCHER_FAILED, environment_problems

ASK_THE_FAKE_API = """
import json, os, sys, urllib.request
request = urllib.request.Request(
    os.environ["ANTHROPIC_BASE_URL"] + "/v1/messages",
    data=json.dumps({"stream": True, "messages": [{"role": "user", "content": "hi"}]}).encode(),
    headers={"Content-Type": "application/json"},
)
with urllib.request.urlopen(request, timeout=30) as response:
    events = [json.loads(line[6:]) for line in response.read().decode().splitlines()
              if line.startswith("data: ")]
text = "".join(e["delta"]["text"] for e in events if e["type"] == "content_block_delta")
print(json.dumps({"text": text, "base_url": os.environ["ANTHROPIC_BASE_URL"],
                  "pythonpath": os.environ.get("PYTHONPATH"), "cwd": os.getcwd()}))
sys.exit(3)
"""

REPORT_NETWORK = """
import json, socket
with open("/proc/net/route") as routes:
    print(json.dumps({"interfaces": [name for _, name in socket.if_nameindex()],
                      "routes": routes.read().splitlines()[1:]}))
"""

WAIT_FOR_SIGTERM = """
import os, signal, sys
print(os.getpid(), flush=True)
signal.pause()
"""


def stand_in(program: str, workdir: Path, scenario: str = "plain_text") -> CLIInvocation:
    """An invocation that runs ``program`` with Python instead of the CLI."""
    return cli_invocation(scenario, ["-c", program], workdir=workdir, claude=sys.executable)


def launch(invocation: CLIInvocation, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        invocation.argv,
        cwd=invocation.cwd,
        env=invocation.env if env is None else env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_environment_problems() -> None:
    safe = {
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "ANTHROPIC_BASE_URL": "http://127.0.0.1:8080",
    }
    assert environment_problems(safe) == []
    assert environment_problems({**safe, "HTTPS_PROXY": "http://proxy:3128"}) == [
        "HTTPS_PROXY is set"
    ]
    assert environment_problems({**safe, "no_proxy": "*"}) == ["no_proxy is set"]
    assert environment_problems({**safe, "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "0"}) == [
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC is not 1"
    ]
    (problem,) = environment_problems({**safe, "ANTHROPIC_BASE_URL": "https://api.anthropic.com"})
    assert problem.startswith("ANTHROPIC_BASE_URL is not on 127.0.0.1")


def test_launcher_serves_the_scenario_and_passes_the_exit_code(tmp_path: Path) -> None:
    invocation = stand_in(ASK_THE_FAKE_API, tmp_path)
    process = launch(invocation)
    stdout, stderr = process.communicate(timeout=TIMEOUT)
    assert (process.returncode, stderr) == (3, "")
    report = json.loads(stdout)
    assert report["text"] == "Hello from the fake API."
    assert report["base_url"].startswith("http://127.0.0.1:")
    assert report["pythonpath"] is None  # the launcher's own setting stays with it
    assert report["cwd"] == str(invocation.cwd)
    (record,) = invocation.requests()
    assert (record["path"], record["step"], record["stream"], record["status"]) == (
        "/v1/messages",
        0,
        True,
        200,
    )


@pytest.mark.skipif(not can_isolate(), reason="`unshare -n` does not work here")
def test_isolated_run_has_only_the_loopback_device(tmp_path: Path) -> None:
    invocation = stand_in(REPORT_NETWORK, tmp_path)
    assert invocation.isolated
    process = launch(invocation)
    stdout, stderr = process.communicate(timeout=TIMEOUT)
    assert (process.returncode, stderr) == (0, "")
    assert json.loads(stdout) == {"interfaces": ["lo"], "routes": []}


def test_launcher_refuses_an_unsafe_environment(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    invocation = stand_in(f"open({str(marker)!r}, 'w').close()", tmp_path)
    unsafe = {**invocation.env, "https_proxy": "http://192.0.2.1:3128"}
    del unsafe["CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC"]
    process = launch(invocation, unsafe)
    stdout, stderr = process.communicate(timeout=TIMEOUT)
    assert process.returncode == LAUNCHER_FAILED and stdout == ""
    assert "unsafe environment" in stderr and "https_proxy is set" in stderr
    assert "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC is not 1" in stderr
    assert not marker.exists()
    assert invocation.requests() == []


def test_sigterm_to_the_launcher_ends_the_cli_and_is_passed_on(tmp_path: Path) -> None:
    invocation = stand_in(WAIT_FOR_SIGTERM, tmp_path)
    process = launch(invocation)
    assert process.stdout is not None
    child = psutil.Process(int(process.stdout.readline()))
    assert child.ppid() == process.pid  # unshare runs the launcher in its own process

    process.send_signal(signal.SIGTERM)
    process.communicate(timeout=TIMEOUT)

    assert process.returncode == -signal.SIGTERM  # as the CLI ended
    child.wait(TIMEOUT)
    assert not child.is_running()
