"""A Tor client controlled with stem: attach or launch, bootstrap, circuits, NEWNYM, health.

    with TorManager.attach(9051, cookie_path="/var/lib/tor/control_auth_cookie", socks_port=9050) as tor:
        tor.wait_bootstrapped(deadline_s=120)
        tor.circuits()          # [Circuit(id, status, path, purpose, socks_username, ...)]
        tor.new_identity()      # NEWNYM, within Tor's rate limit
        tor.health()            # JSON-able, for Airflow

Nothing here blocks without a bound: the control connection is opened with a connect
timeout, and every control-port command runs in a worker thread whose answer is awaited
for at most ``timeout`` seconds (stem's own calls wait forever for a reply); a command that
times out closes the connection, so the next call reconnects or reports it.
"""

from __future__ import annotations

import errno
import logging
import re
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import stem
import stem.connection
import stem.control
import stem.process
import stem.socket
from stem import Signal

# stem logs every control-socket hiccup at INFO ("peek of closed file" once per read of a dropped
# connection): in a crawl's log at INFO that drowns the SOCKS replies and circuit failures that
# say what went wrong. Its warnings still come through. (stem sets this logger's level when
# stem.util.log is imported, which the imports above did.)
logging.getLogger("stem").setLevel(logging.WARNING)

T = TypeVar("T")

DEFAULT_TOR = "/usr/bin/tor"
#: Tor accepts one NEWNYM per this many seconds (MAX_SIGNAL_NEWNYM_INTERVAL); sooner ones are delayed.
NEWNYM_INTERVAL = 10.0


class TorError(RuntimeError):
    """Tor could not be reached, controlled or started; the message names the port and the problem."""


class TorControlError(TorError):
    """The ControlPort is unreachable, refused our authentication or did not answer in time."""


class TorBootstrapTimeout(TorError):
    """Tor did not reach 100 % bootstrap before the deadline; ``status`` is the last phase seen."""

    def __init__(self, message: str, status: dict[str, Any]):
        super().__init__(message)
        self.status = status


class NewnymRateLimited(TorError):
    """NEWNYM was not sent because Tor's rate limit says wait ``wait_s`` more seconds."""

    def __init__(self, message: str, wait_s: float):
        super().__init__(message)
        self.wait_s = wait_s


@dataclass
class Circuit:
    id: str
    status: str
    path: list[dict[str, str | None]]  # [{"fingerprint", "nickname"}], guard first
    purpose: str | None
    build_flags: list[str] = field(default_factory=list)
    hs_state: str | None = None
    rend_query: str | None = None  # the onion address (no .onion) of an HS circuit, when Tor says
    socks_username: str | None = None
    socks_password: str | None = None
    created: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def parse_bootstrap(phase: str) -> dict[str, Any]:
    """``NOTICE BOOTSTRAP PROGRESS=100 TAG=done SUMMARY="Done"`` -> {"progress": 100, "tag": "done", ...}."""
    progress = re.search(r"PROGRESS=(\d+)", phase)
    tag = re.search(r"TAG=(\S+)", phase)
    summary = re.search(r'SUMMARY="([^"]*)"', phase)
    warning = re.search(r'WARNING="([^"]*)"', phase)
    return {"progress": int(progress.group(1)) if progress else None,
            "tag": tag.group(1) if tag else None,
            "summary": summary.group(1) if summary else phase,
            "warning": warning.group(1) if warning else None}


class _TimedControlPort(stem.socket.ControlPort):
    """stem's ControlPort with a connect timeout (stem connects without one)."""

    def __init__(self, address: str, port: int, connect_timeout: float):
        self._connect_timeout = connect_timeout
        super().__init__(address, port, connect=True)

    def _make_socket(self) -> socket.socket:
        try:
            sock = socket.create_connection((self.address, self.port), timeout=self._connect_timeout)
        except OSError as exc:
            raise stem.SocketError(exc) from exc
        sock.settimeout(None)  # stem's reader thread blocks on it; replies are bounded by TorManager._call
        return sock


def _socket_problem(exc: BaseException) -> str:
    cause = exc.__cause__ if exc.__cause__ is not None else exc
    if isinstance(cause, ConnectionRefusedError) or getattr(cause, "errno", None) == errno.ECONNREFUSED:
        return "connection refused — is tor running?"
    if isinstance(cause, (socket.timeout, TimeoutError)):
        return "no connection (timed out) — is the address right and tor running?"
    return f"{cause} — is tor running?"


