"""brandhound's download handler: scrapy-playwright's, with three changes that a crawl feels.

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
"""

from __future__ import annotations

import asyncio
import weakref

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.http import Response
from scrapy_playwright.handler import ScrapyPlaywrightDownloadHandler


class KeepConnections:
    """For a subclass of Scrapy's HTTP/1.1 handler: keep ``BRANDHOUND_POOL_PER_HOST`` idle
    connections per host (point 3 above)."""

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
        return await super().download_request(request)

    async def close(self) -> None:
        # Scrapy closes the handler of each scheme: the shared one closes once, both calls wait for it.
        if self._closed is None:
            self._closed = asyncio.ensure_future(super().close())
        await asyncio.shield(self._closed)
