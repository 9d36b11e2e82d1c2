"""brandhound's download handler: scrapy-playwright's, with the changes that a crawl feels.

1. **One handler, one browser.** Scrapy builds a handler per scheme; scrapy-playwright's
   would start a Playwright driver and a Chromium for ``http`` and again for ``https``.
   :meth:`from_crawler` hands both schemes the crawler's one instance.
2. **The browser starts when a request needs it.** A crawl that renders nothing (most
   marketplace and paste crawls) never starts Chromium; the first browser request starts
   Playwright and the configured contexts, once, behind a lock.
3. **Connections are kept.** Twisted's pool keeps at most ``CONCURRENT_REQUESTS_PER_DOMAIN``
   idle connections per host, but a connection returns to the pool only after Scrapy has
   started the next request on that slot, which then opens a new one; at full concurrency
   every few responses one connection is closed and a new TCP connection, proxy tunnel and
   TLS handshake are paid for. ``BRANDHOUND_POOL_PER_HOST`` (default twice the per-domain
   concurrency) keeps enough: a quarter less CPU per page in ``bench/crawl.py``.
4. **Tor requests go over SOCKS5h.** A request with ``meta["tor"]`` (set by
   ``crawlers.middlewares.tor_route``) is sent through Tor's SocksPort with the host name
   given to Tor (``crawlers.tor.socks``), never resolved here, never through ``meta["proxy"]``.
   Scrapy's own response handling (timeouts, ``download_maxsize``, dataloss) is reused, and the
   shared pool keeps the connections, keyed by the SOCKS credentials (one circuit group each).
5. **The browser's connections pass the SSRF rules too.** Unless private addresses are
   allowed (the sandbox), Chromium's only proxy is ``crawlers.browser_egress``'s guard,
   started with the browser: redirects, frames and scripts' requests to internal addresses
   are refused there, which Playwright's request routing alone cannot do.
6. **A root crawl's browser runs as a user of its own**, sandboxed (``crawlers.browser_user``).
"""

from __future__ import annotations

import asyncio
import weakref
from typing import TYPE_CHECKING, Any

from scrapy import Request
from scrapy.core.downloader.handlers.http11 import _ScrapyAgent
from scrapy.crawler import Crawler
from scrapy.http import Response
from scrapy.utils._download_handlers import wrap_twisted_exceptions
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy_playwright.handler import ScrapyPlaywrightDownloadHandler

from crawlers.config import core_settings
from crawlers.browser_egress import BrowserEgressGuard
from crawlers.browser_user import own_user_launch_options
from crawlers.middlewares.ssrf import AddressPolicy
from crawlers.tor.socks import SocksAgent, SocksProxy

if TYPE_CHECKING:
    from twisted.web.client import HTTPConnectionPool


class TorRouteError(ValueError):
    """``meta["tor"]`` is malformed: the request is not sent at all."""


def socks_proxy_from_meta(tor: Any) -> SocksProxy:
    """``meta["tor"]`` ({"socks": (host, port), "username", "password"}) as a SocksProxy."""
    if not isinstance(tor, dict) or not tor.get("socks"):
        raise TorRouteError(f"meta['tor'] must be a dict with 'socks': (host, port), not {tor!r} "
                            "(is crawlers.middlewares.tor_route.TorRouteMiddleware enabled?)")
    host, port = tor["socks"]
    username, password = tor.get("username"), tor.get("password")
    return SocksProxy(str(host), int(port), None if username is None else str(username),
                      None if password is None else str(password))


