"""Metrics, the last stage of the data path: counts, throughput and latency of a stream.

``measure(metrics)`` passes every message on unchanged and records it in a
:class:`StreamMetrics`; ``metrics.snapshot()`` returns a frozen :class:`MetricsSnapshot`,
and ``metrics.observe(interval)`` emits one every ``interval`` seconds.
:class:`~rxclaude.metrics.prometheus.PrometheusExporter` serves the snapshots to
Prometheus.

* :mod:`~rxclaude.metrics.histogram`: :class:`LatencyHistogram`;
* :mod:`~rxclaude.metrics.recorders`: what is kept per stream;
* :mod:`~rxclaude.metrics.snapshot`: :class:`MetricsSnapshot`;
* :mod:`~rxclaude.metrics.stream_metrics`: :class:`StreamMetrics`;
* :mod:`~rxclaude.metrics.operator`: :func:`measure`;
* :mod:`~rxclaude.metrics.prometheus`: the exporter (imports ``prometheus_client`` only
  when one is made), with :mod:`~rxclaude.metrics.prometheus_claude` for the Claude-level
  families of a :class:`~rxclaude.handlers.ClaudeMetrics`;
* :mod:`~rxclaude.metrics.otel`: the OpenTelemetry exporter (the ``opentelemetry`` extra);
* :mod:`~rxclaude.metrics.display`: a snapshot as a flat dict and as notebook HTML.

Design decisions:

* **One clock per** :class:`StreamMetrics`. With ``scheduler=`` every figure is read from
  ``scheduler.now`` (ticks as seconds under ``TestScheduler``); without one, durations and
  throughput windows use ``time.monotonic`` (cheap, immune to wall-clock steps) and
  latency is wall-clock UTC minus ``received_at``, which ``parse_json_frames`` stamps
  from the current-thread scheduler's wall clock. Give the metrics the scheduler that
  stamps ``received_at``; a negative latency (clocks that disagree) counts as 0.
* **Latency** is the clock at the end of the message's handling downstream (when the
  downstream ``on_next`` returns: placed last, ``measure`` sees the whole pipeline's
  handling) minus ``received_at``; **processing time** is the time spent in that
  downstream ``on_next``. Both are *sampled*: every ``sample_every``-th message of each
  stream (default 16; set 1 to time every message), because reading a wall clock and
  converting ``received_at`` cost more than everything else ``measure`` does per message.
  Counts and bytes are never sampled.
* **Latency distribution**: :class:`LatencyHistogram`, log buckets: memory that does not
  grow with the samples, percentiles within 1/64 of the exact nearest-rank value, exact
  ``min``, ``max`` and ``mean`` (its module says how).
* **Throughput**: overall = totals / ``elapsed``, the time from the first subscription
  to now, or to the end of the last stream when none runs. Windowed = what arrived in the
  last ``window`` seconds (default 10) / ``window`` (or ``elapsed`` if shorter), kept as a
  ring of ``window_buckets`` per-period totals, so the window is exact to one bucket
  (1 s by default). Each message reads the clock once, to find its bucket.
* **Error rate** = (parse errors + handler errors) / messages received: failures of the
  pipeline (bad input, handlers that raised). What Claude reports as errors (failed
  turns, API retries, failed tools) is in ``by_kind[Kind.ERROR]``.
* **Kinds**: without ``router=``, ``measure`` classifies each message itself with
  :func:`~rxclaude.messages.kinds.kind_mask` (a look at its class and a few fields, but
  a noticeable share of ``measure``'s time per message) and counts it once per kind set.
  Nothing on the message remembers a classification, so when ``measure`` follows
  ``route_by_type(router)``, pass ``router=router``: the per-kind counts are then the
  router's (``router.statistics().by_kind`` since it was attached, which also counts its
  other streams) and messages are not classified twice.
* **Thread safety without a lock per message.** Each subscription counts into its own
  recorder, written only by the thread delivering that stream (Rx delivers one item at a
  time), so no update is lost; a lock is taken only to add a frame type, to close a
  throughput bucket, for sampled timings and by ``snapshot``, which sums the recorders
  of running streams with the totals of finished ones. Counts are exact; a snapshot taken
  while messages flow may see the message in flight in some fields and not yet in others.
* **Backpressure**: ``attach_backpressure(bp)`` (or ``measure(..., backpressure=bp)``)
  counts the events of ``bp.events`` from then on, and each snapshot reads
  ``bp.statistics()`` for buffer utilisation (summed over attached buffers).
* **Spools**: ``attach_spool(source)`` (or ``measure(..., spool=source)``) with the
  observable of ``from_cli`` (or ``from_reader(..., spool=True)``): each snapshot reads
  ``source.statistics()`` for the bytes waiting in memory and on disk and their peaks
  (summed over attached sources, held weakly like backpressures).
* ``bytes_processed`` sums ``message.nbytes``: the frames' bytes without line terminators
  (parse errors included); synthesized items (``HandlerError``, partials) add 0.

Backpressure, routers and spools are read through their public ``statistics()`` and
``events`` only.
"""

from rxclaude.metrics.histogram import LatencyHistogram
from rxclaude.metrics.operator import measure
from rxclaude.metrics.snapshot import MetricsSnapshot
from rxclaude.metrics.stream_metrics import StreamMetrics

__all__ = [
    "LatencyHistogram",
    "MetricsSnapshot",
    "StreamMetrics",
    "measure",
]
