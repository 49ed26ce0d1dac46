"""``backpressure(policy)``: a bounded buffer with an overflow policy at a thread boundary.

RxPY has no backpressure, and ``observe_on`` queues without limit (ReactiveX/RxPY#582).
This operator owns the asynchronous boundary instead: the producer (whichever thread calls
``on_next``) appends to a bounded buffer, and a consumer delivers the buffered items
downstream, in order and one thread at a time. When the buffer is full the policy decides:

.. code-block:: text

    source:  -0-1-2-3-4-5-|

    backpressure(DROP_OLDEST, buffer_size=2), consumer busy on 0
    result:  -0---------4-5-|         (dropped: 1, 2, 3)

    backpressure(DROP_NEWEST, buffer_size=2), consumer busy on 0
    result:  -0---------1-2-|         (dropped: 3, 4, 5)

    backpressure(BLOCK, buffer_size=2), consumer busy on 0 (the producer waits at 3)
    result:  -0---------1-2-3-4-5-|

    backpressure(ERROR, buffer_size=2), consumer busy on 0
    result:  -0---------1-2-#         (BufferOverflowError; dropped: 3)

The package, in the order an item meets it:

* :mod:`~rxclaude.backpressure.settings`: what it is told (``Policy``, ``Adaptive``,
  ``SlowConsumer``, the argument checks) and the errors a policy ends a stream with;
* :mod:`~rxclaude.backpressure.operator`: ``backpressure(...)`` and the ``Backpressure``
  object, one buffer per subscription;
* :mod:`~rxclaude.backpressure.buffer`: the bounded buffer, producer and consumer, the hot
  path;
* :mod:`~rxclaude.backpressure.monitor`: watermarks, adaptive sizing and slow-consumer
  detection, the one object the buffer consults for them;
* :mod:`~rxclaude.backpressure.events`: what it reports, its events and statistics.

Each module's docstring gives the design decisions of its part.
"""

from rxclaude.backpressure.events import (
    BackpressureEvent,
    BackpressureEventKind,
    BackpressureStatistics,
)
from rxclaude.backpressure.operator import Backpressure, backpressure
from rxclaude.backpressure.settings import (
    DEFAULT_BUFFER_SIZE,
    Adaptive,
    BackpressureDeadlockError,
    BufferOverflowError,
    Policy,
    SlowConsumer,
)
from rxclaude.backpressure.settings import check_buffer_size as check_buffer_size
from rxclaude.backpressure.settings import check_seconds as check_seconds

__all__ = [
    "DEFAULT_BUFFER_SIZE",
    "Adaptive",
    "Backpressure",
    "BackpressureDeadlockError",
    "BackpressureEvent",
    "BackpressureEventKind",
    "BackpressureStatistics",
    "BufferOverflowError",
    "Policy",
    "SlowConsumer",
    "backpressure",
]