class _TorScrapyAgent(_ScrapyAgent):
    """Scrapy's HTTP/1.1 download (timeouts, maxsize, dataloss, latency) over a SOCKS agent."""

    def __init__(self, *, socks: SocksProxy, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._socks = socks

    def _get_agent(self, request: Request, timeout: float) -> SocksAgent:
        from twisted.internet import reactor

        # meta["proxy"] and "bindaddress" are ignored: the only way out is Tor's SocksPort.
        return SocksAgent.through(reactor, self._socks, self._contextFactory, timeout=timeout, pool=self._pool)


class KeepConnections:
    """For a subclass of Scrapy's HTTP/1.1 handler: keep ``BRANDHOUND_POOL_PER_HOST`` idle
    connections per host (point 3 above)."""

    _pool: HTTPConnectionPool  # made by the HTTP/1.1 handler's __init__

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)  # type: ignore[call-arg]
        per_domain = crawler.settings.getint("CONCURRENT_REQUESTS_PER_DOMAIN")
        self._pool.maxPersistentPerHost = crawler.settings.getint("BRANDHOUND_POOL_PER_HOST", 2 * per_domain)


class BrandhoundDownloadHandler(KeepConnections, ScrapyPlaywrightDownloadHandler):
    lazy = False

    _per_crawler: weakref.WeakKeyDictionary[Crawler, BrandhoundDownloadHandler] = weakref.WeakKeyDictionary()

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self._launched: asyncio.Task | None = None
        self._closed: asyncio.Task | None = None
        self._browser_guard: BrowserEgressGuard | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> BrandhoundDownloadHandler:
        handler = cls._per_crawler.get(crawler)
        if handler is None:
            handler = cls._per_crawler[crawler] = cls(crawler)
        return handler

    async def _maybe_launch_in_thread(self) -> None:
        """Connected to ``engine_started`` by scrapy-playwright: the browser waits for its first request."""

    def _engine_started(self):  # the same, for Scrapy versions before the async handler API
        return None

    async def download_request(self, request: Request) -> Response:
        if request.meta.get("playwright"):
            if self._launched is None:
                self._launched = asyncio.ensure_future(self._launch())
            # shield: one request cancelled while Playwright starts must not cancel the start for all
            await asyncio.shield(self._launched)
        elif request.meta.get("tor"):
            return await self._download_over_tor(request)
        return await super().download_request(request)

    async def _launch(self) -> None:
        settings = self._crawler.settings
        if not settings.getbool("SSRF_ALLOW_PRIVATE"):
            # Chromium's every connection (redirects, frames, scripts' fetches) passes the SSRF rules.
            stats = self._crawler.stats
            self._browser_guard = BrowserEgressGuard(
                AddressPolicy.from_settings(settings), settings.get("BRANDHOUND_EGRESS_PROXY"),
                on_refused=lambda host, why: stats.inc_value("brandhound/ssrf_refused_in_browser"))
            proxy = await self._browser_guard.start()
            self.config.launch_options = {**self.config.launch_options, "proxy": {"server": proxy}}
        self.config.launch_options = own_user_launch_options(
            self.config.launch_options, settings.get("BRANDHOUND_BROWSER_USER"), core_settings(settings).home / "bin")
        await super()._launch()

    async def _download_over_tor(self, request: Request) -> Response:
        socks = socks_proxy_from_meta(request.meta["tor"])
        # Headers meant for an HTTP proxy never go to a site.
        request.headers.pop(b"Proxy-Authorization", None)
        agent = _TorScrapyAgent(
            socks=socks, contextFactory=self._contextFactory, pool=self._pool, maxsize=self._default_maxsize,
            warnsize=self._default_warnsize, fail_on_dataloss=self._fail_on_dataloss, crawler=self._crawler,
            tls_verbose_logging=self._tls_verbose_logging)
        with wrap_twisted_exceptions():
            return await maybe_deferred_to_future(agent.download_request(request))

    async def close(self) -> None:
        # Scrapy closes the handler of each scheme: the shared one closes once, both calls wait for it.
        if self._closed is None:
            self._closed = asyncio.ensure_future(self._close_all())
        await asyncio.shield(self._closed)

    async def _close_all(self) -> None:
        await super().close()
        if self._browser_guard is not None:
            await self._browser_guard.stop()
