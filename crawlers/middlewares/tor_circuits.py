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

It sits just below the retry middleware (560 > 550), so it sees every failure before the retry
is scheduled, and the retry, passing the Tor routing middleware again, takes the new key.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.http import Response
from twisted.internet.threads import deferToThread

from crawlers.middlewares.tor_route import CircuitBook, parse_socks, site_of

log = logging.getLogger(__name__)

FAILING_STATUSES = frozenset({502, 503, 504})


class TorCircuitRenewalMiddleware:
    def __init__(self, crawler: Crawler, renew_after: int, newnym_after: int, control: tuple[str, int] | None,
                 cookie: str | None, password: str | None):
        self.crawler = crawler
        self.book = CircuitBook.of(crawler)
        self.renew_after = max(1, renew_after)
        self.newnym_after = max(1, newnym_after)
        self.control, self.cookie, self.password = control, cookie, password
        self.failures: dict[str, int] = {}
        self.renewals: dict[str, int] = {}
        self._manager = None
        self._newnym_busy = False

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> TorCircuitRenewalMiddleware:
        s = crawler.settings
        mw = cls(crawler, s.getint("BRANDHOUND_TOR_RENEW_AFTER", 3), s.getint("BRANDHOUND_TOR_NEWNYM_AFTER", 2),
                 parse_socks(s.get("BRANDHOUND_TOR_CONTROL"), "BRANDHOUND_TOR_CONTROL"),
                 s.get("BRANDHOUND_TOR_CONTROL_COOKIE") or None, s.get("BRANDHOUND_TOR_CONTROL_PASSWORD") or None)
        crawler.signals.connect(mw.close, signal=signals.spider_closed)
        return mw

    def process_response(self, request: Request, response: Response) -> Response:
        if request.meta.get("tor"):
            if response.status in FAILING_STATUSES:
                self._failed(request, f"HTTP {response.status}")
            else:
                self._succeeded(request)
        return response

    def process_exception(self, request: Request, exception: BaseException) -> None:
        if request.meta.get("tor"):
            self._failed(request, f"{type(exception).__name__}: {exception}")
        return None

    # ------------------------------------------------------------------

    def _site(self, request: Request) -> str:
        return site_of(urlsplit(request.url).hostname or "")

    def _succeeded(self, request: Request) -> None:
        site = self._site(request)
        self.failures.pop(site, None)
        self.renewals.pop(site, None)

    def _failed(self, request: Request, why: str) -> None:
        site = self._site(request)
        self.failures[site] = self.failures.get(site, 0) + 1
        if self.failures[site] < self.renew_after:
            return
        self.failures[site] = 0
        generation = self.book.renew(site)
        self.renewals[site] = self.renewals.get(site, 0) + 1
        self.crawler.stats.inc_value("brandhound/tor/circuit_renewals")
        log.warning("%s failed %d times in a row (last: %s): new circuits for it (generation %d)",
                    site, self.renew_after, why[:200], generation)
        if self.renewals[site] >= self.newnym_after and self.control is not None and not self._newnym_busy:
            self.renewals[site] = 0
            self._newnym_busy = True
            d = deferToThread(self._newnym, site)
            d.addBoth(self._newnym_done)

    def _newnym(self, site: str) -> str:
        from crawlers.tor.manager import NewnymRateLimited, TorManager

        if self._manager is None:
            host, port = self.control  # type: ignore[misc]
            self._manager = TorManager.attach(port, host, password=self.password, cookie_path=self.cookie)
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
        if self._manager is not None:
            self._manager.close()
