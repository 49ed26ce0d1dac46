"""``rxclaude run --to-redis URL`` and ``rxclaude stats --from-redis URL KEY…`` against a
real ``redis-server`` on 127.0.0.1 (issue #18): every frame written, read back with
exact counts and a per-host breakdown, Ctrl-C ends the live view with its figures, and
no password reaches the output, whatever fails.
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import reactivex
import redis
import redis_server as servers
from command_process import (
    CHILDREN,
    COMMAND,
    Outcome,
    colour_terminal,
    executable,
    read_terminal,
    read_terminal_to_end,
    rxclaude,
    watched,
)
from conftest import TIMEOUT
from waiting import wait_until

from rxclaude import sample_path
from rxclaude.command.session import Session, make_console
from rxclaude.command.view import watch_messages
from rxclaude.framing import parse_json_frames
from rxclaude.redis import LocalRedis, RedisWriteError, to_redis_stream

RECORDING = sample_path("tool_use_partial")
FRAMES = [json.loads(line) for line in RECORDING.read_bytes().splitlines() if line.strip()]
SESSION = FRAMES[0]["session_id"]
PASSWORD = "s3cret-Passw0rd"

redis_server = servers.redis_server
redis_client = servers.redis_client
own_redis_server = servers.own_redis_server


def run_to_redis(tmp_path: Path, url: str, *options: str, **environment: str) -> Outcome:
    claude = executable(tmp_path / "claude", CHILDREN / "fake_claude.py")
    env = {
        **os.environ,
        "FAKE_CLAUDE_REPORT": str(tmp_path / "report.json"),
        "FAKE_CLAUDE_RECORDING": str(RECORDING),
        **environment,
    }
    return rxclaude(
        "run", "--claude", str(claude), "--to-redis", url, *options, "--", "-p", "hi", env=env
    )


def write_host(client: redis.Redis, key: str, host: str, data: bytes) -> int:
    """Send ``data`` through ``parse_json_frames | to_redis_stream(host=host)``; the count
    written."""
    sink = to_redis_stream(client, key, host=host)
    reactivex.just(data).pipe(parse_json_frames(), sink).run()
    return sink.statistics().written


def test_run_writes_every_frame_to_the_stream(
    tmp_path: Path, redis_server: LocalRedis, redis_client: redis.Redis
) -> None:
    done = run_to_redis(tmp_path, redis_server.url)
    assert done.returncode == 0, done.stderr
    key = f"claude:{SESSION}"
    assert redis_client.keys("*") == [key.encode()]
    entries: Any = redis_client.xrange(key)
    assert len(entries) == len(FRAMES) == redis_client.xlen(key)
    assert [json.loads(fields[b"frame"]) for _id, fields in entries] == FRAMES
    assert [int(fields[b"seq"]) for _id, fields in entries] == list(range(len(FRAMES)))
    assert {fields[b"session"] for _id, fields in entries} == {SESSION.encode()}
    assert (
        f"redis         {len(FRAMES)} written to {redis_server.url} claude:{{session}} · "
        "0 not written · " in done.stdout
    )


def test_the_key_template_is_the_callers(
    tmp_path: Path, redis_server: LocalRedis, redis_client: redis.Redis
) -> None:
    done = run_to_redis(tmp_path, redis_server.url, "--redis-key", "fleet:{host}")
    assert done.returncode == 0, done.stderr
    [key] = redis_client.keys("fleet:*")
    assert redis_client.xlen(key) == len(FRAMES)


def test_a_wrong_key_template_is_a_usage_error(tmp_path: Path, redis_server: LocalRedis) -> None:
    done = run_to_redis(tmp_path, redis_server.url, "--redis-key", "claude:{user}")
    assert done.returncode == 2
    assert done.stderr.startswith("rxclaude run: --redis-key 'claude:{user}': ")
    assert not (tmp_path / "report.json").exists()  # the CLI never started


def test_stats_reads_the_streams_back_with_exact_counts(
    redis_server: LocalRedis, redis_client: redis.Redis
) -> None:
    data = RECORDING.read_bytes()
    assert write_host(redis_client, "fleet:a", "host-a", data) == len(FRAMES)
    other = data.replace(SESSION.encode(), b"another-session")
    assert write_host(redis_client, "fleet:b", "host-b", other) == len(FRAMES)
    done = rxclaude(
        "stats", "--json", "--from-redis", redis_server.url, "fleet:a", "fleet:b",
        "--count", str(2 * len(FRAMES)),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    document = done.json()
    by_type = Counter(frame["type"] for frame in FRAMES)
    assert document["messages"]["by_type"] == {name: 2 * n for name, n in by_type.items()}
    assert document["messages"]["total"] == 2 * len(FRAMES)
    file = rxclaude("stats", "--json", str(RECORDING)).json()
    assert document["cost_usd"] == pytest.approx(2 * file["cost_usd"])
    assert document["tools"]["calls"] == 2 * file["tools"]["calls"]
    sessions = document["claude"]["claude_sessions"]["samples"]
    assert sessions == [{"labels": {}, "value": 2}]
    redis_figures = document["redis"]
    assert redis_figures["read"] == 2 * len(FRAMES)
    assert redis_figures["duplicates"] == redis_figures["lost"] == 0
    one_host = {
        "messages": len(FRAMES),
        "sessions": 1,
        "turns": 1,
        "errors": 0,
        "cost_usd": pytest.approx(file["cost_usd"]),
    }
    assert redis_figures["hosts"] == {"host-a": one_host, "host-b": one_host}


def test_until_idle_ends_the_view_when_nothing_comes(
    redis_server: LocalRedis, redis_client: redis.Redis
) -> None:
    written = write_host(redis_client, "fleet:a", "host-a", RECORDING.read_bytes())
    done = rxclaude("stats", "--from-redis", redis_server.url, "fleet:a", "--until-idle", "0.5")
    assert done.returncode == 0, done.stderr
    assert f"messages      {written} · " in done.stdout
    host_line = next(line for line in done.stdout.splitlines() if "host-a" in line)
    assert host_line.split()[:5] == ["host-a", str(written), "1", "1", "0"]


def test_ctrl_c_ends_the_live_view_with_its_figures(
    redis_server: LocalRedis, redis_client: redis.Redis
) -> None:
    written = write_host(redis_client, "fleet:a", "host-a", RECORDING.read_bytes())
    arguments = [*COMMAND, "stats", "--json", "--from-redis", redis_server.url, "fleet:a"]

    def all_counted() -> bool:
        # Each entry is acknowledged once the handlers have counted it.
        groups = redis_client.xinfo_groups("fleet:a")
        return bool(groups) and groups[0]["entries-read"] == written and groups[0]["pending"] == 0

    with watched(
        [*arguments, "--group", "dash"], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    ) as process:
        wait_until(all_counted)
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate()
    assert process.returncode == 130, stderr
    document = json.loads(stdout)
    assert document["messages"]["total"] == written
    assert document["redis"]["hosts"]["host-a"]["messages"] == written
    assert document["redis"]["group"] == "dash"
    assert "Traceback" not in stderr.decode()


# -- passwords ---------------------------------------------------------------------------


def secured(server: LocalRedis) -> str:
    """Require :data:`PASSWORD` on ``server``; its URL without the password."""
    servers.client_of(server).config_set("requirepass", PASSWORD)
    return server.url


def assert_hidden(done: Outcome) -> None:
    assert PASSWORD not in done.stdout and PASSWORD not in done.stderr, done


def test_a_password_in_the_url_is_used_and_never_shown(
    tmp_path: Path,
    own_redis_server: LocalRedis,
) -> None:
    url = secured(own_redis_server).replace("redis://", f"redis://:{PASSWORD}@")
    shown = url.replace(PASSWORD, "[redacted]")
    written = run_to_redis(tmp_path, url)
    assert written.returncode == 0, written.stderr
    assert f"{len(FRAMES)} written to {shown} " in written.stdout
    assert_hidden(written)
    read = rxclaude("stats", "--from-redis", url, f"claude:{SESSION}", "--count", str(len(FRAMES)))
    assert read.returncode == 0, read.stderr
    assert f"{len(FRAMES)} read from {shown} " in read.stdout
    assert_hidden(read)
    typo = rxclaude("run", "--to-redis", url, "--bogus", "--", "-p", "hi")
    assert typo.returncode == 2
    assert shown in typo.stderr
    assert_hidden(typo)


def test_the_password_may_come_from_the_environment(
    tmp_path: Path,
    own_redis_server: LocalRedis,
) -> None:
    url = secured(own_redis_server)
    done = run_to_redis(tmp_path, url, RXCLAUDE_REDIS_PASSWORD=PASSWORD)
    assert done.returncode == 0, done.stderr
    assert_hidden(done)
    wrong = run_to_redis(tmp_path, url, RXCLAUDE_REDIS_PASSWORD=PASSWORD + "-wrong")
    assert wrong.returncode == 1
    assert wrong.stderr.startswith(f"rxclaude run: cannot reach Redis at {url}: Authentication")
    assert PASSWORD not in wrong.stderr and PASSWORD not in wrong.stdout


def test_an_unreachable_redis_is_an_error_before_the_cli_starts(
    tmp_path: Path,
    own_redis_server: LocalRedis,
) -> None:
    own_redis_server.stop()
    url = own_redis_server.url.replace("redis://", f"redis://:{PASSWORD}@")
    shown = url.replace(PASSWORD, "[redacted]")
    done = run_to_redis(tmp_path, url)
    assert done.returncode == 1
    assert done.stderr.startswith(
        f"rxclaude run: cannot reach Redis at {shown}: ConnectionError: "
    ), done.stderr
    assert done.stdout == ""
    assert not (tmp_path / "report.json").exists()  # the CLI never started
    assert_hidden(done)
    read = rxclaude("stats", "--from-redis", url, "claude:x")
    assert read.returncode == 1
    assert read.stderr.startswith(f"rxclaude stats: cannot reach Redis at {shown}: ")
    assert_hidden(read)


def test_without_redis_py_the_options_say_which_extra(tmp_path: Path) -> None:
    shadow = tmp_path / "shadow" / "redis"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise ImportError('not installed')\n")
    environment = {**os.environ, "PYTHONPATH": str(shadow.parent)}
    done = run_to_redis(tmp_path, "redis://127.0.0.1:1/0", PYTHONPATH=str(shadow.parent))
    assert done.returncode == 2
    assert done.stderr == (
        "rxclaude run: --to-redis needs redis-py: pip install 'rxclaude[redis]'\n"
    )
    read = rxclaude("stats", "--from-redis", "redis://127.0.0.1:1/0", "k", env=environment)
    assert read.returncode == 2
    assert read.stderr == (
        "rxclaude stats: --from-redis needs redis-py: pip install 'rxclaude[redis]'\n"
    )


def test_the_redis_options_are_checked(redis_server: LocalRedis) -> None:
    no_keys = rxclaude("stats", "--from-redis", redis_server.url)
    assert no_keys.returncode == 2 and "give at least one" in no_keys.stderr
    alone = rxclaude("stats", "--count", "3", str(RECORDING))
    assert alone.returncode == 2 and "--count: for --from-redis only" in alone.stderr
    consumer = rxclaude("stats", "--from-redis", redis_server.url, "k", "--consumer", "c")
    assert consumer.returncode == 2 and "give --group too" in consumer.stderr


def test_on_a_terminal_the_host_table_is_redrawn_as_hosts_come(
    redis_server: LocalRedis, redis_client: redis.Redis
) -> None:
    data = RECORDING.read_bytes()
    write_host(redis_client, "fleet:a", "host-a", data)
    terminal, command_side, environment = colour_terminal()
    arguments = [*COMMAND, "stats", "--from-redis", redis_server.url, "fleet:a", "fleet:b"]
    with watched(
        arguments,
        stdin=subprocess.DEVNULL,
        stdout=command_side,
        stderr=subprocess.PIPE,
        env=environment,
    ) as process:
        os.close(command_side)
        try:
            shown = read_terminal(terminal, b"host-a")
            assert b"host-b" not in shown
            write_host(redis_client, "fleet:b", "host-b", data)
            read_terminal(terminal, b"host-b")  # the live table, before any Ctrl-C
            process.send_signal(signal.SIGINT)
            final = read_terminal_to_end(terminal)
            stderr = process.communicate(timeout=TIMEOUT)[1]
        finally:
            os.close(terminal)
    assert process.returncode == 130, stderr
    assert b"rxclaude stats" in final and b"by host" in final
    assert f"{2 * len(FRAMES)} read from".encode() in final


def test_a_failed_write_is_shown_as_an_error_line() -> None:
    parsed = reactivex.just(RECORDING.read_bytes()).pipe(parse_json_frames())
    failure = RedisWriteError(
        offset=0,
        received_at=datetime.now(UTC),
        streams=("claude:\x1b[2Jx",),
        count=3,
        first_sequence=0,
        last_sequence=2,
        attempts=11,
        error="ConnectionError: refused \x1b]0;title\x07",
    )
    out = io.StringIO()
    session = Session()
    error = watch_messages(
        session, reactivex.concat(parsed, reactivex.just(failure)), make_console(out)
    )
    assert error is None
    shown = out.getvalue()
    assert (
        "✗ redis_write_error: 3 messages (seq 0..2) not written to claude:␛[2Jx after 11 "
        "attempts: ConnectionError: refused ␛]0;title␇\n" in shown
    )
    assert session.handlers.error.by_source == {"other": 1}


def test_messages_redis_refuses_are_shown_and_make_the_run_fail(
    tmp_path: Path, redis_server: LocalRedis, redis_client: redis.Redis
) -> None:
    redis_client.set(f"claude:{SESSION}", "not a stream")  # every XADD fails: WRONGTYPE
    done = run_to_redis(tmp_path, redis_server.url)
    assert done.returncode == 1
    assert "✗ redis_write_error: " in done.stdout and "WRONGTYPE" in done.stdout
    assert f"redis         0 written to {redis_server.url} claude:{{session}} · " in done.stdout
    assert f" · {len(FRAMES)} not written · " in done.stdout
    assert done.stderr == (
        f"rxclaude run: {len(FRAMES)} messages not written to Redis at {redis_server.url}\n"
    )
