"""``measure(metrics)``: the operator that records a stream in a :class:`StreamMetrics`.

Each subscription opens its own recorder in the metrics, counts every message into it on
the delivering thread, and closes it when the stream completes, fails or is disposed.
Right after ``route_by_type`` it takes each message with the kind mask routing computed
(``RoutedObservable.subscribe_classified``) instead of classifying it again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from reactivex import Observable, abc
from reactivex.disposable import CompositeDisposable, Disposable

from rxclaude.backpressure import Backpressure
from rxclaude.messages import Message
from rxclaude.metrics.stream_metrics import StreamMetrics, unclassified
from rxclaude.routing import Router
from rxclaude.routing.operator import RoutedObservable
from rxclaude.sources import SpooledSource

__all__ = ["measure"]


def measure(
    metrics: StreamMetrics,
    *,
    backpressure: Backpressure | None = None,
    router: Router | None = None,
    spool: SpooledSource | None = None,
) -> Callable[[Observable[Message]], Observable[Message]]:
    """Record every message in ``metrics`` and pass it on unchanged.

    Place it last to time the whole pipeline's handling: latency runs from a frame's
    ``received_at`` to the moment downstream ``on_next`` returns (see
    :mod:`rxclaude.metrics` for sampling, clocks and thread safety).

    .. code-block:: text

        source:  -a--s--E--r--|
        measure(metrics)           counts a, s, E, r; times every n-th handling
        result:  -a--s--E--r--|

    Args:
        metrics: where to record; may be shared by any number of streams and threads.
        backpressure: a ``backpressure(...)`` operator whose events and buffer
            utilisation the metrics should report (same as ``attach_backpressure``).
        router: the router of a ``route_by_type`` upstream. Without it, ``measure``
            classifies each message itself
            (:func:`~rxclaude.messages.kinds.kind_mask`); with it, the per-kind counts are
            the router's, taken while the stream runs (its other streams' included), and
            no message is classified twice.
        spool: the source (``from_cli``'s observable) whose spool figures the metrics
            should report (same as ``attach_spool``).
    """
    if backpressure is not None:
        metrics.attach_backpressure(backpressure)
    if spool is not None:
        metrics.attach_spool(spool)

    def operator(source: Observable[Message]) -> Observable[Message]:
        def subscribe(
            observer: abc.ObserverBase[Message],
            scheduler: abc.SchedulerBase | None = None,
        ) -> abc.DisposableBase:
            recorder = metrics._open(router)

            def on_error(error: Exception) -> None:
                metrics._close(recorder)
                observer.on_error(error)

            def on_completed() -> None:
                metrics._close(recorder)
                observer.on_completed()

            classify = router is None
            record = metrics._recording_observer(observer, recorder, classify)
            subscription: abc.DisposableBase
            if isinstance(source, RoutedObservable):  # fused: no message classified twice
                fused = _Recording(unclassified(record, classify), record, on_error, on_completed)
                try:
                    subscription = source.subscribe_classified(fused, scheduler=scheduler)
                except Exception as error:  # as RxPY's subscribe reports it
                    on_error(error)
                    return Disposable(lambda: metrics._close(recorder))
            else:
                subscription = source.subscribe(
                    unclassified(record, classify),
                    on_error,
                    on_completed,
                    scheduler=scheduler,
                )
            return CompositeDisposable(subscription, Disposable(lambda: metrics._close(recorder)))

        return Observable(subscribe)

    return operator


class _Recording(NamedTuple):
    """What ``measure`` hands a ``route_by_type`` right before it (a ``ClassifiedObserver``)."""

    on_next: Callable[[Message], None]
    on_next_classified: Callable[[Message, int], None]
    on_error: Callable[[Exception], None]
    on_completed: Callable[[], None]
