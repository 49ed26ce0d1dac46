"""``rxclaude stats`` and ``rxclaude view`` over session transcripts, run as a user would
(a subprocess, ``TZ=UTC``): the real transcripts of tests/data/transcripts and a generated
``~/.claude/projects`` tree (``HOME`` and ``CLAUDE_CONFIG_DIR`` pointed at a temp dir)."""

from __future__ import annotations

import json
import os
import subprocess
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from command_process import COMMAND, Outcome, rxclaude
from transcript_files import CORPUS, DATA, assistant_entry, entry, line, write

from rxclaude import sample_path

S1 = "11111111-1111-4111-8111-111111111111"
S2 = "22222222-2222-4222-8222-222222222222"
DAY2 = 24 * 3600 + 2 * 3600
"""Seconds from ``T0`` (2026-03-01 10:00 UTC) to 2026-03-02 12:00 UTC."""

TIMED = ("messages", "read speed", "latency", "buffer")
"""Rows whose values depend on the run's timing."""


def environment(home: Path, *, config: bool = True) -> dict[str, str]:
    """The command's environment: HOME (and CLAUDE_CONFIG_DIR) in ``home``, days in UTC."""
    env = {key: value for key, value in os.environ.items() if key != "CLAUDE_CONFIG_DIR"}
    env.update(HOME=str(home), TZ="UTC")
    if config:
        env["CLAUDE_CONFIG_DIR"] = str(home / "config")
    return env


def run(*arguments: str, env: dict[str, str]) -> Outcome:
    """``rxclaude ARGUMENTS`` with stdin on /dev/null (not a pipe: no stdin input)."""
    done = subprocess.run(
        [*COMMAND, *arguments],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=60,
        check=False,
        env=env,
    )
    return Outcome(done.returncode, done.stdout.decode(), done.stderr.decode())


def tool_use(call: str, name: str) -> dict[str, Any]:
    return {"type": "tool_use", "id": call, "name": name, "input": {"x": 1}}


def tool_result(at: float, call: str, session: str, *, error: bool = False, **fields: Any) -> bytes:
    block = {"type": "tool_result", "tool_use_id": call, "content": "ok", "is_error": error}
    return entry(
        "user", at, sessionId=session, message={"role": "user", "content": [block]}, **fields
    )


def usage(tokens_in: int, tokens_out: int, read: int = 0, write_: int = 0) -> dict[str, int]:
    return {
        "input_tokens": tokens_in,
        "output_tokens": tokens_out,
        "cache_read_input_tokens": read,
        "cache_creation_input_tokens": write_,
    }


def make_tree(projects: Path) -> None:
    """Two projects over two days: a session with a cost-state line, a repeated entry and
    a subagent file; another session whose cost is in ``costUSD``."""
    alpha, beta = projects / "-home-u-alpha", projects / "-home-u-beta"
    first = usage(10, 5, 100, 20)
    write(
        alpha / f"{S1}.jsonl",
        entry("user", 0, sessionId=S1, message={"role": "user", "content": "build it"}),
        line(
            assistant_entry(
                1, "m1", "r1", usage=first, content=[tool_use("t1", "Bash")], session=S1
            )
        ),
        line(assistant_entry(1.5, "m1", "r1", usage=first, session=S1)),  # same response
        tool_result(3, "t1", S1),
        line(assistant_entry(4, "m2", "r2", usage=usage(20, 7), session=S1)),
        entry(
            "cost-state",
            5,
            sessionId=S1,
            totalCostUSD=0.5,
            modelUsage={"claude-test-1": {"inputTokens": 30, "costUSD": 0.5}},
        ),
    )
    sidechain: dict[str, Any] = {"isSidechain": True, "agentId": "a1"}
    write(
        alpha / S1 / "subagents" / "agent-a1.jsonl",
        line(
            assistant_entry(
                2,
                "m3",
                "r3",
                usage=usage(3, 4),
                content=[tool_use("t2", "Read")],
                session=S1,
                **sidechain,
            )
        ),
        tool_result(2.25, "t2", S1, **sidechain),
    )
    write(
        beta / f"{S2}.jsonl",
        line(
            assistant_entry(
                DAY2,
                "m4",
                "r4",
                usage=usage(100, 50),
                content=[tool_use("t3", "Bash")],
                session=S2,
                costUSD=0.25,
            )
        ),
        tool_result(DAY2 + 1, "t3", S2, error=True),
    )


@pytest.fixture
def home(tmp_path: Path) -> Path:
    make_tree(tmp_path / "config" / "projects")
    return tmp_path


