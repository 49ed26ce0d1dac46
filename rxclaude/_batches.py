"""Operator fusion: an Observable that can hand a fused operator a list of items at once.

``parse_json_frames`` decodes a whole chunk of bytes at a time; an operator placed right
after it that can take those messages as one list (``backpressure``: one lock per chunk
instead of one per message) subscribes through :meth:`BatchingObservable.subscribe_batches`.
Everything else subscribes the usual way and sees one ``on_next`` per item; the items, their
order and the terminal signals are the same either way.

A buffer that holds its producer (``backpressure(Policy.BLOCK)``) can go further and ask the
parser to decode on its consumer's side (:meth:`BatchingObservable.defer_decoding`): it
then holds undecoded lines (:mod:`rxclaude.framing.deferred`).
"""

from __future__ import annotations

from typing import Any, Protocol, TypeVar

from reactivex import Observable, abc

_T = TypeVar("_T")


class Observer(Protocol):
    """An item's receiver: an ``abc.ObserverBase``, or a subscriber's callbacks."""

    def on_next(self, value: Any, /) -> None: ...
    def on_error(self, error: Exception, /) -> None: ...
    def on_completed(self) -> None: ...


class BatchObserver(Protocol[_T]):
    """What a fused operator implements to receive items a list at a time."""

    def on_next_batch(self, items: list[_T]) -> None:
        """Items in order; the list is the receiver's to keep."""

    def on_error(self, error: Exception) -> None: ...

    def on_completed(self) -> None: ...


class BatchingObservable(Observable[_T]):
    """An Observable that also delivers its items in lists to a fused operator."""

    def subscribe_batches(
        self, observer: BatchObserver[_T], *, scheduler: abc.SchedulerBase | None = None
    ) -> abc.DisposableBase:
        """Subscribe ``observer``: the same items as ``subscribe`` gives, in non-empty lists."""
        raise NotImplementedError

    def defer_decoding(self, downstream: Observer) -> DeferredDecoding | None:
        """Work left for the consumer's side of a buffer, if this Observable can leave some:
        ``None`` (the default) when it cannot."""
        return None


class DeferredDecoding(Protocol):
    """What :meth:`BatchingObservable.defer_decoding` returns: a source of undecoded
    items (``subscribe``) and the observer that finishes them (``observer``) on their way
    to the downstream it was given."""

    @property
    def observer(self) -> Observer:
        """Takes each undecoded item and hands the finished ones downstream."""

    def subscribe(
        self, buffer: BatchObserver[Any], *, scheduler: abc.SchedulerBase | None = None
    ) -> abc.DisposableBase:
        """Subscribe ``buffer`` to the undecoded items, in non-empty lists."""
