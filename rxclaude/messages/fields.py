"""Typed, never-raising reads of optional JSON fields.

Every field of a Claude Code frame except ``type`` is optional, and old or future CLIs
may put a value of another type where we expect one. These helpers return ``None``
instead of raising, so a typed accessor never fails on a frame that parsed.
"""

from __future__ import annotations

from typing import Any

JSONObject = dict[str, Any]


def get_str(raw: JSONObject, key: str) -> str | None:
    """``raw[key]`` if it is a string, else ``None``."""
    value = raw.get(key)
    return value if isinstance(value, str) else None


def get_int(raw: JSONObject, key: str) -> int | None:
    """``raw[key]`` if it is an integer (not a bool), else ``None``."""
    value = raw.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def get_float(raw: JSONObject, key: str) -> float | None:
    """``raw[key]`` as a float if it is a number (not a bool), else ``None``."""
    value = raw.get(key)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def get_bool(raw: JSONObject, key: str) -> bool | None:
    """``raw[key]`` if it is a bool, else ``None``."""
    value = raw.get(key)
    return value if isinstance(value, bool) else None


def get_dict(raw: JSONObject, key: str) -> JSONObject | None:
    """``raw[key]`` if it is a JSON object, else ``None``."""
    value = raw.get(key)
    return value if isinstance(value, dict) else None


def get_list(raw: JSONObject, key: str) -> list[Any] | None:
    """``raw[key]`` if it is a JSON array, else ``None``."""
    value = raw.get(key)
    return value if isinstance(value, list) else None


def get_str_list(raw: JSONObject, key: str) -> list[str] | None:
    """The strings of ``raw[key]`` if it is an array, else ``None``."""
    value = raw.get(key)
    if not isinstance(value, list):
        return None
    return [item for item in value if isinstance(item, str)]
