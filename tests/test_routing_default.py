"""Router.default(): routing builds the default router through a factory that
rxclaude.handlers sets, so that routing never imports the handlers built on it."""

from __future__ import annotations

import pytest

from rxclaude.handlers import DefaultRouter
from rxclaude.routing import Router
from rxclaude.routing import router as router_module


def test_the_default_router_is_the_handlers_default_router() -> None:
    router = Router.default()
    assert type(router) is DefaultRouter
    assert Router.default() is not router  # a new one each time
    assert {type(handler).__name__ for handler in router.handlers} >= {"TextHandler"}


def test_a_factory_set_is_what_default_builds(monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[Router] = []

    def factory() -> Router:
        built.append(Router())
        return built[-1]

    monkeypatch.setattr(router_module, "_default_router_factory", None)
    router_module.set_default_router_factory(factory)
    assert Router.default() is built[0]


def test_without_a_factory_default_says_what_sets_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(router_module, "_default_router_factory", None)
    with pytest.raises(RuntimeError, match=r"importing rxclaude\.handlers sets it"):
        Router.default()


def test_the_factory_must_be_callable() -> None:
    with pytest.raises(TypeError, match="factory must be callable"):
        router_module.set_default_router_factory(DefaultRouter())  # type: ignore[arg-type]
    assert type(Router.default()) is DefaultRouter
