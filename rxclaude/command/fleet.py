"""Redis Streams from the command line (the ``redis`` extra): ``run --to-redis`` and
``stats --from-redis``.

* ``rxclaude run --to-redis URL [--redis-key TEMPLATE]`` puts
  :func:`~rxclaude.redis.to_redis_stream` right after ``parse_json_frames``: every frame
  (and parse error) goes to the stream the template names (default ``claude:{session}``;
  ``{project}`` and ``{host}`` too) while the view shows it. The figures say how many were
  written; messages not written after the retries show as ``redis_write_error`` lines,
  and the run then exits with 1 where the CLI exited with 0.
* ``rxclaude stats --from-redis URL KEY…`` reads many hosts' streams
  (:func:`~rxclaude.redis.from_redis_stream`, copies dropped by ``dedupe``) through the
  router and the metrics, and shows the figures and a table per host
  (``delivery_of(m).host``), redrawn live on a terminal. It reads until Ctrl-C (then it
  prints the figures and exits with 130), or until ``--count N`` messages, or until
  ``--until-idle SECONDS`` pass without a new one (for scripts: exit 0). With ``--group G``
  (and ``--consumer C``) it reads as a member of a consumer group and acknowledges each
  message once it is counted, so what was read but not counted when it stopped is
  delivered again; without, it reads each stream from its start. There is no buffer
  stage: the streams are the buffer, and the reading waits for the handlers.

Both first check that Redis answers (``PING``): when it does not, or refuses the password,
the command says so and exits with 1 before anything starts. The password comes from the
URL or ``RXCLAUDE_REDIS_PASSWORD``; only ``redacted_url(URL)`` is ever shown.
"""

from __future__ import annotations

import argparse
import importlib
import threading
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING, Any

import reactivex
from reactivex import Observable
from reactivex import operators as ops
from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from rxclaude.command import stats
from rxclaude.command.format import dollars, styled
from rxclaude.command.session import Session, report, whole_number
from rxclaude.messages import Kind, Message, ResultMessage, kinds_of

if TYPE_CHECKING:
    import redis

    from rxclaude.redis import RedisStreamSink

__all__ = [
    "DEFAULT_KEY",
    "RedisOptionError",
    "RedisWriter",
    "add_run_arguments",
    "add_stats_arguments",
    "run_from_redis",
]

DEFAULT_KEY = "claude:{session}"
"""The stream key template of ``run --to-redis``."""

UNREACHABLE = 1
"""The exit code when Redis does not answer or refuses the password."""

INTERRUPTED = 130
NO_HOST = "(no host)"
"""The host column of items that did not come from an entry (a ``redis_gap``)."""


class RedisOptionError(Exception):
    """A Redis option cannot be followed: the extra is missing (exit 2), the URL or key is
    wrong (2), or Redis does not answer (1). The message shows no password."""

    def __init__(self, message: str, code: int = 2) -> None:
        super().__init__(message)
        self.code = code


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    """``--to-redis URL`` and ``--redis-key TEMPLATE``."""
    parser.add_argument(
        "--to-redis",
        metavar="URL",
        help="also append every frame to a Redis stream (redis://[:PASSWORD@]HOST[:PORT]/DB; "
        "or the password in RXCLAUDE_REDIS_PASSWORD; needs the redis extra)",
    )
    parser.add_argument(
        "--redis-key",
        default=DEFAULT_KEY,
        metavar="TEMPLATE",
        help=f"the stream's key, with {{session}}, {{project}}, {{host}} (default: {DEFAULT_KEY})",
    )


def add_stats_arguments(parser: argparse.ArgumentParser) -> None:
    """``--from-redis URL`` (the PATHs are then stream keys), ``--group``, ``--consumer``,
    ``--count`` and ``--until-idle``."""
    parser.add_argument(
        "--from-redis",
        metavar="URL",
        help="read the Redis streams named by the PATHs (keys) live until Ctrl-C, with a "
        "table per host (needs the redis extra)",
    )
    parser.add_argument("--group", metavar="G", help="--from-redis: read in consumer group G")
    parser.add_argument("--consumer", metavar="C", help="--from-redis: the consumer's name in G")
    parser.add_argument(
        "--count", type=whole_number, metavar="N", help="--from-redis: stop after N messages"
    )
    parser.add_argument(
        "--until-idle",
        type=seconds,
        metavar="SECONDS",
        help="--from-redis: stop when no message came for SECONDS",
    )


