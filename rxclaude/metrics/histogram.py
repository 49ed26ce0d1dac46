""":class:`LatencyHistogram`: durations in bounded memory, with percentiles of known error.

Log buckets with 32 linear sub-buckets per power of two, from 2**-20 s (about 1 µs) to
2**14 s (about 4.5 h): 1058 counters whatever the number of samples, percentiles within
1/64 (1.6 %) of the exact nearest-rank value, and exact ``min``, ``max`` and ``mean``.
Recording is an index computation and an increment, so every sample can be kept without
a list of them growing with the stream.
"""

from __future__ import annotations

import math

__all__ = ["LatencyHistogram"]

_SUB_BUCKETS = 32
_LOWEST_EXPONENT = -19  # frexp exponent of 2**-20 s: the lowest bucket starts there
_OCTAVES = 33  # up to 2**14 s
_BUCKETS = 2 + _OCTAVES * _SUB_BUCKETS  # the first below 2**-20 s, the last from 2**14 s
_LOWEST = 2.0**-20


class LatencyHistogram:
    """Durations in seconds in bounded memory: log buckets, 32 linear steps per octave.

    ``percentile(q)`` is within ``RELATIVE_ERROR`` (1/64) of the exact nearest-rank
    percentile for values from 2**-20 s (about 1 µs) to 2**14 s; smaller values read as
    the smallest one recorded, larger ones as the largest, and every answer is clamped to
    the exact ``min`` and ``max``.
    Not thread-safe by itself: :class:`StreamMetrics` records under its lock, and
    snapshots hold copies.
    """

    RELATIVE_ERROR = 1 / (2 * _SUB_BUCKETS)

    __slots__ = ("_counts", "count", "max", "min", "total")

    def __init__(self) -> None:
        self._counts = [0] * _BUCKETS
        self.count = 0
        self.total = 0.0
        self.min = math.inf
        self.max = 0.0

    def record(self, seconds: float) -> None:
        """Adds one duration; negative ones count as 0."""
        seconds = max(seconds, 0.0)
        self._counts[_bucket(seconds)] += 1
        self.count += 1
        self.total += seconds
        self.min = min(self.min, seconds)
        self.max = max(self.max, seconds)

    def merge(self, other: LatencyHistogram) -> None:
        """Adds ``other``'s samples to this histogram."""
        if not other.count:
            return
        self._counts = [a + b for a, b in zip(self._counts, other._counts, strict=True)]
        self.count += other.count
        self.total += other.total
        self.min = min(self.min, other.min)
        self.max = max(self.max, other.max)

    def copy(self) -> LatencyHistogram:
        """An independent copy."""
        duplicate = LatencyHistogram()
        duplicate.merge(self)
        return duplicate

    @property
    def mean(self) -> float:
        """The exact mean (0.0 without samples)."""
        return self.total / self.count if self.count else 0.0

    def percentile(self, q: float) -> float:
        """The nearest-rank ``q``-th percentile, ``0 <= q <= 100`` (0.0 without samples)."""
        if not 0 <= q <= 100:
            raise ValueError(f"percentile needs 0 <= q <= 100, got {q}")
        if not self.count:
            return 0.0
        rank = max(1, math.ceil(q / 100 * self.count))
        seen = 0
        for index, count in enumerate(self._counts):
            seen += count
            if seen >= rank:
                if index == 0:  # below the resolution: the smallest value is as good
                    return self.min
                if index == _BUCKETS - 1:  # beyond the range: the largest one
                    return self.max
                return min(max(_midpoint(index), self.min), self.max)
        return self.max  # unreachable: the counts add up to ``count``


def _bucket(seconds: float) -> int:
    if seconds < _LOWEST:
        return 0
    mantissa, exponent = math.frexp(seconds)  # seconds = mantissa * 2**exponent, 0.5 <= m < 1
    octave = exponent - _LOWEST_EXPONENT
    if octave >= _OCTAVES:
        return _BUCKETS - 1
    return 1 + octave * _SUB_BUCKETS + int((mantissa - 0.5) * 2 * _SUB_BUCKETS)


def _midpoint(index: int) -> float:
    octave, step = divmod(index - 1, _SUB_BUCKETS)
    return math.ldexp(0.5 + (step + 0.5) / (2 * _SUB_BUCKETS), octave + _LOWEST_EXPONENT)