class TorManager:
    """One Tor client, driven through its ControlPort (stem)."""

    def __init__(self, address: str, port: int, *, password: str | None = None, cookie_path: str | Path | None = None,
                 socks_port: int | None = None, timeout: float = 10.0, process: Any = None):
        self.address = address
        self.port = int(port)
        self.password = password
        self.cookie_path = str(cookie_path) if cookie_path else None
        self.timeout = float(timeout)
        self.process = process  # the tor we launched (subprocess.Popen), if any
        self._socks_port = socks_port
        self._controller: stem.control.Controller | None = None
        self._lock = threading.RLock()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tor-control")
        self.last_newnym: float | None = None  # time.time() of the last NEWNYM we sent
        self._last_newnym_mono: float | None = None
        self.last_error: str | None = None

    # ------------------------------------------------------------------ connecting

    @property
    def where(self) -> str:
        return f"Tor control port {self.address}:{self.port}"

    @classmethod
    def attach(cls, port: int = 9051, address: str = "127.0.0.1", *, password: str | None = None,
               cookie_path: str | Path | None = None, socks_port: int | None = None,
               timeout: float = 10.0) -> TorManager:
        """Control an already running tor. Authenticates now (cookie file, password, or whatever tor
        offers); raises TorControlError saying what is wrong."""
        manager = cls(address, port, password=password, cookie_path=cookie_path, socks_port=socks_port, timeout=timeout)
        manager.controller()
        return manager

    @classmethod
    def launch(cls, data_dir: str | Path, *, socks_port: int, control_port: int, tor_cmd: str = DEFAULT_TOR,
               config: dict[str, str | list[str]] | None = None, timeout: float = 10.0,
               start_timeout: float = 60.0) -> TorManager:
        """Start a tor of our own (``stem.process.launch_tor_with_config``) with a SocksPort and a
        cookie-authenticated ControlPort on 127.0.0.1, and attach to it. Returns once the ControlPort
        answers; call ``wait_bootstrapped`` for the rest. ``config`` adds torrc options (e.g. the
        sandbox network's ``DirAuthority`` lines)."""
        data_dir = Path(data_dir).resolve()
        data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        cookie = data_dir / "control_auth_cookie"
        torrc: dict[str, str | list[str]] = {
            "DataDirectory": str(data_dir),
            "SocksPort": f"127.0.0.1:{socks_port} IsolateSOCKSAuth ExtendedErrors",
            "ControlPort": f"127.0.0.1:{control_port}",
            "CookieAuthentication": "1",
            "CookieAuthFile": str(cookie),
            "Log": "notice stdout",
            **(config or {}),
        }
        started = time.monotonic()
        try:
            # completion_percent=0: return at tor's first "Bootstrapped 0%" line (listeners are open by
            # then); bootstrap progress is then read over the ControlPort with our own deadline.
            # stem's timeout needs the main thread (SIGALRM); without it a tor that exits still ends the wait.
            main = threading.current_thread() is threading.main_thread()
            process = stem.process.launch_tor_with_config(
                config=torrc, tor_cmd=tor_cmd, completion_percent=0,
                timeout=start_timeout if main else None, take_ownership=False)
        except OSError as exc:
            raise TorError(f"could not start {tor_cmd} (ControlPort 127.0.0.1:{control_port}, "
                           f"SocksPort 127.0.0.1:{socks_port}): {exc}") from exc
        manager = cls("127.0.0.1", control_port, cookie_path=cookie, socks_port=socks_port, timeout=timeout,
                      process=process)
        deadline = started + start_timeout
        while True:
            try:
                manager.controller()
                return manager
            except TorControlError:
                if process.poll() is not None:
                    raise TorError(f"{tor_cmd} exited with status {process.returncode} while starting") from None
                if time.monotonic() > deadline:
                    manager.close()
                    raise
                time.sleep(0.1)

    def controller(self) -> stem.control.Controller:
        """The authenticated controller, (re)connected when needed."""
        with self._lock:
            if self._controller is not None and self._controller.is_alive():
                return self._controller
            if self._controller is not None:
                self._controller.close()
                self._controller = None
            try:
                control_socket = _TimedControlPort(self.address, self.port, self.timeout)
            except stem.SocketError as exc:
                self.last_error = f"{self.where}: {_socket_problem(exc)}"
                raise TorControlError(self.last_error) from exc
            ctl = stem.control.Controller(control_socket)
            try:
                self._bounded(lambda: self._authenticate(ctl), "authentication")
            except BaseException:
                ctl.close()
                raise
            self._controller = ctl
            return ctl

    def _authenticate(self, ctl: stem.control.Controller) -> None:
        try:
            if self.cookie_path:
                try:
                    stem.connection.authenticate_cookie(ctl, self.cookie_path)
                    return
                except stem.connection.AuthenticationFailure:
                    if not self.password:
                        raise
            stem.connection.authenticate(ctl, password=self.password)
        except stem.connection.MissingPassword:
            raise TorControlError(f"{self.where}: tor wants a control password and none was given") from None
        except stem.connection.PasswordAuthFailed as exc:
            raise TorControlError(f"{self.where}: password authentication failed ({exc})") from None
        except stem.connection.UnreadableCookieFile as exc:
            raise TorControlError(f"{self.where}: cannot read the auth cookie {exc.cookie_path} "
                                  f"(permissions? another tor's DataDirectory?)") from None
        except stem.connection.CookieAuthFailed as exc:
            raise TorControlError(f"{self.where}: cookie authentication failed with {exc.cookie_path} "
                                  f"({exc}) — is it this tor's cookie file?") from None
        except stem.connection.AuthenticationFailure as exc:
            raise TorControlError(f"{self.where}: authentication failed ({exc})") from None

    def _bounded(self, fn: Callable[[], T], what: str) -> T:
        """Run one control-port exchange in the worker thread; give up after ``self.timeout`` seconds."""
        future = self._pool.submit(fn)
        try:
            return future.result(timeout=self.timeout)
        except FutureTimeout:
            self.last_error = f"{self.where}: no answer to {what} within {self.timeout:g} s"
            with self._lock:
                ctl, self._controller = self._controller, None
            if ctl is not None:
                ctl.close()  # unblocks the worker: stem fails the pending request once its socket closes
            raise TorControlError(self.last_error) from None
        except TorError as exc:
            self.last_error = str(exc)
            raise
        except (stem.SocketError, stem.SocketClosed) as exc:
            self.last_error = f"{self.where}: connection lost during {what} ({exc or type(exc).__name__}) — is tor running?"
            raise TorControlError(self.last_error) from exc
        except stem.ControllerError as exc:
            self.last_error = f"{self.where}: {what} failed: {exc}"
            raise TorControlError(self.last_error) from exc

    def _call(self, what: str, fn: Callable[[stem.control.Controller], T]) -> T:
        ctl = self.controller()
        return self._bounded(lambda: fn(ctl), what)

    # ------------------------------------------------------------------ state

    def bootstrap_status(self) -> dict[str, Any]:
        """{"progress": 0..100, "tag", "summary", "warning"} from ``GETINFO status/bootstrap-phase``."""
        return parse_bootstrap(self._call("GETINFO status/bootstrap-phase",
                                          lambda c: c.get_info("status/bootstrap-phase")))

    def wait_bootstrapped(self, deadline_s: float = 120.0, poll_s: float = 0.25) -> dict[str, Any]:
        """Poll the bootstrap phase until PROGRESS=100 or the deadline; raises TorBootstrapTimeout
        with the last phase (and tor's warning, if it gave one)."""
        deadline = time.monotonic() + deadline_s
        status: dict[str, Any] = {"progress": None, "summary": "not asked yet"}
        while True:
            try:
                status = self.bootstrap_status()
            except TorControlError as exc:
                if self.process is not None and self.process.poll() is not None:
                    raise TorError(f"tor (pid {self.process.pid}) exited with status {self.process.returncode}") from exc
                status = {"progress": None, "summary": str(exc)}
            if status.get("progress") == 100:
                return status
            if time.monotonic() >= deadline:
                warning = f"; tor warns: {status['warning']}" if status.get("warning") else ""
                raise TorBootstrapTimeout(
                    f"{self.where}: tor did not bootstrap within {deadline_s:g} s: "
                    f"{status.get('progress')}% {status.get('summary')}{warning}", status)
            time.sleep(min(poll_s, max(0.0, deadline - time.monotonic())))

    @property
    def socks_port(self) -> int | None:
        """The configured SocksPort, or the first one tor listens on (``GETINFO net/listeners/socks``)."""
        if self._socks_port is None:
            listeners = self._call("GETINFO net/listeners/socks",
                                   lambda c: c.get_listeners(stem.control.Listener.SOCKS))
            if listeners:
                self._socks_port = int(listeners[0][1])
        return self._socks_port

    def circuits(self) -> list[Circuit]:
        """Tor's circuits (``GETINFO circuit-status``), with the SOCKS username that isolates each."""
        events = self._call("GETINFO circuit-status", lambda c: c.get_circuits())
        return [Circuit(
            id=str(e.id), status=str(e.status), purpose=e.purpose,
            path=[{"fingerprint": fp, "nickname": nick} for fp, nick in (e.path or [])],
            build_flags=[str(f) for f in (e.build_flags or [])], hs_state=e.hs_state, rend_query=e.rend_query,
            socks_username=getattr(e, "socks_username", None), socks_password=getattr(e, "socks_password", None),
            created=e.created.isoformat() if getattr(e, "created", None) else None,
        ) for e in events]

    def streams(self) -> list[dict[str, Any]]:
        """Open streams: id, status, circuit id, target, our source address."""
        events = self._call("GETINFO stream-status", lambda c: c.get_streams())
        return [{"id": e.id, "status": e.status, "circ_id": e.circ_id, "target": e.target,
                 "source_addr": e.source_addr, "purpose": e.purpose} for e in events]

    # ------------------------------------------------------------------ NEWNYM

    def newnym_wait(self) -> float:
        """Seconds until Tor accepts another NEWNYM (0.0: now): stem's count for its controller, and
        ours across reconnections."""
        stem_wait = float(self._call("NEWNYM rate limit",
                                     lambda c: 0.0 if c.is_newnym_available() else c.get_newnym_wait()))
        ours = 0.0 if self._last_newnym_mono is None else NEWNYM_INTERVAL - (time.monotonic() - self._last_newnym_mono)
        return max(0.0, stem_wait, ours)

    def new_identity(self, *, wait: bool = True, max_wait_s: float = 15.0) -> dict[str, Any]:
        """Send NEWNYM (new circuits for new streams; clears Tor's onion-service client caches).

        Never sends while Tor's rate limit is in force (Tor would drop it silently). With
        ``wait`` it waits up to ``max_wait_s`` for the limit to pass; otherwise, or when the wait
        would be longer, raises NewnymRateLimited with ``wait_s``. Returns {"sent", "waited_s", "at"}."""
        remaining = self.newnym_wait()
        waited = 0.0
        if remaining > 0:
            if not wait or remaining > max_wait_s:
                raise NewnymRateLimited(f"{self.where}: NEWNYM rate limited, retry in {remaining:.1f} s", remaining)
            deadline = time.monotonic() + max_wait_s
            t0 = time.monotonic()
            while remaining > 0:
                if time.monotonic() > deadline:
                    raise NewnymRateLimited(f"{self.where}: NEWNYM still rate limited after {max_wait_s:g} s", remaining)
                time.sleep(min(remaining, max(0.05, deadline - time.monotonic())))
                remaining = self.newnym_wait()
            waited = time.monotonic() - t0
        self._call("SIGNAL NEWNYM", lambda c: c.signal(Signal.NEWNYM))
        self.last_newnym = time.time()
        self._last_newnym_mono = time.monotonic()
        return {"sent": True, "waited_s": round(waited, 3), "at": self.last_newnym}

    # ------------------------------------------------------------------ health

    def health(self) -> dict[str, Any]:
        """A JSON-able summary for DAGs and dashboards; never raises for Tor's own failures."""
        report: dict[str, Any] = {
            "control": f"{self.address}:{self.port}", "reachable": False, "bootstrap_progress": None,
            "bootstrap_summary": None, "circuits_established": None, "socks_port": self._socks_port,
            "last_newnym": self.last_newnym, "newnym_wait_s": None, "version": None, "error": None,
            "pid": self.process.pid if self.process is not None else None,
        }
        try:
            boot = self.bootstrap_status()
            report.update(reachable=True, bootstrap_progress=boot["progress"], bootstrap_summary=boot["summary"])
            report["version"] = str(self._call("GETINFO version", lambda c: c.get_version()))
            report["circuits_established"] = sum(c.status == "BUILT" for c in self.circuits())
            report["socks_port"] = self.socks_port
            report["newnym_wait_s"] = self.newnym_wait()
        except TorError as exc:
            report["error"] = str(exc)
        return report

    # ------------------------------------------------------------------ lifecycle

    def close(self) -> None:
        """Close the control connection; stop the tor we launched (never one we attached to)."""
        with self._lock:
            ctl, self._controller = self._controller, None
        if ctl is not None:
            ctl.close()
        self._pool.shutdown(wait=False, cancel_futures=True)
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except Exception:  # noqa: BLE001
                self.process.kill()
                self.process.wait(timeout=5)

    def __enter__(self) -> TorManager:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
