"""Notebook displays: messages, parse errors, snapshots and statistics render as valid HTML
tables, and hostile stream content renders inert (escaped, no raw control character)."""

from __future__ import annotations

import io
import re
from html.parser import HTMLParser
from typing import Any

import pytest
import reactivex
from corpus_files import bundled_recordings, decode
from rich.console import Console

from rxclaude import _samples
from rxclaude.backpressure import Policy, backpressure
from rxclaude.framing import parse_json_frames
from rxclaude.handlers import ClaudeMetrics
from rxclaude.messages import Message, message_from_json
from rxclaude.metrics import StreamMetrics, measure
from rxclaude.routing import Router, route_by_type

HOSTILE = "<script>alert(1)</script>\x1b[2J\x07\u202egnp.exe\x9b<img src=x onerror=alert(2)>"
VOID = {"br", "hr", "img", "input", "meta", "link", "wbr"}
CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


class Checked(HTMLParser):
    """Parses HTML, checking that every element is closed in order; keeps tags and text."""

    def __init__(self, markup: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.open: list[str] = []
        self.data: list[str] = []
        self.feed(markup)
        self.close()
        assert self.open == [], f"unclosed {self.open}"

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        assert not any(name.startswith("on") for name, _ in attrs)
        if tag not in VOID:
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.open and self.open[-1] == tag, f"</{tag}> closes {self.open}"
        self.open.pop()

    def handle_data(self, data: str) -> None:
        self.data.append(data)


def hostile_messages() -> list[Message]:
    blocks = [
        {"type": "text", "text": HOSTILE},
        {"type": "thinking", "thinking": HOSTILE},
        {"type": "tool_use", "id": "t1", "name": HOSTILE, "input": {"command": HOSTILE}},
    ]
    frames: list[dict[str, Any]] = [
        {"type": "assistant", "session_id": HOSTILE, "message": {"content": blocks}},
        {"type": "user", "message": {"content": [
            {"type": "tool_result", "tool_use_id": "t1", "content": HOSTILE, "is_error": True}]}},
        {"type": "result", "subtype": HOSTILE, "result": HOSTILE, "total_cost_usd": 1.5},
        {"type": "stream_event", "event": {"type": "content_block_delta",
                                           "delta": {"type": "text_delta", "text": HOSTILE}}},
        {"type": "system", "subtype": "init", "cwd": HOSTILE},
        {"type": HOSTILE, HOSTILE: HOSTILE},
    ]  # fmt: skip
    parsed = [message_from_json(frame) for frame in frames]
    parse_errors = decode(HOSTILE.encode() + b"\n" + b"\xff\xfe" + HOSTILE.encode() + b"\n")
    return parsed + parse_errors


@pytest.mark.parametrize("message", hostile_messages(), ids=lambda m: type(m).__name__)
def test_hostile_content_renders_inert(message: Message) -> None:
    markup = message._repr_html_()
    page = Checked(markup)
    assert "script" not in page.tags and "img" not in page.tags
    assert not CONTROLS.search(markup)
    text = "".join(page.data)
    assert "<script>alert(1)</script>" in text  # shown as text, not run
    assert "\\u001b[2J" in text or "\\x1b[2J" in text
    assert not CONTROLS.search(repr(message))


def test_a_parse_error_shows_its_reason_offset_and_excerpt() -> None:
    (_, error) = decode(b'{"type":"system"}\n[Sandbox] <b>x</b>\n')
    text = "".join(Checked(error._repr_html_()).data)
    assert "ParseError" in text and "invalid_json" in text
    assert "offset 18" in text and "[Sandbox] <b>x</b>" in text
    assert repr(error).startswith("ParseError(parse_error/invalid_json, offset=18, nbytes=18: ")


def test_the_repr_is_compact_and_readable() -> None:
    message = message_from_json(
        {"type": "assistant", "message": {"content": [{"type": "text", "text": "Hello " * 40}]}},
        offset=7,
        nbytes=300,
    )
    assert repr(message) == (
        f"AssistantMessage(assistant, offset=7, nbytes=300: {('Hello ' * 10)[:59] + '…'!r})"
    )


def test_every_message_of_the_recordings_renders_valid_html() -> None:
    paths = [*bundled_recordings(), *map(_samples.sample_path, _samples.sample_names())]
    for path in paths:
        for message in decode(path.read_bytes()):
            page = Checked(message._repr_html_())
            assert "details" in page.tags or message.raw is None
            assert type(message).__name__ in "".join(page.data)


def test_snapshot_statistics_and_figures_are_tables() -> None:
    router, metrics, claude = Router.default(), StreamMetrics(sample_every=1), ClaudeMetrics()
    claude.attach(router)
    buffer = backpressure(Policy.BLOCK, buffer_size=8)
    data = _samples.sample_path("tool_use_partial").read_bytes() + b"junk\n"
    reactivex.of(data).pipe(
        parse_json_frames(), buffer, route_by_type(router), measure(metrics, router=router)
    ).run()
    snapshot = metrics.snapshot()
    shown = {
        "MetricsSnapshot": snapshot._repr_html_(),
        "BackpressureStatistics": buffer.statistics()._repr_html_(),
        "RouterStatistics": router.statistics()._repr_html_(),
        "ClaudeFigures": claude.figures()._repr_html_(),
    }
    for title, markup in shown.items():
        page = Checked(markup)
        assert "table" in page.tags and title in page.data
    snapshot_text = Checked(shown["MetricsSnapshot"]).data
    assert "messages_received" in snapshot_text
    assert str(snapshot.messages_received) in snapshot_text
    assert snapshot.to_dict()["by_type.parse_error"] == 1
    assert snapshot.to_dict()["latency.count"] == snapshot.messages_received
    figures_text = Checked(shown["ClaudeFigures"]).data
    assert "claude_tool_calls" in figures_text and "Bash" in figures_text


def rich_output(renderable: object) -> str:
    """What a rich console writes for ``renderable`` (a real terminal's colours and all)."""
    written = io.StringIO()
    console = Console(file=written, force_terminal=True, width=200, color_system="truecolor")
    console.print(renderable)
    return written.getvalue()


@pytest.mark.parametrize("message", hostile_messages(), ids=lambda m: type(m).__name__)
def test_hostile_content_shown_by_rich_is_inert(message: Message) -> None:
    output = rich_output(message)
    styling = re.compile(r"\x1b\[[0-9;]*m")  # rich's own colours, nothing else
    shown = styling.sub("", output)
    assert not CONTROLS.search(shown.replace("\n", ""))
    assert type(message).__name__ in shown
    assert "<script>alert(1)</script>" in shown or message.raw is None
    assert "\\u001b[2J" in shown or "\\x1b[2J" in shown  # the escape, made visible


def test_a_snapshot_shown_by_rich_has_its_figures() -> None:
    metrics = StreamMetrics(sample_every=1)
    data = _samples.sample_path("tool_use_partial").read_bytes()
    reactivex.of(data).pipe(parse_json_frames(), measure(metrics)).run()
    snapshot = metrics.snapshot()
    lines = [" ".join(line.split()) for line in rich_output(snapshot).splitlines()]
    assert f"messages_received {snapshot.messages_received}" in lines
    assert f"stream_event {snapshot.by_type['stream_event']}" in lines
    assert "parse_errors 0" in lines
