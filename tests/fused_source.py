"""A source that hands lists of items to an operator fused with it (``subscribe_batches``)."""

from __future__ import annotations

from reactivex import abc
from reactivex.disposable import Disposable

from rxclaude._batches import BatchingObservable, BatchObserver


class Batches(BatchingObservable[int]):
    """A test source that hands lists to a fused subscriber, from the calling thread."""

    def __init__(self) -> None:
        super().__init__()
        self.observer: BatchObserver[int] | None = None

    def subscribe_batches(
        self, observer: BatchObserver[int], *, scheduler: abc.SchedulerBase | None = None
    ) -> abc.DisposableBase:
        self.observer = observer
        return Disposable()

    def push(self, items: list[int]) -> None:
        assert self.observer is not None
        self.observer.on_next_batch(items)
