"""``rxclaude stats --json`` and ``rxclaude run --prometheus PORT`` expose the Claude-level
metrics under the same names (issue #19).

The run's server is scraped over HTTP on 127.0.0.1 while the CLI stand-in
(``tests/children/echo_claude.py``) waits for its next turn: the test writes a turn,
waits for its answer on the command's output (the handlers have counted it by then), and
scrapes.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import socket
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from command_process import (
    CHILDREN,
    COMMAND,
    executable,
    read_lines_until,
    rxclaude,
    watched,
)
from conftest import TIMEOUT
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from rxclaude import sample_path
from rxclaude._samples import sample_names
from rxclaude.command import main
from rxclaude.command.session import Session
from rxclaude.metrics.prometheus import PrometheusExporter

Samples = dict[str, dict[frozenset[tuple[str, str]], float]]
"""Family name (without the ``rxclaude_`` prefix) -> label set -> value."""


def exposition_families(text: str) -> Samples:
    """The Claude-level families of a Prometheus exposition, as :data:`Samples`."""
    families: Samples = {}
    for family in text_string_to_metric_families(text):
        name = family.name.removeprefix("rxclaude_")
        if not name.startswith("claude_"):
            continue
        suffix = "_total" if family.type == "counter" else ""
        families[name] = {
            frozenset(sample.labels.items()): sample.value
            for sample in family.samples
            if sample.name == family.name + suffix
        }
    return families


def document_families(claude: dict[str, dict[str, list[dict[str, object]]]]) -> Samples:
    """The ``claude`` figures of ``stats --json``, as :data:`Samples` (histograms aside)."""
    families: Samples = {}
    for name, family in claude.items():
        values: dict[frozenset[tuple[str, str]], float] = {}
        for sample in family["samples"]:
            labels = sample["labels"]
            value = sample["value"]
            assert isinstance(labels, dict) and isinstance(value, int | float)
            values[frozenset(labels.items())] = float(value)
        families[name] = values
    return families


def stats_json(*arguments: str) -> dict[str, object]:
    out = in_process("stats", "--json", *arguments)
    document: dict[str, object] = json.loads(out)
    return document


def in_process(*arguments: str) -> str:
    """``rxclaude ARGUMENTS`` in this process; its stdout."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(list(arguments)) == 0
    return out.getvalue()


@pytest.mark.parametrize("sample", sample_names())
def test_stats_json_gives_the_names_and_values_prometheus_exports(sample: str) -> None:
    claude = stats_json("--sample", sample)["claude"]
    assert isinstance(claude, dict)
    session = Session()
    assert session.run(str(sample_path(sample)), lambda _message: None) is None
    registry = CollectorRegistry()
    PrometheusExporter(session.metrics, registry, claude=session.claude)
    scraped = exposition_families(generate_latest(registry).decode())
    # A recording's arrival times are reading times: stats leaves the durations out.
    assert "claude_tool_duration_seconds" in scraped
    assert "claude_tool_duration_seconds" not in claude
    del scraped["claude_tool_duration_seconds"]
    assert document_families(claude) == scraped
    assert scraped["claude_sessions"] == {frozenset(): 1.0}


def test_a_live_stream_keeps_the_tool_durations() -> None:
    recording = sample_path("tool_use_partial").read_bytes()
    done = rxclaude("stats", "--json", "-", stdin=recording)
    assert done.returncode == 0, done.stderr
    document = done.json()
    assert document["live"] is True
    durations = document["claude"]["claude_tool_duration_seconds"]["samples"]
    assert [(sample["labels"], sample["count"]) for sample in durations] == [({"tool": "Bash"}, 1)]


def test_the_figures_show_the_models() -> None:
    out = in_process("stats", "--sample", "tool_use_partial")
    assert "models        claude-sonnet-4-5 2 responses\n" in out


# -- run --prometheus ------------------------------------------------------------------------


def turn(text: str) -> bytes:
    message = {"role": "user", "content": text}
    return (json.dumps({"type": "user", "message": message, "session_id": ""}) + "\n").encode()


def scrape(url: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    with urllib.request.urlopen(url, timeout=TIMEOUT) as response:
        text = response.read().decode()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_run_serves_its_metrics_on_loopback_while_it_runs(tmp_path: Path) -> None:
    claude = executable(tmp_path / "claude", CHILDREN / "echo_claude.py")
    arguments = [*COMMAND, "run", "--prometheus", "0", "--claude", str(claude)]
    arguments += ["--", "-p", "--input-format", "stream-json"]
    with watched(
        arguments, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    ) as process:
        assert process.stdin and process.stdout and process.stderr
        announced = process.stderr.readline().decode()
        found = re.fullmatch(
            r"rxclaude run: metrics on (http://127\.0\.0\.1:\d+/metrics)\n", announced
        )
        assert found is not None, announced
        url = found.group(1)
        process.stdin.write(turn("first"))
        process.stdin.flush()
        read_lines_until(process.stdout, b"echo: first")
        first = scrape(url)
        process.stdin.write(turn("second"))
        process.stdin.flush()
        read_lines_until(process.stdout, b"echo: second")
        second = scrape(url)
        process.stdin.close()
        figures = process.stdout.read().decode()
        stderr = process.stderr.read().decode()
        assert process.wait() == 0, stderr
    unknown = frozenset({("model", "(unknown)")})  # the stand-in's answers name no model
    assistant = frozenset({("type", "assistant")})
    assert first[("rxclaude_claude_sessions_total", frozenset())] == 1
    assert first[("rxclaude_claude_responses_total", unknown)] == 1
    assert first[("rxclaude_messages_by_type_total", assistant)] == 1
    assert not any(name == "rxclaude_claude_turns_total" for name, _ in first)  # no result yet
    assert second[("rxclaude_claude_responses_total", unknown)] == 2
    assert second[("rxclaude_messages_by_type_total", assistant)] == 2
    assert "result        ✓ done · 2 turns" in figures
    with pytest.raises(urllib.error.URLError):  # the server ended with the run
        urllib.request.urlopen(url, timeout=TIMEOUT)


def test_a_taken_port_is_an_error_before_the_cli_starts(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    claude = executable(tmp_path / "claude", CHILDREN / "echo_claude.py")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = rxclaude(
            "run", "--prometheus", str(port), "--claude", str(claude), "--", "-p",
            env={**os.environ, "ECHO_CLAUDE_REPORT": str(report)},
        )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr == (
        f"rxclaude run: cannot serve metrics on 127.0.0.1:{port}: address already in use\n"
    )
    assert not report.exists()  # the CLI never started


def test_without_prometheus_client_the_option_says_which_extra(tmp_path: Path) -> None:
    shadow = tmp_path / "shadow" / "prometheus_client"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise ImportError('not installed')\n")
    claude = executable(tmp_path / "claude", CHILDREN / "echo_claude.py")
    environment = {**os.environ, "PYTHONPATH": str(shadow.parent)}
    done = rxclaude(
        "run", "--prometheus", "0", "--claude", str(claude), "--", "-p", env=environment
    )
    assert done.returncode == 2
    assert done.stderr == (
        "rxclaude run: --prometheus needs prometheus_client: pip install 'rxclaude[prometheus]'\n"
    )
