"""Operator fusion: an Observable that can hand a fused operator a list of items at once.

``parse_json_frames`` decodes a whole chunk of bytes at a time; an operator placed right
after it that can take those messages as one list (``backpressure``: one lock per chunk
instead of one per message) subscribes through :meth:`BatchingObservable.subscribe_batches`.
Everything else subscribes the usual way and sees one ``on_next`` per item; the items, their
order and the terminal signals are the same either way.
"""

from __future__ import annotations

from typing import Protocol, TypeVar

from reactivex import Observable, abc

_T = TypeVar("_T")


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
