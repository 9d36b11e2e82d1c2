"""One lifecycle for the local servers the sandbox starts: spawn detached, wait until ready, stop.

The sandbox web, the onion sites, the CT logs, the Tor network and the throw-away Redis all
start a child that outlives the call, record its pid, poll it until it answers (with a
deadline, never a fixed sleep) and stop it with SIGTERM, then SIGKILL. They share this module
so a fix to any of those steps reaches every daemon, and every failure is one
:class:`SandboxError` carrying the end of the child's log.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]

#: Servers started by this process, so their exit status is collected (no zombies).
children: dict[int, subprocess.Popen] = {}


class SandboxError(RuntimeError):
    """A sandbox server could not be started or stopped; the message says which and why."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 nothing listens on now (the OS picks it)."""
    return free_ports(1)[0]


def free_ports(n: int) -> list[int]:
    """``n`` distinct free ports, held open together while chosen so none is handed out twice."""
    sockets = [socket.socket() for _ in range(n)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def port_free(port: int) -> bool:
    """Nothing is bound to ``127.0.0.1:port``."""
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


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


#: How often a start-up's progress is reported while it waits (seconds; the log is read each time).
PROGRESS_EVERY = 0.5


def last_log_line(log: Path, max_bytes: int = 4096) -> str:
    """The last non-empty line of a child's log (from its last ``max_bytes``), for a progress line."""
    try:
        with open(log, "rb") as fh:
            fh.seek(0, 2)
            fh.seek(max(0, fh.tell() - max_bytes))
            lines = [line.strip() for line in fh.read().decode("utf-8", "replace").splitlines()]
    except OSError:
        return ""
    return next((line for line in reversed(lines) if line), "")


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


def python_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment a child ``python -m sandbox...`` needs: ours, with the repository importable, and ``extra``."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    env.update(extra or {})
    return env


def start_module(module: str, args: Sequence[str], *, what: str, log: Path, pid_file: Path,
                 ready: Callable[[], object], deadline_s: float,
                 progress: Callable[[str], object] | None = None) -> subprocess.Popen:
    """Start ``python -m module args`` detached, record its pid and wait until ``ready()`` is true.

    Raises :class:`SandboxError` with the log's end if the child exits first or is not ready
    within ``deadline_s`` (then it is stopped, not left half-started).
    """
    def stop(proc: subprocess.Popen) -> None:
        stop_module(pid_file, module)

    return start_process([sys.executable, "-m", module, *args], what=what, log=log, pid_file=pid_file,
                         ready=ready, deadline_s=deadline_s, stop=stop, detached=True, progress=progress)


def start_process(argv: Sequence[str], *, what: str, log: Path, ready: Callable[[], object], deadline_s: float,
                  stop: Callable[[subprocess.Popen], None], pid_file: Path | None = None,
                  detached: bool = False, progress: Callable[[str], object] | None = None,
                  env: dict[str, str] | None = None) -> subprocess.Popen:
    """Start ``argv`` with its output appended to ``log`` and wait until ``ready()`` is true.

    ``detached`` children get their own session, so they outlive the caller's terminal; the
    others (a test's throw-away server) die with it. ``stop`` is called on a child that is not
    ready in time, before :class:`SandboxError` is raised. While it waits, ``progress`` (a progress line's
    ``update``) is told what starts, for how long, and the child's latest log line. ``env`` is added
    to :func:`python_env`'s.
    """
    with open(log, "ab") as log_file:
        proc = subprocess.Popen(list(argv), stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT,
                                cwd=REPO_ROOT, env=python_env(env), start_new_session=detached)
    children[proc.pid] = proc
    if pid_file is not None:
        pid_file.write_text(f"{proc.pid}\n")
    started = time.monotonic()
    deadline = started + deadline_s
    next_report = started
    while not ready():
        if progress is not None and time.monotonic() >= next_report:
            next_report = time.monotonic() + PROGRESS_EVERY
            progress(f"{what}: {time.monotonic() - started:.1f} s  {last_log_line(log)}")
        if proc.poll() is not None:
            if pid_file is not None:
                pid_file.unlink(missing_ok=True)
            raise SandboxError(f"{what} exited with status {proc.returncode}:\n{log_tail(log)}")
        if time.monotonic() > deadline:
            stop(proc)
            raise SandboxError(f"{what} was not ready within {deadline_s:.0f} s:\n{log_tail(log)}")
        time.sleep(0.05)
    return proc


def terminate(proc: subprocess.Popen, deadline_s: float = 10.0) -> None:
    """Stop a child we hold: SIGTERM, then SIGKILL once ``deadline_s`` has passed."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=deadline_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    children.pop(proc.pid, None)


def stop_module(pid_file: Path, module: str, deadline_s: float = 5.0) -> bool:
    """Stop the ``python -m module`` server whose pid ``pid_file`` holds; True if one was running.

    A pid that now belongs to another program (reused after a reboot) is left alone.
    """
    pid = read_pid(pid_file)
    if pid is None or not runs_module(pid, module):
        pid_file.unlink(missing_ok=True)
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + deadline_s
    while runs_module(pid, module) and time.monotonic() < deadline:
        reap(pid)
        time.sleep(0.05)
    if runs_module(pid, module):
        os.kill(pid, signal.SIGKILL)
    reap(pid, wait=True)
    pid_file.unlink(missing_ok=True)
    return True
