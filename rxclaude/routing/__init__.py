"""``route_by_type``: run registered handlers on every message, by frame type and by kind.

A :class:`Router` holds handler registrations. Each registration names a *route key*:

* a frame ``type`` string (``"assistant"``, ``"user"``, ``"system"``, ``"result"``,
  ``"stream_event"``, ``"parse_error"``, ``"handler_error"``, any future type), or ``"*"``
  for every message;
* a semantic :class:`Kind`, computed per message by :func:`kinds_of` (the table of which
  message has which kinds is in :mod:`rxclaude.messages.kinds`).

Ordering. The handlers matched by a message (through its type, ``"*"`` and each of its
kinds) run once each, highest priority first; ties run in registration order. A handler
registered under several matching keys runs once, at its highest matching priority.

Modes. ``mode="sync"`` runs the handlers on the thread that delivers the message, then
passes the message on. ``mode="async"`` hands the message to a bounded pool of worker
threads and passes it on at once; handlers may finish after the message moved on. There
is one serial *lane* per route key, drained by at most one worker at a time, so every
kind's messages are handled in input order. A handler always runs on one lane — the key of
its earliest registration — so it sees its messages in input order and is never called
from two threads at once, and the handlers of one lane run in priority order. When a lane
is full the producer waits: that is backpressure into the operator upstream. The source's
completion (or error) waits for the handlers to finish before it passes on, for at most
``completion_timeout`` seconds if given: a completion then becomes
:class:`CompletionTimeoutError`, naming the handlers still running. Disposing an async
stream drops its queued messages, stops the handlers between two calls and waits up to
``dispose_timeout`` (1 s by default) for the running ones; a handler still running then is
abandoned (its daemon worker ends when it returns, and what it does after is ignored).
A handler may feed the stream's own source. Where the lane it feeds is full and only
workers that are waiting themselves could make room (its own lane, a single worker, workers
waiting for each other's lanes), the stream ends with :class:`RoutingDeadlockError` instead
of hanging; a handler completing its own source completes the stream once the handlers are
done.

Errors. A handler that raises does not end the stream: the exception becomes a
:class:`HandlerError` item, counted on the router, routed to ``"handler_error"``,
``Kind.ERROR`` and ``"*"`` handlers, and passed on right after the message whose handler
failed (in async mode: as soon as the failure is known, never before that message). A
handler failing on a :class:`HandlerError` yields another ``HandlerError`` that is counted
and passed on but not routed again, so an ERROR handler that raises cannot loop. With
``fatal_errors=True`` the first failure ends the stream with :class:`HandlerFailedError`
instead (counted, neither routed nor passed on).

A handler raising a ``BaseException`` that is no ``Exception`` (``SystemExit``,
``KeyboardInterrupt``, ``GeneratorExit``) asks to stop: in sync mode it propagates to the
caller of ``on_next``; in async mode the stream ends with :class:`HandlerAbortedError` right
after the message, and no handler runs after it (counted, neither routed nor passed on). In
async mode, when passing an item on raises on a worker thread (a ``HandlerError`` handed
downstream), the stream ends with that exception; if ending it raises too, the routing stops
and the exception ends that worker through ``threading.excepthook``. No worker dies silently
and nothing waits for a dead one.

Registrations can change while streams run: the router rebuilds its per-key handler lists
under a lock and publishes them copy-on-write, so routing reads them without locking.
Arguments are checked where they are given (``route_by_type``, :meth:`Router.register`,
:meth:`Router.on`), never at the first message.

The modules follow the data path: :mod:`~rxclaude.routing.handler` (what a handler is, route
keys), :mod:`~rxclaude.routing.errors` (what routing reports),
:mod:`~rxclaude.routing.router` (registrations and plans), :mod:`~rxclaude.routing.operator`
(``route_by_type``), :mod:`~rxclaude.routing.sync_stream` (the sync path),
:mod:`~rxclaude.routing.async_stream` and
:mod:`~rxclaude.routing.lanes` (the async path). Routing does not know the built-in
handlers: :mod:`rxclaude.handlers` provides what :meth:`Router.default` builds.
"""

from rxclaude.messages.kinds import Kind, kinds_of
from rxclaude.routing.errors import (
    CompletionTimeoutError,
    HandlerAbortedError,
    HandlerError,
    HandlerFailedError,
    RoutingDeadlockError,
    RoutingError,
)
from rxclaude.routing.handler import (
    ALL,
    Handler,
    MessageHandler,
    RouteKey,
    entry_point,
    handler_name,
)
from rxclaude.routing.operator import Mode, route_by_type
from rxclaude.routing.router import Router, RouterStatistics

__all__ = [
    "ALL",
    "CompletionTimeoutError",
    "Handler",
    "HandlerAbortedError",
    "HandlerError",
    "HandlerFailedError",
    "Kind",
    "MessageHandler",
    "Mode",
    "RouteKey",
    "Router",
    "RouterStatistics",
    "RoutingDeadlockError",
    "RoutingError",
    "entry_point",
    "handler_name",
    "kinds_of",
    "route_by_type",
]
