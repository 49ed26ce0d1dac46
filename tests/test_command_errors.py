"""The command's errors say what is wrong and what to do (issue #13, item 4): unreadable
inputs, mistyped commands, bare ``rxclaude``, ``run`` misuse, a CLI that cannot start or
is missing, and inputs that are not stream-json. Each message and exit code is checked
exactly, as a user sees them (the command runs as a subprocess)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from command_process import COMMAND, Outcome, rxclaude
from conftest import TIMEOUT

from rxclaude import sample_path
from rxclaude.command.run import NO_CLI

FRAME = b'{"type":"system","subtype":"init","session_id":"s"}\n'


def last_line(text: str) -> str:
    return text.rstrip("\n").rsplit("\n", 1)[-1]


# -- inputs that cannot be read --------------------------------------------------------


def test_list_takes_no_directory(tmp_path: Path) -> None:
    result = rxclaude("list", str(tmp_path))
    assert result.returncode == 2
    assert last_line(result.stderr) == f"rxclaude list: error: {tmp_path}: is a directory"


@pytest.mark.parametrize("command", ["view", "stats"])
def test_a_directory_without_transcripts_says_so(command: str, tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not a transcript")
    result = rxclaude(command, str(tmp_path))
    assert result.returncode == 2
    assert last_line(result.stderr) == (
        f"rxclaude {command}: error: {tmp_path}: no session transcripts (*.jsonl files) in it"
    )


@pytest.mark.parametrize("command", ["view", "stats", "list"])
def test_a_missing_file_is_no_such_file(command: str, tmp_path: Path) -> None:
    missing = tmp_path / "missing.jsonl"
    result = rxclaude(command, str(missing))
    assert result.returncode == 2
    assert last_line(result.stderr) == f"rxclaude {command}: error: {missing}: no such file"


@pytest.fixture
def unreadable_file() -> Iterator[Path]:
    """A file the user running the command may not read, in a folder anyone may enter."""
    folder = Path(tempfile.mkdtemp(prefix="rxclaude-unreadable-"))
    folder.chmod(0o755)
    path = folder / "secret.jsonl"
    path.write_bytes(FRAME)
    path.chmod(0)
    yield path
    shutil.rmtree(folder)


def as_a_plain_user() -> list[str]:
    """The start of a command line that runs as a user without privileges: root reads
    any file, so as root the command runs as ``nobody`` (with ``setpriv``)."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: no user to be denied")
    return [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"]


@pytest.mark.parametrize("command", ["view", "stats", "list"])
def test_an_unreadable_file_is_permission_denied(command: str, unreadable_file: Path) -> None:
    done = subprocess.run(
        [*as_a_plain_user(), *COMMAND, command, str(unreadable_file)],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    expected = f"rxclaude {command}: error: {unreadable_file}: permission denied"
    assert last_line(done.stderr) == expected


def test_a_path_with_control_characters_is_shown_safely(tmp_path: Path) -> None:
    hostile = tmp_path / "a\x1b]0;title\x07b"
    hostile.mkdir()
    result = rxclaude("view", str(hostile))
    assert result.returncode == 2
    assert "\x1b" not in result.stderr and "\x07" not in result.stderr
    assert last_line(result.stderr).endswith(
        "a␛]0;title␇b: no session transcripts (*.jsonl files) in it"
    )


# -- the first word --------------------------------------------------------------------


def test_a_mistyped_command_gets_a_suggestion(tmp_path: Path) -> None:
    result = rxclaude("veiw", str(tmp_path / "x.jsonl"))
    assert result.returncode == 2
    assert (
        last_line(result.stderr) == "rxclaude: error: unknown command 'veiw', did you mean 'view'?"
    )
    assert rxclaude("stast").stderr.endswith("did you mean 'stats'?\n")


def test_an_unknown_word_lists_the_commands() -> None:
    result = rxclaude("frobnicate")
    assert result.returncode == 2
    assert last_line(result.stderr) == (
        "rxclaude: error: unknown command or file 'frobnicate': the commands are list, view, "
        "stats, run, demo; a recording's path lists it"
    )


def test_an_existing_path_is_listed_even_when_it_looks_like_a_typo(tmp_path: Path) -> None:
    (tmp_path / "veiw").write_bytes(FRAME)
    done = subprocess.run(
        [*COMMAND, "veiw"],
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("== veiw\n")
    assert "-- 1 messages" in done.stdout


def test_a_missing_path_is_no_such_file() -> None:
    result = rxclaude("/nonexistent/recording.jsonl")
    assert result.returncode == 2
    expected = "rxclaude list: error: /nonexistent/recording.jsonl: no such file"
    assert last_line(result.stderr) == expected


# -- bare rxclaude ---------------------------------------------------------------------


def test_bare_rxclaude_without_input_prints_the_help() -> None:
    done = subprocess.run(
        COMMAND,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert done.returncode == 0
    assert done.stdout.startswith("usage: rxclaude [-h] COMMAND ...\n")
    assert "rxclaude list" in " ".join(done.stdout.split())
    assert "== sample" not in done.stdout  # the samples are not listed any more
    assert done.stderr == ""


def test_bare_rxclaude_lists_a_pipe() -> None:
    result = rxclaude(stdin=sample_path("permission_denied").read_bytes())
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("== <stdin>\n")
    assert "-- 6 messages" in result.stdout


def test_list_without_arguments_lists_the_bundled_samples() -> None:
    result = rxclaude("list", "--quiet")
    assert result.returncode == 0, result.stderr
    assert "== sample permission_denied\n" in result.stdout


# -- run -------------------------------------------------------------------------------


def test_the_hint_is_quoted_for_a_shell() -> None:
    result = rxclaude("run", "-p", "Say hello")
    assert last_line(result.stderr).endswith(": rxclaude run -- -p 'Say hello'")


def test_run_arguments_before_the_double_dash_get_the_hint() -> None:
    result = rxclaude("run", "-p", "hi")
    assert result.returncode == 2
    assert last_line(result.stderr) == (
        "rxclaude run: error: unrecognized arguments: -p hi; "
        "put the CLI's arguments after '--': rxclaude run -- -p hi"
    )


def test_the_hint_keeps_the_options_of_run_and_the_arguments_after_the_dashes() -> None:
    result = rxclaude("run", "--policy", "drop_newest", "--model", "m", "--", "-p", "hi")
    assert result.returncode == 2
    assert last_line(result.stderr) == (
        "rxclaude run: error: unrecognized arguments: --model m; put the CLI's arguments "
        "after '--': rxclaude run --policy drop_newest -- --model m -p hi"
    )


def test_the_hint_shows_no_secret() -> None:
    result = rxclaude("run", "--api-key", "hunter2", "-p", "sk-ant-api03-abcdef")
    assert result.returncode == 2
    assert "hunter2" not in result.stderr and "abcdef" not in result.stderr
    assert last_line(result.stderr) == (
        "rxclaude run: error: unrecognized arguments: --api-key [redacted] -p sk-ant-[redacted]; "
        "put the CLI's arguments after '--': rxclaude run -- --api-key '[redacted]' -p "
        "'sk-ant-[redacted]'"
    )


def test_run_options_are_not_abbreviated() -> None:
    # --c is no --claude: the CLI's own options must not be taken for run's
    result = rxclaude("run", "--c", "x")
    assert result.returncode == 2
    assert "unrecognized arguments: --c x" in result.stderr


def run_cli(claude: str) -> Outcome:
    return rxclaude("run", "--claude", claude, "--", "-p", "hi")


def test_a_cli_that_does_not_exist_cannot_start(tmp_path: Path) -> None:
    missing = tmp_path / "nonexistent"
    result = run_cli(str(missing))
    assert result.returncode == 127
    assert result.stderr == f"rxclaude run: cannot start {missing}: no such file\n"
    assert result.stdout == ""  # no figures: the CLI never ran


def test_a_cli_that_is_no_program_cannot_start(tmp_path: Path) -> None:
    folder = tmp_path / "folder"
    folder.mkdir()
    plain = tmp_path / "plain"
    plain.write_text("#!/bin/sh\n")
    plain.chmod(0o644)
    for claude, reason in ((folder, "is a directory"), (plain, "not executable")):
        result = run_cli(str(claude))
        assert result.returncode == 127
        assert result.stderr == f"rxclaude run: cannot start {claude}: {reason}\n"
        assert result.stdout == ""


def test_a_cli_the_system_cannot_run_is_found_out_when_it_starts(tmp_path: Path) -> None:
    not_a_program = tmp_path / "claude"
    not_a_program.write_text("neither a binary nor a script\n")
    not_a_program.chmod(0o755)
    result = run_cli(str(not_a_program))
    assert result.returncode == 127
    assert result.stderr == f"rxclaude run: cannot start {not_a_program}: exec format error\n"
    assert "source " not in result.stdout  # no figures


def test_a_cli_name_not_on_path_cannot_start() -> None:
    result = run_cli("no-such-claude-here")
    assert result.returncode == 127
    assert result.stderr == "rxclaude run: cannot start no-such-claude-here: not found on PATH\n"


def test_without_any_cli_the_message_says_how_to_get_one(tmp_path: Path) -> None:
    # PATH has no claude, and a claude_agent_sdk without its bundled binary comes first.
    site = tmp_path / "site"
    (site / "claude_agent_sdk").mkdir(parents=True)
    (site / "claude_agent_sdk" / "__init__.py").write_text("")
    empty = tmp_path / "empty"
    empty.mkdir()
    repository = Path(__file__).parents[1]
    environment = {**os.environ, "PATH": str(empty), "PYTHONPATH": f"{site}:{repository}"}
    result = rxclaude("run", "--", "-p", "hi", env=environment)
    assert result.returncode == 127
    assert result.stderr == f"rxclaude run: {NO_CLI}\n"
    assert "pip install 'rxclaude[e2e]'" in NO_CLI and "--claude PATH" in NO_CLI
    assert result.stdout == ""


# -- inputs that are not stream-json ---------------------------------------------------


def garbage(size: int) -> bytes:
    line = b"\x7fELF\x02\x01\x01 not a frame at all\n"
    return line * (size // len(line) + 1)


@pytest.fixture
def binary_file(tmp_path: Path) -> Path:
    path = tmp_path / "binary"
    path.write_bytes(garbage(200_000) + FRAME)  # a frame, but far too late
    return path


def test_view_stops_on_an_input_that_is_not_stream_json(binary_file: Path) -> None:
    result = rxclaude("view", str(binary_file))
    assert result.returncode == 1
    assert result.stdout == (
        f"✗ {binary_file} does not look like stream-json: no frame in its "
        "first 65,536 bytes; --sniff-bytes N reads further\n"
    )  # and not one line per piece of garbage


def test_stats_stops_on_an_input_that_is_not_stream_json(binary_file: Path) -> None:
    result = rxclaude("stats", "--json", str(binary_file))
    assert result.returncode == 1
    document = result.json()
    assert document["stream_error"] == (
        f"{binary_file} does not look like stream-json: no frame in its first 65,536 bytes; "
        "--sniff-bytes N reads further"
    )
    assert document["messages"]["by_type"].get("system", 0) == 0  # it stopped before it
    assert len(document["parse_errors"]["items"]) == 20


def test_sniff_bytes_reads_further(binary_file: Path) -> None:
    result = rxclaude("stats", "--json", "--sniff-bytes", "300000", str(binary_file))
    assert result.returncode == 0, result.stderr
    document = result.json()
    assert document["messages"]["by_type"]["system"] == 1
    assert document["stream_error"] is None


def test_a_short_input_without_any_frame_is_not_stream_json(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_bytes(b"some notes\nnot a stream\n")
    result = rxclaude("view", str(path))
    assert result.returncode == 1
    assert result.stdout == (f"✗ {path} does not look like stream-json: no frame in it\n")
    assert rxclaude("stats", str(path)).returncode == 1
    assert rxclaude("stats", "-", stdin=b"").returncode == 0  # empty is no error


def test_garbage_before_the_first_frame_is_shown_when_the_frame_comes(tmp_path: Path) -> None:
    path = tmp_path / "debug-first.jsonl"
    path.write_bytes(b"[SandboxDebug] one\n" + sample_path("permission_denied").read_bytes())
    result = rxclaude("view", str(path))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("✗ parse: invalid_json at byte 0 (18 bytes)")
    assert lines[1].startswith("session ")


def test_max_frame_bytes_reaches_the_parser() -> None:
    sample = str(sample_path("permission_denied"))
    document = rxclaude("stats", "--json", "--max-frame-bytes", "600", sample).json()
    reasons = {item["reason"] for item in document["parse_errors"]["items"]}
    assert reasons == {"frame_too_large"}
    assert document["messages"]["by_type"]["parse_error"] >= 1
    default = rxclaude("stats", "--json", sample).json()
    assert default["parse_errors"]["count"] == 0
    view = rxclaude("view", "--max-frame-bytes", "600", sample)
    assert "frame_too_large" in view.stdout


@pytest.mark.parametrize("command", ["view", "stats"])
@pytest.mark.parametrize("option", ["--max-frame-bytes", "--sniff-bytes"])
@pytest.mark.parametrize(
    ("value", "why"), [("0", "must be at least 1, not 0"), ("-3", "must be at least 1, not -3")]
)
def test_a_size_below_one_is_a_usage_error(command: str, option: str, value: str, why: str) -> None:
    result = rxclaude(command, option, value, "--sample", "permission_denied")
    assert result.returncode == 2
    assert last_line(result.stderr) == f"rxclaude {command}: error: argument {option}: {why}"