def rows(stdout: str) -> list[str]:
    """The figures' lines, but those holding times of the run."""
    return [row for row in stdout.splitlines() if row.split("  ")[0] not in TIMED]


# -- the generated tree -----------------------------------------------------------------

TREE_FIGURES = [
    "source        {projects}",
    "transcripts   3 files · 2 sessions · 2 projects",
    "by type       assistant 5 · user 4 · cost-state 1",
    "by kind       tool_use 6 · text 2 · error 1",
    "tool calls    3 · 1 failed",
    "  Bash        2 calls · 1 failed · 3.0 s total · max 2.0 s",
    "  Read        1 call · 0 failed · 250 ms total · max 250 ms",
    "tokens        133 in · 66 out · 100 cache read · 20 cache write",
    "responses     4 · 1 repeated entries counted once",
    "cost          $0.75",
    "errors        1 · tool_result 1",
    "parse errors  0",
]


def test_stats_reads_the_projects_folder_by_default(home: Path) -> None:
    result = run("stats", env=environment(home))
    assert result.returncode == 0, result.stderr
    projects = home / "config" / "projects"
    assert rows(result.stdout) == [row.format(projects=projects) for row in TREE_FIGURES]


def test_without_claude_config_dir_it_is_home_dot_claude(tmp_path: Path) -> None:
    make_tree(tmp_path / ".claude" / "projects")
    result = run("stats", "--by", "project", env=environment(tmp_path, config=False))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-3:] == [
        "project        responses  input  output  cache read  cache write   cost",
        "-home-u-alpha          3     33      16         100           20   $0.5",
        "-home-u-beta           1    100      50           0            0  $0.25",
    ]


def test_by_day_and_by_session(home: Path) -> None:
    by_day = run("stats", "--by", "day", env=environment(home))
    assert by_day.returncode == 0, by_day.stderr
    assert by_day.stdout.splitlines()[-4:] == [
        "",
        "day         responses  input  output  cache read  cache write   cost",
        "2026-03-01          3     33      16         100           20   $0.5",
        "2026-03-02          1    100      50           0            0  $0.25",
    ]
    by_session = run("stats", "--by", "session", env=environment(home))
    assert by_session.stdout.splitlines()[-2:] == [
        f"{S1}          3     33      16         100           20   $0.5",
        f"{S2}          1    100      50           0            0  $0.25",
    ]


def test_json_by_day_since_a_date(home: Path) -> None:
    result = run("stats", "--json", "--by", "day", "--since", "2026-03-02", env=environment(home))
    assert result.returncode == 0, result.stderr
    document = result.json()
    assert document["tokens"] == {"input": 100, "output": 50, "cache_read": 0, "cache_creation": 0}
    assert document["cost_usd"] == 0.25
    assert document["transcripts"] == {
        "files": 1,
        "sessions": 1,
        "projects": 1,
        "responses": 1,
        "repeated_entries": 0,
        "since": "2026-03-02T00:00:00+00:00",
        "by": {
            "day": {
                "2026-03-02": {
                    "responses": 1,
                    "input": 100,
                    "output": 50,
                    "cache_read": 0,
                    "cache_creation": 0,
                    "cost_usd": 0.25,
                }
            }
        },
    }
    assert document["tools"] == {
        "calls": 1,
        "errors": 1,
        "unpaired_results": 0,
        "running": 0,
        "unanswered": None,
        "by_name": {
            "Bash": {
                "calls": 1,
                "errors": 1,
                "finished": 1,
                "duration_ms": {"total": 1000.0, "mean": 1000.0, "max": 1000.0},
            }
        },
    }
    assert document["live"] is False and document["result"] is None


def test_a_stream_json_recording_and_a_transcript_folder_together(home: Path) -> None:
    recording = sample_path("tool_use_partial")
    folder = home / "config" / "projects" / "-home-u-beta"
    result = run("stats", "--json", str(recording), str(folder), env=environment(home))
    assert result.returncode == 0, result.stderr
    first, second = result.json()
    assert first["source"] == str(recording) and first["transcripts"] is None
    assert first["result"] is not None  # read as stream-json, as before
    assert second["source"] == str(folder) and second["cost_usd"] == 0.25


def test_the_view_of_the_tree_names_each_file_and_times_the_tools(home: Path) -> None:
    result = run("view", str(home / "config" / "projects"), env=environment(home))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        f"── -home-u-alpha · session {S1}",
        "> build it",
        "● #1 Bash(x=1)",
        "hi",
        f"── -home-u-alpha · session {S1} · subagent a1",
        "● #2 Read(x=1)",
        "  ⎿ #2 Read · ok  (250 ms)",
        f"── -home-u-alpha · session {S1}",
        "  ⎿ #1 Bash · ok  (2.0 s)",
        "hi",
        f"── -home-u-beta · session {S2}",
        "● #3 Bash(x=1)",
        "  ⎿ error: ok  (1.0 s)",
    ]