def seconds(text: str) -> float:
    """A positive number of seconds (argparse ``type``)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0, not {text}")
    return value


def _package(flag: str) -> ModuleType:
    try:
        return importlib.import_module("rxclaude.redis")
    except ImportError:
        raise RedisOptionError(f"{flag} needs redis-py: pip install 'rxclaude[redis]'") from None


def _client(package: ModuleType, url: str, flag: str) -> redis.Redis:
    try:
        client: redis.Redis = package.client_from_url(url)
    except ValueError as error:
        raise RedisOptionError(f"{flag} {package.redacted_url(url)}: {error}") from None
    return client


def _check_reachable(package: ModuleType, client: redis.Redis, url: str) -> None:
    try:
        client.ping()
    except Exception as error:  # redis.RedisError, OSError: whatever stops a PING
        client.close()
        raise RedisOptionError(
            f"cannot reach Redis at {package.redacted_url(url)}: {type(error).__name__}: {error}",
            UNREACHABLE,
        ) from None


class RedisWriter:
    """``run --to-redis``: the client and the ``to_redis_stream`` operator.

    Raises:
        RedisOptionError: no redis-py, a wrong URL or key template, Redis unreachable.
    """

    def __init__(self, url: str, key: str) -> None:
        package = _package("--to-redis")
        self.url: str = package.redacted_url(url)
        self.key = key
        self.client = _client(package, url, "--to-redis")
        try:
            self.sink: RedisStreamSink = package.to_redis_stream(self.client, key)
        except ValueError as error:
            self.client.close()
            raise RedisOptionError(f"--redis-key {key!r}: {error}") from None
        _check_reachable(package, self.client, url)

    def figures(self) -> stats.Document:
        """What was written, for the ``redis`` figures."""
        written = self.sink.statistics()
        return {
            "to": self.url,
            "key": self.key,
            "written": written.written,
            "failed": written.failed,
            "dropped": written.dropped,
            "discarded": written.discarded,
            "batches": written.batches,
            "retries": written.retries,
            "blocked_s": written.blocked_time,
        }

    def unwritten(self) -> int:
        """Messages that did not reach Redis."""
        written = self.sink.statistics()
        return written.failed + written.dropped + written.discarded + written.pending


def redis_row(redis: stats.Document) -> stats.Row:
    """The ``redis`` line of the figures: what ``run --to-redis`` wrote, or what
    ``stats --from-redis`` read."""
    if "written" in redis:
        lost = redis["failed"] + redis["dropped"] + redis["discarded"]
        return stats.Row(
            "redis",
            f"{redis['written']:,} written to {redis['to']} {redis['key']} · "
            f"{lost:,} not written · {redis['batches']:,} writes · {redis['retries']} retries",
            lost > 0,
        )
    return stats.Row(
        "redis",
        f"{redis['read']:,} read from {redis['from']} {' '.join(redis['keys'])} · "
        f"{redis['redelivered']:,} redelivered · {redis['duplicates']:,} duplicates · "
        f"{redis['lost']:,} lost",
        redis["lost"] > 0,
    )


# -- stats --from-redis -------------------------------------------------------------------


@dataclass
class _Host:
    messages: int = 0
    turns: int = 0
    errors: int = 0
    session_cost: dict[str, float] = field(default_factory=dict)


class Hosts:
    """Per-host figures of the messages read (host from ``delivery_of``); thread-safe."""

    def __init__(self, delivery_of: Callable[[object], Any]) -> None:
        self._delivery_of = delivery_of
        self._lock = threading.Lock()
        self._hosts: dict[str, _Host] = {}

    def count(self, message: Message) -> None:
        """Count ``message`` under its host (``on_message`` of the session)."""
        delivery = self._delivery_of(message)
        host = delivery.host if delivery is not None else NO_HOST
        session = delivery.session if delivery is not None else ""
        with self._lock:
            figures = self._hosts.setdefault(host, _Host())
            figures.messages += 1
            figures.errors += Kind.ERROR in kinds_of(message)
            if isinstance(message, ResultMessage):
                figures.turns += 1
                if message.total_cost_usd is not None:  # a running total per session
                    figures.session_cost[session] = message.total_cost_usd
            elif session:
                figures.session_cost.setdefault(session, 0.0)

    def to_dict(self) -> dict[str, dict[str, Any]]:
        """``host -> {"messages", "sessions", "turns", "errors", "cost_usd"}``."""
        with self._lock:
            return {
                host: {
                    "messages": figures.messages,
                    "sessions": len(figures.session_cost),
                    "turns": figures.turns,
                    "errors": figures.errors,
                    "cost_usd": sum(figures.session_cost.values()),
                }
                for host, figures in sorted(self._hosts.items())
            }


def host_table(hosts: dict[str, dict[str, Any]]) -> Table:
    """The per-host figures as a table (host names made safe)."""
    table = Table(title="by host", title_justify="left", box=None)
    table.add_column("host", style="bold cyan")
    for column in ("messages", "sessions", "turns", "errors", "cost"):
        table.add_column(column, justify="right")
    for host, figures in hosts.items():
        table.add_row(
            styled(host),
            f"{figures['messages']:,}",
            str(figures["sessions"]),
            str(figures["turns"]),
            styled(str(figures["errors"]), "red" if figures["errors"] else ""),
            dollars(figures["cost_usd"]),
        )
    return table


def _live_view(session: Session, hosts: Hosts) -> Callable[[], Group]:
    def render() -> Group:
        figures = session.metrics.snapshot()
        status = Text(
            f"● {figures.messages_received:,} messages · "
            f"{figures.window_messages_per_second:.0f} msg/s · {figures.elapsed:.1f} s · "
            "Ctrl-C ends",
            style="dim",
        )
        return Group(host_table(hosts.to_dict()), status)

    return render


def run_from_redis(
    options: argparse.Namespace, parser: argparse.ArgumentParser, console: Console
) -> int:
    """``rxclaude stats --from-redis URL KEY…``: read until stopped, print the figures;
    130 after Ctrl-C, 1 if reading failed."""
    keys: list[str] = list(options.paths)
    if not keys:
        parser.error("--from-redis reads the streams named by KEY…: give at least one")
    if options.sample is not None or options.by is not None or options.since is not None:
        parser.error("--from-redis reads Redis streams: no --sample, --by or --since")
    if options.consumer is not None and options.group is None:
        parser.error("--consumer names a member of a consumer group: give --group too")
    try:
        package = _package("--from-redis")
        client = _client(package, options.from_redis, "--from-redis")
        _check_reachable(package, client, options.from_redis)
    except RedisOptionError as problem:
        return report("stats", str(problem), problem.code)
    url: str = package.redacted_url(options.from_redis)
    group = options.group
    source = package.from_redis_stream(
        client, keys, group=group, consumer=options.consumer, ack="explicit"
    )
    seen = package.SeenMessages()
    messages: Observable[Message] = source.pipe(
        package.dedupe(seen, acknowledge=client if group is not None else None),
        *([ops.timeout(options.until_idle, reactivex.empty())] if options.until_idle else []),
        *([ops.take(options.count)] if options.count else []),
        package.ack(client),
    )
    session = Session(max_frame_bytes=options.max_frame_bytes)
    hosts = Hosts(package.delivery_of)
    interrupted = False
    live = (
        Live(get_renderable=_live_view(session, hosts), console=console, refresh_per_second=2)
        if console.is_terminal and not options.json
        else nullcontext()
    )
    try:
        with live:
            error = session.run_messages(messages, hosts.count, buffered=False)
    except KeyboardInterrupt:
        interrupted, error = True, None
    finally:
        client.close()
    read = source.statistics()
    document = stats.collect(session, f"redis {url} {' '.join(keys)}", error, live=True)
    document["redis"] = {
        "from": url,
        "keys": keys,
        "group": group,
        "consumer": options.consumer,
        "read": seen.unique + seen.duplicates,  # counted before they go on: exact
        "redelivered": read.redelivered,
        "duplicates": seen.duplicates,
        "lost": read.lost,
        "reads": read.reads,
        "retries": read.retries,
        "hosts": hosts.to_dict(),
    }
    if options.json:
        print(stats.to_json(document))
    else:
        stats.render(console, document, [redis_row(document["redis"])])
        console.print()
        console.print(host_table(document["redis"]["hosts"]))
    if interrupted:
        return INTERRUPTED
    return 1 if error is not None else 0
