"""The built-in handlers together: one of each, and the router that registers them."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, fields

from rxclaude.handlers.base import BuiltinHandler
from rxclaude.handlers.complete import CompleteHandler
from rxclaude.handlers.errors import ErrorHandler
from rxclaude.handlers.metadata import MetadataHandler
from rxclaude.handlers.progress import ProgressHandler
from rxclaude.handlers.status import StatusHandler
from rxclaude.handlers.system import SystemHandler
from rxclaude.handlers.text import TextHandler
from rxclaude.handlers.tools import ToolUseHandler
from rxclaude.routing.router import Router, set_default_router_factory


@dataclass(frozen=True)
class BuiltinHandlers:
    """The handlers :meth:`~rxclaude.routing.Router.default` registers, one of each."""

    text: TextHandler = field(default_factory=TextHandler)
    tool_use: ToolUseHandler = field(default_factory=ToolUseHandler)
    error: ErrorHandler = field(default_factory=ErrorHandler)
    system: SystemHandler = field(default_factory=SystemHandler)
    metadata: MetadataHandler = field(default_factory=MetadataHandler)
    status: StatusHandler = field(default_factory=StatusHandler)
    progress: ProgressHandler = field(default_factory=ProgressHandler)
    complete: CompleteHandler = field(default_factory=CompleteHandler)

    def __iter__(self) -> Iterator[BuiltinHandler]:
        return (getattr(self, handler_field.name) for handler_field in fields(self))


class DefaultRouter(Router):
    """A :class:`~rxclaude.routing.Router` with the built-in handlers registered.

    ``handlers`` gives access to them and their results. :meth:`Router.default()
    <rxclaude.routing.Router.default>` builds one (this module provides it as the factory
    when imported).
    """

    def __init__(self, handlers: BuiltinHandlers | None = None) -> None:
        super().__init__()
        self.handlers = handlers if handlers is not None else BuiltinHandlers()
        for handler in self.handlers:
            for kind in handler.kinds:
                self.register(kind, handler)


set_default_router_factory(DefaultRouter)


__all__ = ["BuiltinHandlers", "DefaultRouter"]
