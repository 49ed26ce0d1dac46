"""route_by_type and Router reject bad arguments when they are given, not at a message."""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Callable
from typing import Any

import pytest
import reactivex
from corpus_files import EPOCH
from reactivex.testing import TestScheduler

from rxclaude.handlers import ChainHandler, DefaultRouter, TextHandler
from rxclaude.messages import Message, message_from_json
from rxclaude.routing import Handler, Kind, Router, entry_point, route_by_type


def ignore(message: Message) -> None:
    """A handler that does nothing."""


def system_message() -> Message:
    raw = {"type": "system", "subtype": "x"}
    return message_from_json(raw, offset=0, nbytes=len(json.dumps(raw)), received_at=EPOCH)


BAD_OPERATOR_OPTIONS = [
    pytest.param({name: value}, error, id=f"{name}={value!r}")
    for name, value, error in [
        ("mode", "threads", ValueError),
        ("mode", None, ValueError),
        ("max_workers", 2.5, TypeError),
        ("max_workers", True, TypeError),
        ("max_workers", "4", TypeError),
        ("max_workers", 0, ValueError),
        ("lane_capacity", 2.5, TypeError),
        ("lane_capacity", True, TypeError),
        ("lane_capacity", None, TypeError),
        ("lane_capacity", 0, ValueError),
        ("fatal_errors", "no", TypeError),
        ("fatal_errors", 1, TypeError),
        ("scheduler", "now", TypeError),
        ("dispose_timeout", -1, ValueError),
        ("dispose_timeout", math.nan, ValueError),
        ("dispose_timeout", math.inf, ValueError),
        ("dispose_timeout", True, TypeError),
        ("dispose_timeout", None, TypeError),
        ("completion_timeout", -0.5, ValueError),
        ("completion_timeout", math.nan, ValueError),
        ("completion_timeout", False, TypeError),
        ("completion_timeout", "1", TypeError),
    ]
]


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize(("options", "error"), BAD_OPERATOR_OPTIONS)
def test_route_by_type_rejects_a_bad_argument_when_built(
    mode: str, options: dict[str, Any], error: type[Exception]
) -> None:
    (name,) = options
    with pytest.raises(error, match=name):
        route_by_type(Router(), **{"mode": mode, **options})


@pytest.mark.parametrize("router", [None, "router", DefaultRouter])
def test_route_by_type_needs_a_router(router: Any) -> None:
    with pytest.raises(TypeError, match="router"):
        route_by_type(router)


def test_route_by_type_accepts_good_arguments() -> None:
    operator = route_by_type(
        DefaultRouter(),
        mode="async",
        scheduler=TestScheduler(),
        max_workers=1,
        lane_capacity=1,
        fatal_errors=True,
        dispose_timeout=0,
        completion_timeout=2.5,
    )
    assert callable(operator)


@pytest.mark.parametrize("priority", ["hi", 1.5, True, [1]])
def test_register_rejects_a_priority_that_is_no_int(priority: Any) -> None:
    router = Router()
    with pytest.raises(TypeError, match="priority"):
        router.register(Kind.TEXT, ignore, priority)
    with pytest.raises(TypeError, match="priority"):
        router.on(Kind.TEXT, priority=priority)
    assert router.statistics().messages == 0


class Prioritised:
    def __init__(self, priority: Any) -> None:
        self.priority = priority

    def handle(self, message: Message) -> None:
        """Does nothing."""


@pytest.mark.parametrize("priority", ["hi", 2.0, False])
def test_register_rejects_a_handler_whose_priority_is_no_int(priority: object) -> None:
    with pytest.raises(TypeError, match="priority"):
        Router().register(Kind.TEXT, Prioritised(priority))


def test_register_takes_an_int_priority_from_the_handler_or_its_argument() -> None:
    router = Router()
    calls: list[str] = []

    class Named(Prioritised):
        def handle(self, message: Message) -> None:
            calls.append(str(self.priority))

    router.register("system", Named(-3))
    router.register("system", Named(None))
    router.register("system", Named("overridden"), priority=2)
    reactivex.of(system_message()).pipe(route_by_type(router)).subscribe()
    assert calls == ["overridden", "None", "-3"]


class NoArgument:
    def handle(self) -> None:
        """Takes no message."""


def two(message: Message, extra: object) -> None:
    """Wants a second argument."""


def keyword_only(*, message: Message) -> None:
    """Takes the message by keyword only."""


@pytest.mark.parametrize(
    "handler", [None, 3, object(), lambda: None, two, keyword_only, NoArgument()]
)
def test_register_rejects_a_handler_that_cannot_take_a_message(handler: Any) -> None:
    with pytest.raises(TypeError, match="handler"):
        Router().register(Kind.TEXT, handler)
    with pytest.raises(TypeError, match="handler"):
        entry_point(handler)
    with pytest.raises(TypeError, match="handler"):
        ChainHandler([ignore, handler])


def supplying_extra(handler: Callable[[Message, object], None]) -> Callable[[Message], None]:
    """A decorator whose wrapper takes the message alone (and says it wraps ``handler``)."""

    @functools.wraps(handler)
    def wrapper(message: Message) -> None:
        handler(message, None)

    return wrapper


def test_register_accepts_every_kind_of_handler() -> None:
    router = Router()
    seen: list[Message] = []
    handlers: list[Handler] = [
        ignore,
        print,
        seen.append,
        lambda m, *more: None,
        TextHandler(),
        str,
        supplying_extra(two),
    ]
    for handler in handlers:
        router.register(Kind.TEXT, handler)
    assert all(router.unregister(Kind.TEXT, handler) for handler in handlers)


@pytest.mark.parametrize("key", [3, None, b"text"])
def test_on_rejects_a_bad_route_key_when_called(key: Any) -> None:
    with pytest.raises(TypeError, match="route key"):
        Router().on(key)


@pytest.mark.parametrize("priority", ["hi", 1.5, True])
def test_built_in_handlers_reject_a_priority_that_is_no_int(priority: Any) -> None:
    with pytest.raises(TypeError, match="priority"):
        TextHandler(priority=priority)
    with pytest.raises(TypeError, match="priority"):
        ChainHandler([ignore], priority=priority)
