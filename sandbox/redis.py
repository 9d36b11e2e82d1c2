"""A throwaway Redis server on 127.0.0.1 for tests and benchmarks: Debian's ``redis-server``.

``RedisServer(dir).start()`` runs one on a free port with its data (an append-only file, so a
frontier survives a restart of the server too) under ``dir``, polls PING until it answers
within a deadline, and ``stop()`` shuts it down. A missing binary is an error that says so.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
from pathlib import Path

from sandbox.processes import free_port as _free_port
from sandbox.processes import start_process, terminate
from sandbox.processes import SandboxError


class RedisServerError(SandboxError):
    """Redis could not be started; the message says why."""


class RedisServer:
    """One ``redis-server`` process bound to 127.0.0.1, its files under ``directory``."""

    def __init__(self, directory: str | Path, port: int | None = None, binary: str = "redis-server"):
        self.directory = Path(directory)
        self.port = port or _free_port()
        self.binary = binary
        self._proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, deadline_s: float = 20.0) -> RedisServer:
        path = shutil.which(self.binary)
        if path is None:
            raise RedisServerError(f"{self.binary} not found on PATH: install Debian's redis-server package")
        self.directory.mkdir(parents=True, exist_ok=True)
        log = self.directory / "redis.log"
        self._proc = start_process(
            [path, "--bind", "127.0.0.1", "--port", str(self.port), "--dir", str(self.directory),
             "--appendonly", "yes", "--save", "", "--protected-mode", "yes", "--logfile", str(log)],
            what=f"redis-server on port {self.port}", log=self.directory / "redis.out", ready=self.ping,
            deadline_s=deadline_s, stop=terminate)
        return self

    def ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as conn:
                conn.sendall(b"PING\r\n")
                return conn.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self, deadline_s: float = 10.0) -> None:
        if self._proc is not None:
            terminate(self._proc, deadline_s)

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
