"""Give an onion site new circuits when it keeps failing, and Tor a new identity when that is not enough.

A failing onion site is most often a broken circuit or a stale introduction point, not a
dead site. After ``BRANDHOUND_TOR_RENEW_AFTER`` consecutive failures of one site (connection
errors, timeouts, SOCKS errors, 502/503/504), its next requests use a new SOCKS isolation key,
so Tor builds them new circuits; other sites keep theirs. When a site still fails after
``BRANDHOUND_TOR_NEWNYM_AFTER`` renewals, and a ControlPort is configured
(``BRANDHOUND_TOR_CONTROL`` "host:port", with ``BRANDHOUND_TOR_CONTROL_COOKIE`` or
``BRANDHOUND_TOR_CONTROL_PASSWORD``), NEWNYM is sent through the Tor manager, which respects
Tor's rate limit (a limited NEWNYM is skipped and counted, never queued). Any success resets
the site's count.

A refused SocksPort is not the site's fault but the Tor client's: it is down or restarting.
Once Tor has carried a request in this crawl (before that, a refused SocksPort is a setup
error and fails at once), such a request is held (``crawlers.tor.outage.TorClientWatch``)
until the SocksPort answers again and, with a ControlPort, the client has bootstrapped; then
it goes back to the scheduler without spending a retry. After ``BRANDHOUND_TOR_OUTAGE_WAIT``
seconds (0: never hold) the held requests go on to the ordinary retries. Stats:
``brandhound/tor/client_outages``, ``brandhound/tor/requests_held``,
``brandhound/tor/client_down_seconds``.

It sits just below the retry middleware (560 > 550), so it sees every failure before the retry
is scheduled, and the retry, passing the Tor routing middleware again, takes the new key.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.http import Response
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.threads import deferToThread

from crawlers.middlewares.tor_route import CircuitBook, parse_socks, site_of
from crawlers.tor.outage import TorClientWatch
from crawlers.tor.socks import SocksProxyUnreachable, onion_service_failure

log = logging.getLogger(__name__)

FAILING_STATUSES = frozenset({502, 503, 504})
#: How often one request may be held for a Tor client outage before it takes its ordinary retries.
MAX_HOLDS = 3


class TorCircuitRenewalMiddleware:
    def __init__(self, crawler: Crawler, renew_after: int, newnym_after: int, control: tuple[str, int] | None,
                 cookie: str | None, password: str | None, socks: tuple[str, int] | None = None,
                 outage_wait_s: float = 300.0):
        self.crawler = crawler
        self.book = CircuitBook.of(crawler)
        self.renew_after = max(1, renew_after)
        self.newnym_after = max(1, newnym_after)
        self.control, self.cookie, self.password = control, cookie, password
        self.failures: dict[str, int] = {}
        self.renewals: dict[str, int] = {}
        self._manager = None if control is None else self._new_manager()
        self._newnym_busy = False
        self.watch = None if socks is None or outage_wait_s <= 0 else TorClientWatch(
            socks, bootstrap=self._bootstrap if control is not None else None, max_wait_s=outage_wait_s,
            # Scrapy's stats add any number; inc_value's annotation says int.
            on_back=lambda down_s: crawler.stats.inc_value("brandhound/tor/client_down_seconds", round(down_s, 1)))  # type: ignore[arg-type]

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> TorCircuitRenewalMiddleware:
        s = crawler.settings
        mw = cls(crawler, s.getint("BRANDHOUND_TOR_RENEW_AFTER", 3), s.getint("BRANDHOUND_TOR_NEWNYM_AFTER", 2),
                 parse_socks(s.get("BRANDHOUND_TOR_CONTROL"), "BRANDHOUND_TOR_CONTROL"),
                 s.get("BRANDHOUND_TOR_CONTROL_COOKIE") or None, s.get("BRANDHOUND_TOR_CONTROL_PASSWORD") or None,
                 parse_socks(s.get("BRANDHOUND_TOR_SOCKS")), s.getfloat("BRANDHOUND_TOR_OUTAGE_WAIT", 300.0))
        crawler.signals.connect(mw.close, signal=signals.spider_closed)
        return mw

    def process_response(self, request: Request, response: Response) -> Response:
        if request.meta.get("tor"):
            if self.watch is not None:
                self.watch.succeeded()  # any answer came through Tor
            if response.status in FAILING_STATUSES:
                self._failed(request, f"HTTP {response.status}")
            else:
                self._succeeded(request)
        return response

    def process_exception(self, request: Request, exception: BaseException):
        """None (the retry middleware takes over), or, when the Tor client is down, a coroutine
        that waits for it and then gives the scheduler the request again."""
        if not request.meta.get("tor"):
            return None
        holds = request.meta.get("tor_client_holds", 0)
        if (isinstance(exception, SocksProxyUnreachable) and self.watch is not None and self.watch.answered
                and holds < MAX_HOLDS):
            return self._hold(request, str(exception), holds)
        self._failed(request, f"{type(exception).__name__}: {exception}",
                     onion_state=onion_service_failure(exception) is not None)
        return None

    async def _hold(self, request: Request, why: str, holds: int) -> Request | None:
        self.crawler.stats.inc_value("brandhound/tor/requests_held")
        assert self.watch is not None, "requests are held only while a client watch runs"
        back = self.watch.wait(why)
        self.crawler.stats.set_value("brandhound/tor/client_outages", self.watch.outages)
        if not await maybe_deferred_to_future(back):
            return None
        # Not a retry: the site did nothing wrong, so its retry count and circuit failures stay as they are.
        again = request.replace(dont_filter=True)
        again.meta["tor_client_holds"] = holds + 1
        return again

    # ------------------------------------------------------------------

    def _site(self, request: Request) -> str:
        return site_of(urlsplit(request.url).hostname or "")

    def _succeeded(self, request: Request) -> None:
        site = self._site(request)
        self.failures.pop(site, None)
        self.renewals.pop(site, None)

    def _failed(self, request: Request, why: str, onion_state: bool = False) -> None:
        site = self._site(request)
        self.failures[site] = self.failures.get(site, 0) + 1
        # Scrapy logs retries at DEBUG: without this a crawl's log does not say why Tor failed (the SOCKS reply).
        log.info("%s failed (%d in a row): %s", request.url, self.failures[site], why[:300])
        if self.failures[site] < self.renew_after:
            return
        self.failures[site] = 0
        generation = self.book.renew(site)
        self.renewals[site] = self.renewals.get(site, 0) + 1
        self.crawler.stats.inc_value("brandhound/tor/circuit_renewals")
        log.warning("%s failed %d times in a row (last: %s): new circuits for it (generation %d)",
                    site, self.renew_after, why[:200], generation)
        # An onion-service reply (descriptor, introduction, rendezvous) comes from the client's shared
        # onion-service state, which new circuits keep: NEWNYM at once instead of after more renewals.
        if ((onion_state or self.renewals[site] >= self.newnym_after) and self.control is not None
                and not self._newnym_busy):
            self.renewals[site] = 0
            self._newnym_busy = True
            d = deferToThread(self._newnym, site)
            d.addBoth(self._newnym_done)

    def _new_manager(self):
        """The Tor manager of the configured ControlPort. It connects on first use, and again on the
        next use after a restarted tor dropped the connection (reading the new auth cookie)."""
        from crawlers.tor.manager import TorManager

        host, port = self.control  # type: ignore[misc]
        return TorManager(host, port, password=self.password, cookie_path=self.cookie)

    def _bootstrap(self) -> dict:
        assert self._manager is not None, "the watch bootstraps through the ControlPort only when there is one"
        return self._manager.bootstrap_status()

    def _newnym(self, site: str) -> str:
        from crawlers.tor.manager import NewnymRateLimited

        assert self._manager is not None, "NEWNYM is sent only when there is a ControlPort"
        try:
            self._manager.new_identity(wait=False)
        except NewnymRateLimited as exc:
            self.crawler.stats.inc_value("brandhound/tor/newnym_rate_limited")
            return f"NEWNYM for {site} skipped: {exc}"
        self.crawler.stats.inc_value("brandhound/tor/newnym")
        return f"{site} still failing on new circuits: sent NEWNYM"

    def _newnym_done(self, result) -> None:
        self._newnym_busy = False
        if hasattr(result, "getErrorMessage"):  # a Failure: the control port is unreachable or refuses us
            self.crawler.stats.inc_value("brandhound/tor/newnym_failed")
            log.warning("NEWNYM failed: %s", result.getErrorMessage())
        else:
            log.warning("%s", result)

    def close(self) -> None:
        if self.watch is not None:
            self.watch.close()
        if self._manager is not None:
            self._manager.close()
