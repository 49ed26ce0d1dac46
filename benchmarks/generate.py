"""Deterministic generator of a realistic Claude Code stream-json corpus.

The frames mimic CLI 2.1.332 run with ``--output-format stream-json --verbose
--include-partial-messages``: key order, field sets and frame ordering follow the real
recordings in ``shared/corpus/real/local-mockapi-cli2.1.332__*``.  Each session is
``system/init`` (sometimes followed by a ``rate_limit_event``), then API steps
(``system/status``, ``stream_event`` deltas, one ``assistant`` frame per content block, a
``user`` tool result), then a ``result``.  Output is compact JSON with raw UTF-8, one frame
per ``\\n``-terminated line, and is byte-identical for a given ``(target_bytes, seed)``.
"""

from __future__ import annotations

import argparse
import bisect
import itertools
import json
import random
import string
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

import msgspec

__all__ = ["GENERATOR_VERSION", "generate"]

#: Bump when the output for a given (size, seed) changes, so cached corpora are rebuilt.
GENERATOR_VERSION = 2

_CLI_VERSION = "2.1.332"
_MODELS = ("claude-sonnet-4-5", "claude-opus-4-5", "claude-haiku-4-5")
_START_MS = 1_795_680_000_000  # 2026-11-26T08:00:00Z: a fixed clock keeps output stable
_ALNUM = string.ascii_letters + string.digits
_CWD = "/home/user/project"
_SIGNATURE_CHARS = string.ascii_letters + string.digits + "+/"

_TOOLS = [
    "Task", "Bash", "CronCreate", "CronDelete", "CronList", "Edit", "EnterWorktree",
    "ExitWorktree", "Glob", "Grep", "ListAgents", "Monitor", "NotebookEdit", "Read",
    "ScheduleWakeup", "SendMessage", "Skill", "TaskCreate", "TaskGet", "TaskList", "TaskStop",
    "TaskUpdate", "ToolSearch", "WebFetch", "WebSearch", "Write",
]  # fmt: skip
_SKILLS = [
    "deep-research", "dataviz", "update-config", "verify", "debug", "code-review", "simplify",
    "batch", "fewer-permission-prompts", "doctor", "loop", "claude-api", "run",
]  # fmt: skip
_SLASH_COMMANDS = [
    *_SKILLS, "agents", "clear", "color", "compact", "config", "context", "effort", "fast",
    "init", "mcp", "model", "rename", "security-review", "usage", "insights", "recap", "goal",
]  # fmt: skip
_CAPABILITIES = [
    "interrupt_receipt_v1", "interrupt_cancel_queued_v1", "interrupt_send_now_v1",
    "msg_lifecycle_v1", "request_marker_lists_v1", "lifecycle_wakeup_source_v1",
    "sdk_mcp_tools_list_changed", "sdk_mcp_manifests", "mcp_read_resource_v1",
    "mcp_tool_ui_meta_v1", "ui_surface_v1", "withdrawn_files_note_v2", "withdrawn_tools_v1",
    "get_usage_detached_v1", "silent_resend_files_v1",
]  # fmt: skip
_ASCII_TEXT = (
    "the a of to in is for on that with file function return value test error config "
    "module import class data stream parse frame line buffer json message result tool user "
    "assistant should will can this we it check run build update fix add remove path output "
    "input type index count size limit default option handler event queue thread async time"
)
_NON_ASCII_TEXT = (
    "café naïve Größe façade résumé señor Ångström über déjà-vu coöperate "
    "日本語 データ 処理 ファイル 测试 数据流 解析 错误 한국어 파일 "
    "ошибка данные поток строка αβγ λόγος Ελληνικά π≈3.14 → ✓ ✗ … «quoted» "
    "🚀 ✨ 🐍 👍🏽 €42 ½ ∑ ∞"
)
_SCRIPTS = (  # code-point ranges for generated non-ASCII words
    (0x00E0, 0x00FF),  # Latin-1 letters
    (0x0430, 0x044F),  # Cyrillic
    (0x03B1, 0x03C9),  # Greek
    (0x3041, 0x3096),  # Hiragana
    (0x4E00, 0x9FFF),  # CJK
    (0xAC00, 0xD7A3),  # Hangul
)
_PATHS = (
    "src/app/main.py", "src/app/parser.py", "src/app/io/reader.py", "tests/test_parser.py",
    "docs/guide.md", "README.md", "pyproject.toml", "src/app/i18n/messages_ja.po",
    "src/app/server/handlers.ts", "web/src/components/Table.tsx", "CHANGELOG.md",
)  # fmt: skip
_BASH_COMMANDS = (
    ("pytest -q tests", "Run the test suite"),
    ("git log --oneline -n 200", "Show recent commits"),
    ("grep -rn 'TODO' src", "Find TODO markers"),
    ("cat build.log", "Show the build log"),
    ("python -m app.report --all", "Generate the report"),
)
_TOOL_RESULT_META_ACCEPT = {"decision": "accept", "source": "config", "reason_type": "rule"}


