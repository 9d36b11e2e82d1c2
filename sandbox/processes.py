"""What the sandbox daemons share about the detached servers they start."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

#: Servers started by this process, so their exit status is collected (no zombies).
children: dict[int, subprocess.Popen] = {}


def reap(pid: int, wait: bool = False) -> None:
    """Collect the exit status of a server we started ourselves, so it does not linger as a zombie."""
    proc = children.get(pid)
    if proc is None:
        return
    try:
        proc.wait(timeout=2 if wait else 0)
        children.pop(pid, None)
    except subprocess.TimeoutExpired:
        pass


def log_tail(log: Path, lines: int = 40) -> str:
    """The end of a server's log, for error messages."""
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def read_pid(pid_file: Path) -> int | None:
    try:
        return int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return None


def cmdline(pid: int) -> bytes:
    """The process's command line, NUL-separated; empty when it is gone."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def runs_module(pid: int, module: str) -> bool:
    """True if ``pid`` is alive and runs ``python -m module`` (not a reused pid, not a zombie)."""
    return module.encode() in cmdline(pid)


def port_open(port: int, timeout: float = 0.5) -> bool:
    """Something accepts connections on ``127.0.0.1:port``."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout):
            return True
    except OSError:
        return False
