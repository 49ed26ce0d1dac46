"""``assemble_partials``: the operator that inserts partial items after their frames."""

from __future__ import annotations

from collections.abc import Callable

from reactivex import Observable, abc

from rxclaude.messages import Message
from rxclaude.partials.assembler import PartialAssembler


def assemble_partials() -> Callable[[Observable[Message]], Observable[Message]]:
    """Insert live partial views after the ``stream_event`` frames that produce them.

    Every input message passes through unchanged and in order. The partial items (see
    :mod:`rxclaude.partials`) follow the frame that produced them. At the end of the
    input, or on error before the error is passed on, unfinished streams are closed.

    .. code-block:: text

        source:  -start-d("Hel")-d("lo")-assistant-stop-------m_delta-m_stop----------|
        assemble_partials()
        result:  -start-d-▸"Hel"-d-▸"Hello"-assistant-stop-▸block-m_delta-m_stop-▸message-|

    (``d``: ``content_block_delta``; ``▸"Hello"``: a
    :class:`~rxclaude.partials.BlockUpdate`; ``▸block``: a
    :class:`~rxclaude.partials.BlockComplete`; ``▸message``: an
    :class:`~rxclaude.partials.AssembledMessage`.)

    Keep only the partial items with
    ``ops.filter(lambda item: isinstance(item, PartialItem))``.
    """

    def operator(source: Observable[Message]) -> Observable[Message]:
        def subscribe(
            observer: abc.ObserverBase[Message],
            scheduler: abc.SchedulerBase | None = None,
        ) -> abc.DisposableBase:
            assembler = PartialAssembler()

            def on_next(message: Message) -> None:
                items = assembler.feed(message)
                observer.on_next(message)
                for item in items:
                    observer.on_next(item)

            def flush() -> None:
                for item in assembler.finish():
                    observer.on_next(item)

            def on_completed() -> None:
                flush()
                observer.on_completed()

            def on_error(error: Exception) -> None:
                flush()
                observer.on_error(error)

            return source.subscribe(on_next, on_error, on_completed, scheduler=scheduler)

        return Observable(subscribe)

    return operator


__all__ = ["assemble_partials"]
