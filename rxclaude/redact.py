"""Secrets out of messages: what the library writes about a command never shows a credential.

:func:`redact` replaces the values that look like credentials with ``[redacted]``:
Anthropic keys (``sk-ant-…``), ``NAME=value`` where the name says key, token, secret or
password, the same names as JSON or YAML-style keys (``"apiKey": "…"``), and HTTP
``Authorization``/``x-api-key`` headers with their bearer or basic value. The exceptions
keep the exact arguments in their attributes; only their text is redacted.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

REDACTED = "[redacted]"

_SECRET_NAME = (
    r"[A-Za-z0-9_.-]*(?:key|token|secret|passw(?:or)?d|credentials?|auth)(?![A-Za-z0-9_.-])"
)
"""A name that ends in key, token, secret, password, credential(s) or auth."""

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # Anthropic API keys and OAuth tokens wherever they stand.
    (re.compile(r"sk-ant-[A-Za-z0-9_\-]+"), "sk-ant-" + REDACTED),
    # HTTP headers: "Authorization: Bearer abc", "x-api-key: abc".
    (
        re.compile(
            r"(?i)\b(authorization|proxy-authorization|x-api-key)(\s*[:=]\s*)"
            r"((?:bearer|basic)\s+)?[^\s,;\"']+"
        ),
        r"\1\2\3" + REDACTED,
    ),
    # JSON or YAML keys: "apiKey": "abc", 'token': 'abc', password: abc.
    (
        re.compile(rf"(?i)([\"']?{_SECRET_NAME}[\"']?\s*:\s*)([\"'])(?:\\.|(?!\2).)*\2"),
        r"\1\2" + REDACTED + r"\2",
    ),
    # NAME=value, --api-key=value: the value up to white space or a quote.
    (re.compile(rf"(?i)\b({_SECRET_NAME})=([^\s\"',;&]+)"), r"\1=" + REDACTED),
)

_SECRET_FLAG = re.compile(rf"(?i)^--?{_SECRET_NAME}$")


def redact(text: str) -> str:
    """``text`` with every value that looks like a credential replaced by ``[redacted]``."""
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def redact_arguments(arguments: Iterable[str]) -> list[str]:
    """An argument list safe to show: each argument redacted, and the value after a flag
    whose name says key, token, secret or password (``--api-key VALUE``) replaced."""
    shown: list[str] = []
    secret_follows = False
    for argument in arguments:
        shown.append(REDACTED if secret_follows else redact(argument))
        secret_follows = bool(_SECRET_FLAG.match(argument))
    return shown


__all__ = ["REDACTED", "redact", "redact_arguments"]
