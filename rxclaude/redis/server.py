"""``LocalRedis``: a private ``redis-server`` on loopback, for trying things and for tests.

It runs the ``redis-server`` binary (Debian: ``apt-get install redis-server``) on
127.0.0.1 with a free port, in a directory of its own (a temporary one unless told), with
the append-only file on, no RDB snapshots and no password; ``stop`` and ``restart`` keep
the directory, so a restarted server loads what the AOF kept. It is not a way to run a
production Redis.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

import redis

__all__ = ["LocalRedis", "RedisServerError"]

_READY_SECONDS = 30.0
"""How long a start may take (loading a large AOF); only reached when it fails."""


class RedisServerError(RuntimeError):
    """The server could not be found, or did not start."""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class LocalRedis:
    """A ``redis-server`` child process on 127.0.0.1 (a context manager: started on
    entry, stopped and its temporary directory removed on exit).

    Args:
        directory: where the AOF lives (a new temporary directory by default).
        port: the port (a free one by default, kept across restarts).
        appendfsync: ``"always"`` makes every acknowledged write durable across a kill,
            ``"everysec"`` (Redis' default) loses up to a second of them.
        executable: the server binary (``redis-server`` on ``PATH``).
    """

    def __init__(
        self,
        *,
        directory: str | Path | None = None,
        port: int | None = None,
        appendfsync: Literal["always", "everysec", "no"] = "everysec",
        executable: str = "redis-server",
    ) -> None:
        found = shutil.which(executable)
        if found is None:
            raise RedisServerError(
                f"{executable} not found: install it (apt-get install redis-server)"
            )
        self.executable = found
        self._temporary = directory is None
        self.directory = Path(
            tempfile.mkdtemp(prefix="rxclaude-redis-") if directory is None else directory
        )
        self.directory.mkdir(parents=True, exist_ok=True)
        self._fixed_port = port
        self.port = port if port is not None else _free_port()
        self.appendfsync = appendfsync
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """``redis://127.0.0.1:PORT/0``."""
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def pid(self) -> int | None:
        """The server's process id while it runs."""
        return self._process.pid if self._process is not None else None

    def client(self, **options: Any) -> redis.Redis:
        """A new client of this server (``options`` go to ``redis.Redis``)."""
        return redis.Redis(host="127.0.0.1", port=self.port, **options)

    def start(self) -> None:
        """Starts the server and returns once it answers ``PING``."""
        for _attempt in range(5):
            arguments = {
                "bind": "127.0.0.1",
                "port": str(self.port),
                "dir": str(self.directory),
                "appendonly": "yes",
                "appendfsync": self.appendfsync,
                "save": "",
                "daemonize": "no",
                "logfile": "redis.log",
            }
            options = [part for name, value in arguments.items() for part in (f"--{name}", value)]
            self._process = subprocess.Popen(
                [self.executable, *options],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            if self._wait_ready():
                self._fixed_port = self.port  # clients know it now: restarts keep it
                return
            if self._fixed_port is not None:
                break
            self.port = _free_port()  # taken meanwhile by someone else: another one
        log = self.directory / "redis.log"
        tail = log.read_text(errors="replace").splitlines()[-3:] if log.exists() else []
        raise RedisServerError(f"redis-server did not start on port {self.port}: {tail}")

    def _wait_ready(self) -> bool:
        process = self._process
        assert process is not None
        probe = redis.Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=1)
        pause = threading.Event()
        deadline = time.monotonic() + _READY_SECONDS
        try:
            while time.monotonic() < deadline:
                if process.poll() is not None:
                    self._process = None
                    return False
                try:
                    if probe.ping():
                        return True
                except redis.ConnectionError:  # not listening yet, or loading its AOF
                    pass
                pause.wait(0.01)
        finally:
            probe.close()
        self.stop(kill=True)
        return False

    def stop(self, *, kill: bool = False) -> None:
        """Stops the server: ``SIGTERM`` (it writes out its AOF), or ``SIGKILL`` with
        ``kill`` (what was acknowledged stays only as far as ``appendfsync`` made it)."""
        process, self._process = self._process, None
        if process is None:
            return
        if kill:
            process.kill()
        else:
            process.terminate()
        process.wait()

    def restart(self, *, kill: bool = False) -> None:
        """Stops the server and starts it again on the same port and directory."""
        self.stop(kill=kill)
        self.start()

    def close(self) -> None:
        """Stops the server and removes its directory if it made it."""
        self.stop()
        if self._temporary:
            shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> LocalRedis:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