# -- the real transcripts ----------------------------------------------------------------


def independent_usage() -> dict[str, dict[str, int]]:
    """Tokens per day of the corpus, read with ``json`` alone: each response (message id
    and request id) once, with the largest figures seen on its entries; the subagents'
    entries forwarded in ``agent_progress`` lines count as theirs."""
    responses: dict[tuple[str, str | None], dict[str, Any]] = {}
    for path in CORPUS:
        for raw in path.read_bytes().splitlines():
            frame = json.loads(raw)
            found = [frame]
            data = frame.get("data")
            if frame["type"] == "progress" and isinstance(data, dict) and data.get("message"):
                found.append({**data["message"], "timestamp": frame["timestamp"]})
            for item in found:
                inner = item.get("message") or {}
                if item.get("type") != "assistant" or "usage" not in inner:
                    continue
                if inner.get("model") == "<synthetic>":
                    continue
                key = (inner["id"], item.get("requestId"))
                seen = responses.setdefault(key, {"day": item["timestamp"][:10]})
                for name, value in inner["usage"].items():
                    if isinstance(value, int):
                        seen[name] = max(seen.get(name, 0), value)
    days: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for seen in responses.values():
        day = days[seen["day"]]
        day["responses"] += 1
        for name in ("input_tokens", "output_tokens"):
            day[name] += seen.get(name, 0)
        day["cache_read"] += seen.get("cache_read_input_tokens", 0)
        day["cache_creation"] += seen.get("cache_creation_input_tokens", 0)
    return days


def test_the_corpus_by_day_matches_an_independent_count(tmp_path: Path) -> None:
    result = run("stats", "--json", "--by", "day", str(DATA), env=environment(tmp_path))
    assert result.returncode == 0, result.stderr
    by_day = result.json()["transcripts"]["by"]["day"]
    expected = independent_usage()
    assert by_day == {
        day: {
            "responses": figures["responses"],
            "input": figures["input_tokens"],
            "output": figures["output_tokens"],
            "cache_read": figures["cache_read"],
            "cache_creation": figures["cache_creation"],
            "cost_usd": None,  # CLI 2.1.38 wrote neither cost-state nor costUSD
        }
        for day, figures in sorted(expected.items())
    }


def test_the_corpus_figures(tmp_path: Path) -> None:
    result = run("stats", "--by", "day", str(DATA), env=environment(tmp_path))
    assert result.returncode == 0, result.stderr
    assert rows(result.stdout) == [
        f"source             {DATA}",
        "transcripts        4 files · 4 sessions · 1 project",
        "by type            progress 57 · assistant 43 · user 41 · file-history-snapshot 7 · "
        "system 5 · queue-operation 2",
        "by kind            tool_use 48 · text 13 · system 5 · error 2",
        "system             local_command 4 · stop_hook_summary 1",
        "tool calls         33 · 5 failed",
        "  AskUserQuestion  1 call · 0 failed · 135.3 s total · max 135.3 s",
        "  Bash             11 calls · 2 failed · 202.6 s total · max 63.5 s",
        "  ExitPlanMode     1 call · 0 failed · 110.4 s total · max 110.4 s",
        "  Glob             3 calls · 1 failed · 1.2 s total · max 811 ms",
        "  Read             7 calls · 2 failed · 244 ms total · max 214 ms",
        "  Task             1 call · 0 failed · 38.8 s total · max 38.8 s",
        "  WebFetch         2 calls · 0 failed · 10.2 s total · max 5.3 s",
        "  WebSearch        6 calls · 0 failed · 41.5 s total · max 9.0 s",
        "  Write            1 call · 0 failed · 212 ms total · max 212 ms",
        "tokens             1,660 in · 1,826 out · 787,205 cache read · 80,339 cache write",
        "responses          23 · 29 repeated entries counted once",
        "cost               $?",
        "errors             2 · tool_result 2",
        "parse errors       0",
        "",
        "day         responses  input  output  cache read  cache write  cost",
        "2026-02-10         22  1,657   1,818     622,375       71,658    $?",
        "2026-02-12          1      3       8     164,830        8,681    $?",
    ]


