"""``backpressure(policy)``: a bounded buffer with an overflow policy at a thread boundary.

The operator's module moves into this package unchanged (:mod:`.buffer`); the next step
splits it by concern.
"""

from rxclaude.backpressure.buffer import (
    DEFAULT_BUFFER_SIZE,
    Adaptive,
    Backpressure,
    BackpressureDeadlockError,
    BackpressureEvent,
    BackpressureEventKind,
    BackpressureStatistics,
    BufferOverflowError,
    Policy,
    SlowConsumer,
    backpressure,
)
from rxclaude.backpressure.buffer import _BoundedBuffer as _BoundedBuffer
from rxclaude.backpressure.buffer import check_buffer_size as check_buffer_size
from rxclaude.backpressure.buffer import check_seconds as check_seconds

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
