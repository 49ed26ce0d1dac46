"""``rxclaude.testing`` as a user's own tests use it: scenarios of their own, the source
of a run, and a package that needs nothing from rxclaude's test suite."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import TIMEOUT

from rxclaude import parse_json_frames
from rxclaude.messages import AssistantMessage, ResultMessage
from rxclaude.testing import (
    Scenario,
    cli_invocation,
    reply,
    text_block,
    tool_use_block,
)
from rxclaude.testing.sandbox import LAUNCHER_FAILED

from .harness import STREAM_JSON, collect

GREETING = "A scenario of the user's own, with a custom file."

OWN_SCENARIO = Scenario(
    "own_scenario",
    (
        reply(
            "msg_own_1",
            tool_use_block("toolu_own_read", "Read", {"file_path": "own.txt"}),
            stop_reason="tool_use",
        ),
        reply("msg_own_2", text_block(GREETING)),
    ),
    prompts=("Read own.txt.",),
    project_files={"own.txt": "contents of the user's file\n"},
    env={"ANTHROPIC_BASE_URL": "https://api.anthropic.com"},  # overridden by the harness
)


@pytest.mark.e2e
def test_a_scenario_object_of_ones_own_runs_through_the_real_cli(
    claude: str, workdir: Path
) -> None:
    invocation = cli_invocation(
        OWN_SCENARIO, ["-p", "Read own.txt.", *STREAM_JSON], workdir=workdir
    )
    assert invocation.env["ANTHROPIC_BASE_URL"] == "http://127.0.0.1"
    assert (invocation.cwd / "own.txt").read_text() == "contents of the user's file\n"
    assert invocation.home == Path(invocation.env["HOME"])

    outcome = collect(invocation.source().pipe(parse_json_frames()))

    assert outcome.error is None
    texts = [
        message.text
        for message in outcome.items
        if isinstance(message, AssistantMessage) and message.text
    ]
    assert texts == [GREETING]
    result = outcome.items[-1]
    assert isinstance(result, ResultMessage) and result.result == GREETING
    tool_results = [
        message.raw["message"]["content"][0]["content"]
        for message in outcome.items
        if message.type == "user" and message.raw is not None
    ]
    assert len(tool_results) == 1 and "contents of the user's file" in tool_results[0]
    assert [(record["step"], record["status"]) for record in invocation.requests()] == [
        (0, 200),
        (1, 200),
    ]


def test_the_launcher_refuses_a_scenario_file_that_holds_something_else(tmp_path: Path) -> None:
    invocation = cli_invocation(
        Scenario("stray", (reply("msg_stray", text_block("never served")),)),
        ["-c", "print('never runs')"],
        workdir=tmp_path,
        claude=sys.executable,
    )
    scenario_file = Path(invocation.argv[invocation.argv.index("--scenario-file") + 1])
    scenario_file.write_bytes(pickle.dumps({"not": "a scenario"}))
    done = subprocess.run(
        invocation.argv,
        check=False,
        cwd=invocation.cwd,
        env=invocation.env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert done.returncode == LAUNCHER_FAILED and done.stdout == ""
    assert "cannot load the scenario: " in done.stderr and "holds a dict" in done.stderr


def test_the_package_needs_nothing_from_the_test_suite(tmp_path: Path) -> None:
    program = (
        "import json, sys, rxclaude.testing, rxclaude.testing.sandbox; "
        "print(json.dumps(sorted(name for name in sys.modules if name.split('.')[0] == 'tests')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", program],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=True,
    )
    assert json.loads(done.stdout) == []


def test_an_executable_of_the_run_carries_its_environment_and_directory(tmp_path: Path) -> None:
    invocation = cli_invocation("plain_text", [], workdir=tmp_path, claude=sys.executable)
    executable = invocation.write_executable(tmp_path / "claude")
    report = "import json, os; print(json.dumps([os.getcwd(), os.environ['HOME']]))"
    done = subprocess.run(
        [str(executable), "-c", report],
        env={"PATH": os.defpath},  # nothing of the caller's: the executable brings its own
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [str(invocation.cwd), str(invocation.home)]
    assert invocation.requests() == []  # started through the launcher, which served nothing
