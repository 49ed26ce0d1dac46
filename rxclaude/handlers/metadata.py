"""Session set-up, cost and token usage."""

from __future__ import annotations

from collections import Counter
from typing import Any

from rxclaude.handlers.base import BuiltinHandler, bound, drop_first_entries
from rxclaude.messages import InitMessage, Kind, Message, ResultMessage


class MetadataHandler(BuiltinHandler):
    """Session set-up from ``system/init``; cost and tokens from ``result`` frames.

    ``total_cost_usd`` and ``modelUsage`` in a ``result`` are running totals of the session
    (the CLI process), so the latest one per session counts; ``usage`` is per turn, so the
    turns' usages are added up.

    Args:
        keep_sessions: sessions kept in ``cost_by_session`` (``None`` keeps all); beyond
            it the session that reported least recently is dropped from it, and its
            figures stay in the totals ``cost_usd`` and ``model_usage``. A dropped session
            that reports again counts as a new one (its reports being running totals, its
            earlier cost is then counted twice).
    """

    kinds = (Kind.METADATA,)

    def __init__(self, *, priority: int = 0, keep_sessions: int | None = 100) -> None:
        super().__init__(priority=priority)
        self._keep_sessions = bound("keep_sessions", keep_sessions)
        self._init: InitMessage | None = None
        self._session_id: str | None = None
        self._cost_by_session: dict[str, float] = {}
        self._model_usage_by_session: dict[str, dict[str, dict[str, Any]]] = {}
        self._dropped_cost = 0.0
        self._dropped_model_usage: dict[str, Counter[str]] = {}
        self._usage: Counter[str] = Counter()

    def handle(self, message: Message) -> None:
        if isinstance(message, InitMessage):
            with self._lock:
                self._init = message
                self._session_id = message.session_id or self._session_id
        elif isinstance(message, ResultMessage):
            session = message.session_id or self._session_id or ""
            cost = message.total_cost_usd
            tokens = {
                name: value
                for name, value in message.usage.items()
                if isinstance(value, int) and not isinstance(value, bool)
            }
            keep = self._keep_sessions
            with self._lock:
                self._session_id = session
                if cost is not None:
                    # latest report last, so that the least recent is dropped first
                    self._cost_by_session.pop(session, None)
                    self._cost_by_session[session] = cost
                    self._dropped_cost += sum(drop_first_entries(self._cost_by_session, keep))
                if message.model_usage:
                    self._model_usage_by_session.pop(session, None)
                    self._model_usage_by_session[session] = message.model_usage
                    for dropped in drop_first_entries(self._model_usage_by_session, keep):
                        _add_model_usage(self._dropped_model_usage, dropped)
                self._usage.update(tokens)

    @property
    def session_id(self) -> str | None:
        """The latest session's id."""
        return self._session_id

    @property
    def model(self) -> str | None:
        """The model from the latest ``init``."""
        init = self._init
        return init.model if init is not None else None

    @property
    def tools(self) -> list[str]:
        """The tools from the latest ``init``."""
        init = self._init
        return init.tools if init is not None else []

    @property
    def cwd(self) -> str | None:
        """The working directory from the latest ``init``."""
        init = self._init
        return init.cwd if init is not None else None

    @property
    def claude_code_version(self) -> str | None:
        """The CLI version from the latest ``init`` (absent in old recordings)."""
        init = self._init
        return init.claude_code_version if init is not None else None

    @property
    def permission_mode(self) -> str | None:
        """The permission mode from the latest ``init``."""
        init = self._init
        return init.permission_mode if init is not None else None

    @property
    def cost_usd(self) -> float:
        """Estimated cost of every session seen, dropped ones included."""
        with self._lock:
            return self._dropped_cost + sum(self._cost_by_session.values())

    @property
    def cost_by_session(self) -> dict[str, float]:
        """Estimated cost per kept session, the latest to report last."""
        with self._lock:
            return dict(self._cost_by_session)

    @property
    def usage(self) -> dict[str, int]:
        """Main-loop token counts (``input_tokens``, ``output_tokens``, …) of all turns."""
        with self._lock:
            return dict(self._usage)

    @property
    def model_usage(self) -> dict[str, dict[str, float]]:
        """Per-model totals (``inputTokens``, ``costUSD``, …) over all sessions."""
        with self._lock:
            totals = {model: Counter(counts) for model, counts in self._dropped_model_usage.items()}
            sessions = list(self._model_usage_by_session.values())
        for per_model in sessions:
            _add_model_usage(totals, per_model)
        return {model: dict(counts) for model, counts in totals.items()}


def _add_model_usage(totals: dict[str, Counter[str]], per_model: dict[str, dict[str, Any]]) -> None:
    """Add a session's ``modelUsage`` numbers to per-model ``totals``."""
    for model, usage in per_model.items():
        numbers = {
            name: value
            for name, value in usage.items()
            if isinstance(value, int | float) and not isinstance(value, bool)
        }
        totals.setdefault(model, Counter()).update(numbers)


__all__ = ["MetadataHandler"]