class _Writer:
    """Serialises frames as compact UTF-8 JSON lines and keeps running totals."""

    def __init__(self, out: BinaryIO) -> None:
        self._out = out
        self.bytes = 0
        self.messages = 0

    def emit(self, frame: dict[str, Any]) -> None:
        line = msgspec.json.encode(frame) + b"\n"
        self._out.write(line)
        self.bytes += len(line)
        self.messages += 1


class _Clock:
    """The corpus clock in milliseconds since the epoch, shared by its sessions."""

    def __init__(self, start_ms: int) -> None:
        self.ms = start_ms


class _TextPool:
    """Pre-generated words and source-like lines so big tool results are cheap to build."""

    def __init__(self, rng: random.Random) -> None:
        self.ascii_words = _ASCII_TEXT.split()
        generated = [
            "".join(chr(rng.randint(lo, hi)) for _ in range(rng.randint(2, 7)))
            for lo, hi in (rng.choice(_SCRIPTS) for _ in range(200))
        ]
        self.words = self.ascii_words * 16 + _NON_ASCII_TEXT.split() + generated
        self.lines = [self._line(rng) for _ in range(8000)]
        self.numbered = [f"{i + 1:>6}→{line}" for i, line in enumerate(self.lines)]
        self._cum = {
            numbered: list(itertools.accumulate((len(s.encode()) + 1 for s in lines), initial=0))
            for numbered, lines in ((False, self.lines), (True, self.numbered))
        }

    def _line(self, rng: random.Random) -> str:
        indent = " " * (4 * rng.randint(0, 3))
        return indent + " ".join(rng.choices(self.words, k=rng.randint(0, 18)))

    def sentence(self, rng: random.Random, n_words: int) -> str:
        """A prose-like sentence, mostly ASCII with some non-ASCII words."""
        words = rng.choices(self.ascii_words, k=n_words)
        for _ in range(n_words // 8):
            words[rng.randrange(n_words)] = rng.choice(self.words)
        return " ".join(words).capitalize() + "."

    def prose(self, rng: random.Random, n_chars: int) -> str:
        parts: list[str] = []
        total = 0
        while total < n_chars:
            sentence = self.sentence(rng, rng.randint(5, 16))
            parts.append(sentence)
            total += len(sentence) + 1
        return " ".join(parts)

    def span(self, rng: random.Random, n_bytes: int, numbered: bool) -> tuple[int, int]:
        """Line range ``[start, end)`` whose ``\\n``-joined text has at least ``n_bytes``."""
        cum = self._cum[numbered]
        need = n_bytes + 1  # cum counts one newline per line; the join has one fewer
        start = rng.randint(0, bisect.bisect_right(cum, cum[-1] - need) - 1)
        end = bisect.bisect_left(cum, cum[start] + need)
        return start, end


class _Session:
    """Emits one CLI session: init, API steps with tool calls, result."""

    def __init__(self, rng: random.Random, pool: _TextPool, writer: _Writer, clock: _Clock) -> None:
        self.rng = rng
        self.pool = pool
        self.w = writer
        self.clock = clock
        self.session_id = self.new_uuid()
        self.model = rng.choice(_MODELS)
        self.started_ms = clock.ms
        self.api_ms = 0
        self.in_tokens = 0
        self.out_tokens = 0
        self.cache_read = 0
        self.cache_write = 0
        self.context = rng.randint(8_000, 20_000)
        self.message_ids: list[str] = []
        self.denials: list[dict[str, Any]] = []
        self.last_text = ""

    # -- small helpers -------------------------------------------------------------------
    def new_uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def ident(self, prefix: str, n: int = 22) -> str:
        return prefix + "".join(self.rng.choices(_ALNUM, k=n))

    def tick(self, lo: int, hi: int) -> str:
        self.clock.ms += self.rng.randint(lo, hi)
        ms = self.clock.ms
        return datetime.fromtimestamp(ms // 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S") + (
            f".{ms % 1000:03d}Z"
        )

    def chunks(self, text: str, lo: int, hi: int) -> list[str]:
        out: list[str] = []
        i = 0
        while i < len(text):
            n = self.rng.randint(lo, hi)
            out.append(text[i : i + n])
            i += n
        return out

    def emit_system(self, subtype: str, **fields: Any) -> None:
        self.w.emit(
            {"type": "system", "subtype": subtype, **fields}
            | {"session_id": self.session_id, "uuid": self.new_uuid()}
        )

    # -- frames --------------------------------------------------------------------------
    def init(self) -> None:
        sock = self.rng.randint(1000, 65000)
        self.w.emit(
            {
                "type": "system",
                "subtype": "init",
                "cwd": _CWD,
                "session_id": self.session_id,
                "tools": _TOOLS,
                "mcp_servers": [],
                "model": self.model,
                "permissionMode": "default",
                "slash_commands": _SLASH_COMMANDS,
                "terminal_slash_commands": ["doctor", "color", "reload-plugins"],
                "apiKeySource": "ANTHROPIC_API_KEY",
                "claude_code_version": _CLI_VERSION,
                "output_style": "default",
                "agents": ["claude", "Explore", "general-purpose", "Plan", "statusline-setup"],
                "skills": _SKILLS,
                "plugins": [
                    {"name": n, "path": "builtin", "source": f"{n}@builtin"}
                    for n in ("cc-plugin-agents-md", "cc-plugin-privacy")
                ],
                "capabilities": _CAPABILITIES,
                "analytics_disabled": True,
                "product_feedback_disabled": True,
                "served_by_anthropic": True,
                "uuid": self.new_uuid(),
                "sandbox_enabled": False,
                "memory_paths": {"auto": "/home/user/.claude/projects/-home-user-project/memory/"},
                "original_cwd": _CWD,
                "additional_directories": [],
                "messaging_socket_path": f"/tmp/cc-socks/{sock}.sock",
                "fast_mode_state": "off",
                "fast_mode_disabled_reason": "sdk_opt_in_required",
                "per_turn_effort_active": False,
                "ultrathink_available": False,
                "ultrathink_typed_raises": False,
                "view_mode": "default",
            }
        )

    def rate_limit(self, status: str) -> None:
        self.w.emit(
            {
                "type": "rate_limit_event",
                "rate_limit_info": {
                    "status": status,
                    "resetsAt": self.clock.ms // 1000 + self.rng.randint(600, 18_000),
                    "rateLimitType": "five_hour",
                    "utilization": round(self.rng.uniform(0.05, 0.95), 2),
                    "isUsingOverage": False,
                },
                "uuid": self.new_uuid(),
                "session_id": self.session_id,
            }
        )

    def stream(self, msg_id: str, event: dict[str, Any], **extra: Any) -> None:
        self.w.emit(
            {
                "type": "stream_event",
                "event": event,
                "session_id": self.session_id,
                "parent_tool_use_id": None,
                "uuid": self.new_uuid(),
                **extra,
                "api_message_id": msg_id,
            }
        )

    def assistant(
        self, msg_id: str, req_id: str, block: dict[str, Any], usage: dict[str, Any], **extra: Any
    ) -> None:
        self.w.emit(
            {
                "type": "assistant",
                "message": {
                    "id": msg_id,
                    "type": "message",
                    "role": "assistant",
                    "model": self.model,
                    "content": [block],
                    "stop_reason": None,
                    "stop_sequence": None,
                    "usage": usage,
                    "context_management": None,
                },
                "parent_tool_use_id": None,
                "session_id": self.session_id,
                "uuid": self.new_uuid(),
                "timestamp": self.tick(1, 40),
                "request_id": req_id,
                **extra,
            }
        )

    def streamed_block(
        self,
        msg_id: str,
        req_id: str,
        index: int,
        usage: dict[str, Any],
        block: dict[str, Any],
    ) -> int:
        """Stream one content block (start, deltas, assistant frame, stop); return tokens."""
        kind = block["type"]
        thinking_extra: dict[str, Any] = (
            {"thinking_display": "updates"} if kind == "thinking" else {}
        )
        if kind == "thinking":
            start: dict[str, Any] = {"type": "thinking", "thinking": "", "signature": ""}
            pieces = self.chunks(block["thinking"], 30, 120)
        elif kind == "text":
            start = {"type": "text", "text": ""}
            pieces = self.chunks(block["text"], 10, 60)
        else:
            start = {"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}
            pieces = ["", *self.chunks(json.dumps(block["input"], ensure_ascii=False), 10, 60)]
        self.stream(
            msg_id,
            {"type": "content_block_start", "index": index, "content_block": start},
            **thinking_extra,
        )
        estimated = 0
        for piece in pieces:
            if kind == "thinking":
                delta = {"type": "thinking_delta", "thinking": piece}
            elif kind == "text":
                delta = {"type": "text_delta", "text": piece}
            else:
                delta = {"type": "input_json_delta", "partial_json": piece}
            self.stream(
                msg_id,
                {"type": "content_block_delta", "index": index, "delta": delta},
                **thinking_extra,
            )
            step = max(1, len(piece) // 4)
            estimated += step
            if kind == "thinking" and self.rng.random() < 0.2:
                self.emit_system(
                    "thinking_tokens", estimated_tokens=estimated, estimated_tokens_delta=step
                )
        if kind == "thinking":
            sig_delta = {"type": "signature_delta", "signature": block["signature"]}
            self.stream(msg_id, {"type": "content_block_delta", "index": index, "delta": sig_delta})
            thinking_extra = {"thinking_duration_ms": self.rng.randint(200, 9000)} | thinking_extra
        self.assistant(msg_id, req_id, block, usage, **thinking_extra)
        self.stream(msg_id, {"type": "content_block_stop", "index": index})
        return estimated

    def tool_call(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """A tool_use block and the matching user frame (tool result) to send afterwards."""
        rng = self.rng
        tool_id = self.ident("toolu_01")
        path = f"{_CWD}/{rng.choice(_PATHS)}"
        roll = rng.random()
        is_error = False
        meta: dict[str, Any] = {"id": tool_id, "permission_decision": _TOOL_RESULT_META_ACCEPT}
        if roll < 0.40:  # Read of a file or Bash output: half 20-200 KB, half 0.3-8 KB of text
            size = rng.randint(20_000, 199_000) if roll < 0.20 else rng.randint(300, 8_000)
            is_read = rng.random() < 0.5
            start, end = self.pool.span(rng, size, numbered=is_read)
            plain = "\n".join(self.pool.lines[start:end])
            if is_read:
                name, tool_input = "Read", {"file_path": path}
                content = "\n".join(self.pool.numbered[start:end])
                structured: Any = {
                    "type": "text",
                    "file": {
                        "filePath": path,
                        "content": plain,
                        "numLines": end - start,
                        "startLine": start + 1,
                        "totalLines": len(self.pool.lines),
                    },
                }
            else:
                command, description = rng.choice(_BASH_COMMANDS)
                name, tool_input = "Bash", {"command": command, "description": description}
                content = plain
                structured = {
                    "stdout": plain,
                    "stderr": "",
                    "interrupted": False,
                    "isImage": False,
                    "noOutputExpected": False,
                }
        elif roll < 0.65:
            old = self.pool.sentence(rng, rng.randint(4, 12))
            new = self.pool.sentence(rng, rng.randint(4, 20))
            name = "Edit"
            tool_input = {"file_path": path, "old_string": old, "new_string": new}
            content = f"The file {path} has been updated successfully."
            structured = {
                "filePath": path,
                "oldString": old,
                "newString": new,
                "originalFile": None,
                "structuredPatch": [
                    {
                        "oldStart": rng.randint(1, 900),
                        "oldLines": 1,
                        "newStart": rng.randint(1, 900),
                        "newLines": 1,
                        "lines": [f"-{old}", f"+{new}"],
                    }
                ],
                "userModified": False,
                "replaceAll": False,
            }
        elif roll < 0.97:
            name, body = "Write", self.pool.prose(rng, rng.randint(100, 800))
            tool_input = {"file_path": path, "content": body}
            content = f"File created successfully at: {path}"
            structured = {
                "type": "create",
                "filePath": path,
                "content": body,
                "structuredPatch": [],
                "originalFile": None,
                "userModified": False,
            }
        else:  # denied by the permission settings, as in permission_denied.jsonl
            name, tool_input = "Write", {"file_path": path, "content": "hello\n"}
            content = (
                f"Claude requested permissions to write to {path}, but you haven't granted it yet."
            )
            structured = f"Error: {content}"
            is_error = True
            meta = {
                "id": tool_id,
                "non_execution_kind": "user-rejected",
                "permission_decision": {"decision": "reject", "source": "config"},
            }
            self.denials.append(
                {"tool_name": name, "tool_use_id": tool_id, "tool_input": tool_input}
            )
        block = {"type": "tool_use", "id": tool_id, "name": name, "input": tool_input}
        result = {
            "tool_use_id": tool_id,
            "type": "tool_result",
            "content": content,
            "is_error": is_error,
        }
        user = {
            "type": "user",
            "message": {"role": "user", "content": [result]},
            "parent_tool_use_id": None,
            "session_id": self.session_id,
            "uuid": "",
            "timestamp": "",
            "tool_use_result": structured,
            "tool_result_meta": [meta],
        }
        return block, user

    def step(self, final: bool) -> None:
        """One API request: status, streamed message, then the tool result if any."""
        rng = self.rng
        self.emit_system("status", status="requesting")
        msg_id = self.ident("msg_01")
        req_id = self.ident("req_011C", 20)
        self.message_ids.append(msg_id)
        in_tokens = rng.randint(1, 60)
        cache_write = rng.randint(200, 6000)
        usage = {
            "input_tokens": in_tokens,
            "cache_creation_input_tokens": cache_write,
            "cache_read_input_tokens": self.context,
            "cache_creation": {
                "ephemeral_5m_input_tokens": cache_write,
                "ephemeral_1h_input_tokens": 0,
            },
            "output_tokens": 1,
            "service_tier": "standard",
        }
        ttft = rng.randint(300, 2500)
        self.stream(
            msg_id,
            {
                "type": "message_start",
                "message": {
                    "id": msg_id,
                    "type": "message",
                    "role": "assistant",
                    "model": self.model,
                    "content": [],
                    "stop_reason": None,
                    "stop_sequence": None,
                    "usage": usage,
                },
            },
            ttft_ms=ttft,
            thinking_display="updates",
        )
        blocks: list[dict[str, Any]] = []
        if rng.random() < 0.4:
            sig = "".join(rng.choices(_SIGNATURE_CHARS, k=rng.randint(200, 600)))
            thinking = self.pool.prose(rng, rng.randint(150, 1500))
            blocks.append({"type": "thinking", "thinking": thinking, "signature": sig})
        if final or rng.random() < 0.8:
            self.last_text = self.pool.prose(rng, rng.randint(30, 500))
            blocks.append({"type": "text", "text": self.last_text})
        user: dict[str, Any] | None = None
        if not final:
            tool_block, user = self.tool_call()
            blocks.append(tool_block)
        out_tokens = sum(
            self.streamed_block(msg_id, req_id, i, usage, block) for i, block in enumerate(blocks)
        )
        self.stream(
            msg_id,
            {
                "type": "message_delta",
                "delta": {
                    "stop_reason": "end_turn" if final else "tool_use",
                    "stop_sequence": None,
                },
                "usage": {"output_tokens": out_tokens},
            },
        )
        self.stream(msg_id, {"type": "message_stop"})
        self.api_ms += ttft + rng.randint(500, 20_000)
        self.in_tokens += in_tokens
        self.out_tokens += out_tokens
        self.cache_read += self.context
        self.cache_write += cache_write
        self.context += cache_write
        if user is not None:
            result = user["message"]["content"][0]
            if result["is_error"]:  # the CLI reports the denial before the tool result
                self.w.emit(
                    {
                        "type": "system",
                        "subtype": "permission_denied",
                        "tool_name": blocks[-1]["name"],
                        "tool_use_id": result["tool_use_id"],
                        "message": result["content"],
                        "uuid": self.new_uuid(),
                        "session_id": self.session_id,
                    }
                )
            user["uuid"] = self.new_uuid()
            user["timestamp"] = self.tick(20, 3000)
            self.w.emit(user)
        if rng.random() < 0.02:
            self.rate_limit("allowed_warning")

    def model_usage(self, cost: float) -> dict[str, Any]:
        return {
            self.model: {
                "inputTokens": self.in_tokens,
                "outputTokens": self.out_tokens,
                "cacheReadInputTokens": self.cache_read,
                "cacheCreationInputTokens": self.cache_write,
                "webSearchRequests": 0,
                "costUSD": cost,
                "contextWindow": 200000,
                "maxOutputTokens": 32000,
                "thinkingTokens": 0,
                "cacheCreationEphemeral5mInputTokens": self.cache_write,
                "cacheCreationEphemeral1hInputTokens": 0,
                "canonicalModel": self.model,
                "provider": "firstParty",
                "costBasis": "list",
            }
        }

    def result(self) -> None:
        rng = self.rng
        cost = (
            self.in_tokens * 3
            + self.out_tokens * 15
            + self.cache_read * 0.3
            + self.cache_write * 3.75
        ) / 1e6
        ttft = rng.randint(300, 2500)
        self.tick(5, 50)
        self.w.emit(
            {
                "duration_api_ms": self.api_ms,
                "stop_reason": "end_turn",
                "session_id": self.session_id,
                "total_cost_usd": cost,
                "usage": {
                    "input_tokens": self.in_tokens,
                    "cache_creation_input_tokens": self.cache_write,
                    "cache_read_input_tokens": self.cache_read,
                    "output_tokens": self.out_tokens,
                    "output_tokens_details": {"thinking_tokens": 0},
                    "server_tool_use": {"web_search_requests": 0, "web_fetch_requests": 0},
                    "service_tier": "standard",
                    "cache_creation": {
                        "ephemeral_1h_input_tokens": 0,
                        "ephemeral_5m_input_tokens": self.cache_write,
                    },
                    "inference_geo": "",
                    "iterations": [],
                    "speed": "standard",
                    "fallback_credit": None,
                },
                "modelUsage": self.model_usage(cost),
                "permission_denials": self.denials,
                "terminal_reason": "completed",
                "fast_mode_state": "off",
                "fast_mode_disabled_reason": "sdk_opt_in_required",
                "subagent_stats": {
                    "spawned": 0,
                    "requested": {"background": 0, "foreground": 0, "unset": 0},
                    "started_in_background": 0,
                    "max_depth": 0,
                    "spawned_by_subagents": 0,
                    "completed": 0,
                    "failed": 0,
                    "killed": {"parent": 0, "user": 0, "system": 0},
                    "refused": {"depth_limit": 0, "concurrency_limit": 0, "budget": 0},
                    "by_type": {},
                },
                "safety_stops": 0,
                "is_error": False,
                "num_turns": len(self.message_ids),
                "subtype": "success",
                "api_error_status": None,
                "result": self.last_text,
                "ttft_ms": ttft,
                "type": "result",
                "duration_ms": self.clock.ms - self.started_ms,
                "uuid": self.new_uuid(),
                "begun_message_ids": self.message_ids,
                "ttft_stream_ms": ttft - rng.randint(1, 20),
                "time_to_request_ms": rng.randint(50, 400),
                "first_content_frame_ms": ttft - rng.randint(1, 20),
                "queued_turn_count": 0,
                "result_index": 0,
                "model_usage_since_last_result": self.model_usage(cost),
            }
        )


def generate(path: str | Path, target_bytes: int, seed: int = 0) -> tuple[int, int]:
    """Write a corpus of at least ``target_bytes`` to ``path``; return ``(bytes, messages)``.

    Generation stops at the first API-step boundary past the target and closes the session
    with its ``result``, so the file overshoots by at most one step (< 0.5 MB).
    """
    rng = random.Random(seed)
    pool = _TextPool(rng)
    clock = _Clock(_START_MS)
    with open(path, "wb", buffering=1 << 20) as out:
        writer = _Writer(out)
        while writer.bytes < target_bytes:
            session = _Session(rng, pool, writer, clock)
            session.init()
            if rng.random() < 0.5:
                session.rate_limit("allowed")
            steps = rng.randint(3, 30)
            for i in range(steps):
                final = i == steps - 1 or writer.bytes >= target_bytes
                session.step(final)
                if final:
                    break
            session.result()
            clock.ms += rng.randint(1_000, 600_000)
    return writer.bytes, writer.messages


def main(argv: list[str] | None = None) -> int:
    """CLI: ``python -m benchmarks.generate OUT --mb 100 --seed 0``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("out", type=Path, help="output .jsonl path")
    parser.add_argument("--mb", type=float, default=100.0, help="target size in MB (10^6 bytes)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    args = parser.parse_args(argv)
    n_bytes, n_messages = generate(args.out, int(args.mb * 1e6), args.seed)
    print(f"wrote {args.out}: {n_bytes:,} bytes, {n_messages:,} messages (seed {args.seed})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