@pytest.mark.parametrize("path", CORPUS, ids=lambda path: path.stem)
def test_each_corpus_file_is_told_a_transcript(path: Path, tmp_path: Path) -> None:
    document = run("stats", "--json", str(path), env=environment(tmp_path)).json()
    assert document["transcripts"]["files"] == 1
    assert document["parse_errors"]["count"] == 0
    assert document["messages"]["total"] == len(path.read_bytes().splitlines())


def test_the_view_of_a_transcript_shows_the_prompts(tmp_path: Path) -> None:
    path = DATA / "marot-spotter__short.jsonl"
    result = run("view", str(path), env=environment(tmp_path))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[:2] == [f"── {path}", "> mix phx.server doesnt seem to start"]
    rejected = "The user doesn't want to proceed with this tool use. The tool use was rejected"
    assert f"  ⎿ #2 Glob · error: {rejected} (eg. if it was a fil…  (811 ms)" in lines


# -- what is not a transcript, and usage errors -------------------------------------------


def test_a_stream_json_recording_is_still_one(tmp_path: Path) -> None:
    document = rxclaude("stats", "--json", str(sample_path("tool_use_partial"))).json()
    assert document["transcripts"] is None and document["result"] is not None


def test_by_on_a_stream_json_recording_is_a_usage_error() -> None:
    result = rxclaude("stats", "--by", "day", str(sample_path("tool_use_partial")))
    assert result.returncode == 2
    assert result.stderr.rstrip().endswith(
        "--by and --since sum up session transcripts, and no PATH is one"
    )


def test_no_projects_folder_says_where_it_looked(tmp_path: Path) -> None:
    result = run("stats", env=environment(tmp_path))
    assert result.returncode == 2
    assert f"{tmp_path / 'config' / 'projects'}: no such folder" in result.stderr


def test_since_must_be_a_date(home: Path) -> None:
    result = run("stats", "--since", "yesterday", env=environment(home))
    assert result.returncode == 2
    assert "not a date (YYYY-MM-DD) or a time (YYYY-MM-DDTHH:MM): 'yesterday'" in result.stderr


def test_follow_reads_transcripts_only() -> None:
    result = rxclaude("view", "--follow", str(sample_path("tool_use_partial")))
    assert result.returncode == 2
    assert result.stderr.rstrip().endswith(
        "not a session transcript (--follow and --since read those)"
    )
    piped = rxclaude("view", "--follow", "-")
    assert piped.returncode == 2
    assert "--follow and --since read session transcripts, not stdin or --sample" in piped.stderr


def test_paths_and_a_sample_together_are_a_usage_error() -> None:
    result = rxclaude("stats", "--sample", "tool_use_partial", str(DATA))
    assert result.returncode == 2
    assert result.stderr.rstrip().endswith("give a FILE or --sample, not both")


def test_a_folder_gives_its_transcripts_and_leaves_other_jsonl_files_out(tmp_path: Path) -> None:
    folder = tmp_path / "mixed"
    (folder / "nested").mkdir(parents=True)
    for path in CORPUS:
        (folder / path.name).write_bytes(path.read_bytes())
    (folder / "recording.jsonl").write_bytes(sample_path("tool_use_partial").read_bytes())
    (folder / "nested" / "requests.jsonl").write_text('{"method": "POST"}\n', encoding="utf-8")
    os.mkfifo(folder / "nested" / "pipe.jsonl")  # never opened: it would block

    stats = run("stats", "--json", str(folder), env=environment(tmp_path))
    view = run("view", str(folder), env=environment(tmp_path))

    assert stats.returncode == 0, stats.stderr
    document = stats.json()
    assert document["transcripts"]["files"] == len(CORPUS)
    assert document["parse_errors"]["count"] == 0
    total_lines = sum(len(path.read_bytes().splitlines()) for path in CORPUS)
    assert document["messages"]["total"] == total_lines
    left_out = f"{folder}: left out 3 *.jsonl files that are not session transcripts"
    assert stats.stderr == f"rxclaude stats: {left_out}\n"
    assert view.returncode == 0, view.stderr
    assert view.stderr == f"rxclaude view: {left_out}\n"
    assert "recording.jsonl" not in view.stdout and "requests.jsonl" not in view.stdout


def test_a_folder_without_a_transcript_is_a_usage_error(tmp_path: Path) -> None:
    folder = tmp_path / "recordings"
    folder.mkdir()
    (folder / "recording.jsonl").write_bytes(sample_path("tool_use_partial").read_bytes())
    for command in ("view", "stats"):
        result = run(command, str(folder), env=environment(tmp_path))
        assert result.returncode == 2
        assert result.stderr.splitlines()[-1] == (
            f"rxclaude {command}: error: {folder}: no session transcripts in it "
            "(1 *.jsonl file, none a transcript)"
        )
