"""A stand-in for the Claude Code CLI that answers what it reads on stdin.

Each line of stdin is a turn: its text (the ``message.content`` of a stream-json user
turn, else the line itself) comes back at once as an ``assistant`` frame saying
``echo: TEXT``, flushed, so a test can wait for one answer before it writes the next turn.
At the end of stdin it writes a ``result`` frame counting the turns and exits with 0.
Its arguments are written as JSON to ``$ECHO_CLAUDE_REPORT`` when that is set.
"""

import json
import os
import sys
from pathlib import Path

if "ECHO_CLAUDE_REPORT" in os.environ:
    Path(os.environ["ECHO_CLAUDE_REPORT"]).write_text(json.dumps({"argv": sys.argv[1:]}))


def write(frame: dict[str, object]) -> None:
    sys.stdout.write(json.dumps(frame) + "\n")
    sys.stdout.flush()


def text_of(line: str) -> str:
    try:
        turn = json.loads(line)
    except ValueError:
        return line.strip()
    content = turn.get("message", {}).get("content") if isinstance(turn, dict) else None
    return content if isinstance(content, str) else line.strip()


write({"type": "system", "subtype": "init", "session_id": "echo", "model": "echo"})
turns = 0
for line in sys.stdin:
    turns += 1
    answer = {"role": "assistant", "content": [{"type": "text", "text": f"echo: {text_of(line)}"}]}
    write({"type": "assistant", "message": answer, "session_id": "echo"})
result = {"type": "result", "subtype": "success", "is_error": False, "num_turns": turns}
write({**result, "result": "done", "session_id": "echo", "total_cost_usd": 0.0})
