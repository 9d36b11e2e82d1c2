"""Wait out a Tor client that is down, so a restarted tor costs a crawl time instead of pages.

When tor's SocksPort refuses connections, every Tor request fails at once, and a retry
budget meant for flaky circuits is spent in seconds. Once Tor has answered in this crawl,
``TorClientWatch`` gives the requests that then find it down one shared wait instead (a
SocksPort that never answered is a configuration error, reported at once): it probes the SocksPort every
``poll_s`` seconds (and, once that answers, the client's bootstrap through its ControlPort
when one is configured, since a restarted client still has to rebuild its circuits), and
fires every waiter with True when Tor is usable again, or with False after ``max_wait_s``,
when the requests go back to the ordinary retries. The probes run in Twisted's thread pool.
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Callable
from typing import Any

from twisted.internet.defer import Deferred, succeed
from twisted.internet.threads import deferToThread

from crawlers.tor.manager import TorError

log = logging.getLogger(__name__)

#: The result of a ControlPort probe: tor's bootstrap status ({"progress", "summary", ...}).
BootstrapProbe = Callable[[], dict[str, Any]]


class TorClientWatch:
    """One Tor client's outages: who waits for it, since when, and whether it came back."""

    def __init__(self, socks: tuple[str, int], *, bootstrap: BootstrapProbe | None = None,
                 max_wait_s: float = 300.0, poll_s: float = 0.5, reactor: Any = None,
                 on_back: Callable[[float], None] | None = None):
        self.socks = socks
        self.bootstrap = bootstrap
        self.max_wait_s = max_wait_s
        self.poll_s = poll_s
        self.on_back = on_back
        self._reactor = reactor
        self._waiters: list[Deferred] = []
        self.down_since: float | None = None
        self.answered = False  # Tor carried a request since the crawl began or the last outage was given up
        self.outages = 0
        self._closed = False

    @property
    def where(self) -> str:
        return f"{self.socks[0]}:{self.socks[1]}"

    @property
    def reactor(self) -> Any:
        if self._reactor is None:
            from twisted.internet import reactor

            self._reactor = reactor
        return self._reactor

    def wait(self, why: str) -> Deferred:
        """A Deferred that fires with True once Tor answers (and has bootstrapped), or with False
        when it stayed down ``max_wait_s`` (and at once, until a Tor request gets through again)."""
        if not self.answered or self._closed:
            return succeed(False)
        waiter: Deferred = Deferred()
        self._waiters.append(waiter)
        if self.down_since is None:
            self.down_since = time.monotonic()
            self.outages += 1
            log.warning("Tor client down (%s): holding Tor requests until it answers again (at most %g s)",
                        why, self.max_wait_s)
            self._schedule(0)
        return waiter

    def succeeded(self) -> None:
        """A Tor request got an answer: Tor works, so a later refused SocksPort is an outage to wait out."""
        self.answered = True

    def close(self) -> None:
        """Release every waiter (False): the crawl is closing."""
        self._closed = True
        self._release(False)

    # ------------------------------------------------------------------

    def _schedule(self, delay: float) -> None:
        self.reactor.callLater(delay, self._tick)

    def _tick(self) -> None:
        if self._closed or self.down_since is None:
            return
        d = deferToThread(self.probe)
        d.addCallbacks(self._probed, lambda failure: self._probed(failure.getErrorMessage()))

    def probe(self) -> str | None:
        """None when Tor is usable, else why not (blocking: run it in a thread)."""
        try:
            socket.create_connection(self.socks, timeout=2).close()
        except OSError as exc:
            return f"SOCKS port {self.where}: {exc.strerror or exc}"
        if self.bootstrap is None:
            return None
        try:
            status = self.bootstrap()
        except TorError as exc:
            # Only the SocksPort is sure to matter: a ControlPort we cannot use must not stall the crawl.
            log.warning("Tor client answers on its SocksPort %s again, but its bootstrap cannot be read (%s): "
                        "resuming without waiting for it", self.where, exc)
            return None
        if status.get("progress") != 100:
            return f"bootstrapping: {status.get('progress')}% {status.get('summary')}"
        return None

    def _probed(self, why_not: str | None) -> None:
        if self.down_since is None:
            return
        down_s = time.monotonic() - self.down_since
        if why_not is None:
            log.warning("Tor client %s back after %.1f s: %d held requests go out again",
                        self.where, down_s, len(self._waiters))
            if self.on_back is not None:
                self.on_back(down_s)
            self._release(True)
        elif down_s >= self.max_wait_s:
            log.error("Tor client %s still unusable after %.0f s (%s): %d held requests go back to "
                      "their retries", self.where, down_s, why_not, len(self._waiters))
            self.answered = False
            self._release(False)
        else:
            self._schedule(self.poll_s)

    def _release(self, back: bool) -> None:
        waiters, self._waiters = self._waiters, []
        self.down_since = None
        for waiter in waiters:
            waiter.callback(back)
