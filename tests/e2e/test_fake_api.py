"""The fake Messages API over real HTTP on 127.0.0.1 (no CLI needed)."""

from __future__ import annotations

import http.client
import json
from pathlib import Path
from typing import Any

import pytest

from rxclaude.testing import SCENARIOS, APIError, FakeAPI, NotStreamed, Streamed


@pytest.fixture
def request_log(tmp_path: Path) -> Path:
    return tmp_path / "requests.jsonl"


def post(api: FakeAPI, body: Any, path: str = "/v1/messages?beta=true") -> tuple[int, str, bytes]:
    """Status, content type and the whole body (read to the end of the connection)."""
    host, port = api.url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        connection.request("POST", path, json.dumps(body), {"Content-Type": "application/json"})
        response = connection.getresponse()
        return response.status, response.getheader("Content-Type") or "", response.read()
    finally:
        connection.close()


def sse_events(body: bytes) -> list[tuple[str, dict[str, Any]]]:
    events = []
    for chunk in body.decode().split("\n\n"):
        if chunk:
            event_line, data_line = chunk.split("\n")
            events.append((event_line.removeprefix("event: "), json.loads(data_line[6:])))
    return events


def conversation(assistant_turns: int, *, stream: bool = True) -> dict[str, Any]:
    messages: list[dict[str, Any]] = [{"role": "user", "content": "hi"}]
    for _ in range(assistant_turns):
        messages += [{"role": "assistant", "content": "ok"}, {"role": "user", "content": "more"}]
    return {"model": "m", "max_tokens": 10, "stream": stream, "messages": messages}


def log_records(request_log: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in request_log.read_text().splitlines()]


@pytest.mark.parametrize("host", ["0.0.0.0", "localhost", "192.0.2.1", "::1"])
def test_refuses_any_host_but_127_0_0_1(host: str, request_log: Path) -> None:
    with pytest.raises(ValueError, match=r"binds 127\.0\.0\.1 only"):
        FakeAPI(SCENARIOS["plain_text"], request_log, host=host)


def test_streams_the_step_chosen_by_the_assistant_turns(request_log: Path) -> None:
    scenario = SCENARIOS["bash_echo"]
    with FakeAPI(SCENARIOS["bash_echo"], request_log) as api:
        assert api.url.startswith("http://127.0.0.1:")
        replies = [post(api, conversation(turns)) for turns in (0, 1, 0)]
    for (status, content_type, body), step in zip(replies, (0, 1, 0), strict=True):
        reply = scenario.steps[step].streaming
        assert isinstance(reply, Streamed)
        assert (status, content_type) == (200, "text/event-stream")
        assert sse_events(body) == reply.events()
    names = [name for name, _ in sse_events(replies[0][2])]
    assert names[:3] == ["message_start", "ping", "content_block_start"]
    assert names[-2:] == ["message_delta", "message_stop"]
    records = log_records(request_log)
    assert [(r["step"], r["stream"], r["status"]) for r in records] == [
        (0, True, 200),
        (1, True, 200),
        (0, True, 200),
    ]
    assert records[1]["body"] == conversation(1)


def test_broken_stream_then_non_streaming_fallback(request_log: Path) -> None:
    step = SCENARIOS["midstream_error"].steps[0]
    assert isinstance(step.streaming, Streamed) and isinstance(step.non_streaming, NotStreamed)
    with FakeAPI(SCENARIOS["midstream_error"], request_log) as api:
        _, _, streamed = post(api, conversation(0))
        status, content_type, fallback = post(api, conversation(0, stream=False))
    events = sse_events(streamed)
    assert [name for name, _ in events].count("content_block_delta") == step.streaming.broken_after
    assert events[-1] == ("error", step.streaming.error.body())
    assert "message_stop" not in [name for name, _ in events]
    assert (status, content_type) == (200, "application/json")
    assert json.loads(fallback) == step.non_streaming.message.body()


@pytest.mark.parametrize(
    ("scenario", "status", "error_type"),
    [
        ("error_500", 500, "api_error"),
        ("error_529", 529, "overloaded_error"),
        ("error_401", 401, "authentication_error"),
    ],
)
def test_error_replies(scenario: str, status: int, error_type: str, request_log: Path) -> None:
    reply = SCENARIOS[scenario].steps[0].streaming
    assert isinstance(reply, APIError)
    with FakeAPI(SCENARIOS[scenario], request_log) as api:
        answers = [post(api, conversation(0)) for _ in range(2)]
    for answer_status, content_type, body in answers:
        assert (answer_status, content_type) == (status, "application/json")
        assert json.loads(body) == {"type": "error", "error": reply.body()["error"]}
        assert json.loads(body)["error"]["type"] == error_type
    assert [r["status"] for r in log_records(request_log)] == [status, status]


def test_unknown_requests_get_404_and_are_logged(request_log: Path) -> None:
    with FakeAPI(SCENARIOS["plain_text"], request_log) as api:
        not_found = post(api, {"messages": []}, "/v1/messages/count_tokens")
        host, port = api.url.removeprefix("http://").split(":")
        connection = http.client.HTTPConnection(host, int(port), timeout=30)
        connection.request("HEAD", "/")
        head_status = connection.getresponse().status
        connection.close()
        beyond_script = post(api, conversation(1))
    assert not_found[0] == 404 and json.loads(not_found[2])["error"]["type"] == "not_found_error"
    assert head_status == 404
    assert beyond_script[0] == 400
    assert "has no step 1" in json.loads(beyond_script[2])["error"]["message"]
    records = log_records(request_log)
    assert [(r["method"], r["path"], r["status"]) for r in records] == [
        ("POST", "/v1/messages/count_tokens", 404),
        ("HEAD", "/", 404),
        ("POST", "/v1/messages?beta=true", 400),
    ]


def test_scenarios_expose_what_they_stream() -> None:
    long_text = SCENARIOS["long_text"]
    assert long_text.text == long_text.streamed_text
    assert len(long_text.text) > 8000
    midstream = SCENARIOS["midstream_error"]
    broken = midstream.steps[0].streaming
    assert isinstance(broken, Streamed) and broken.broken_after is not None
    assert midstream.streamed_text == broken.message.text[: 8 * broken.broken_after]
    assert midstream.text == "The complete answer, from the non-streaming retry."
    bash = SCENARIOS["bash_echo"]
    assert bash.tool_calls == [
        ("toolu_fake_bash", "Bash", {"command": "echo hello", "description": "Print hello"})
    ]
    assert bash.text == "I'll run a command.The command printed hello."
    assert SCENARIOS["error_500"].messages == [] and SCENARIOS["error_500"].text == ""
