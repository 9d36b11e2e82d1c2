"""Scrapy's retry middleware, waiting before each retry instead of retrying at once.

A server that answers 429 or 503 is asking for time, and a failure that is a network's
(a broken Tor circuit, an onion service re-publishing its descriptor after an introduction
point died) takes seconds to minutes to heal: retries spent within a second of each other are
all lost. So the n-th retry of a request waits ``BRANDHOUND_RETRY_BACKOFF_S * 2 ** (n - 1)``
seconds, at most ``BRANDHOUND_RETRY_BACKOFF_MAX_S``, drawn between half that and all of it
(jitter, so that requests failing together do not come back together); a ``Retry-After`` the
server sent (seconds or an HTTP date) is honoured when longer, up to
``BRANDHOUND_RETRY_AFTER_MAX_S``. ``BRANDHOUND_RETRY_BACKOFF_S`` 0 retries at once, as Scrapy does.

The retry waits inside the downloader, before it goes back to the scheduler: it keeps its
place among ``CONCURRENT_REQUESTS``, so a site failing en masse slows the crawl down instead of
being hammered, and a crawl never finishes while a retry is still waiting (nothing is dropped).
Its SSRF check and Tor circuit are chosen when it is sent again, after the wait.
Stats: ``brandhound/retry/waits`` and ``brandhound/retry/wait_seconds``.
"""

from __future__ import annotations

import asyncio
import logging
import random
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.http import Response

log = logging.getLogger(__name__)


def retry_after_seconds(value: bytes | str | None, now: datetime | None = None) -> float | None:
    """A ``Retry-After`` header's wait in seconds (delay-seconds or an HTTP date), None when absent
    or unreadable."""
    if not value:
        return None
    text = (value.decode("latin-1") if isinstance(value, bytes) else value).strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - (now or datetime.now(timezone.utc))).total_seconds())


class BackoffRetryMiddleware(RetryMiddleware):
    def __init__(self, crawler: Crawler, rng: random.Random | None = None) -> None:
        super().__init__(crawler.settings)
        self.crawler = crawler
        settings = crawler.settings
        self.base_s = max(0.0, settings.getfloat("BRANDHOUND_RETRY_BACKOFF_S", 1.0))
        self.max_s = max(self.base_s, settings.getfloat("BRANDHOUND_RETRY_BACKOFF_MAX_S", 60.0))
        self.retry_after_max_s = max(0.0, settings.getfloat("BRANDHOUND_RETRY_AFTER_MAX_S", 120.0))
        self.rng = rng or random.Random()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> BackoffRetryMiddleware:
        return cls(crawler)

    def wait_for(self, retry: Request, retry_after: float | None = None) -> float:
        """Seconds the retry waits: its backoff with jitter, or the server's Retry-After when longer."""
        if not self.base_s:
            return 0.0
        attempt = max(1, int(retry.meta.get("retry_times", 1)))
        ceiling = min(self.max_s, self.base_s * 2 ** (attempt - 1))
        wait = self.rng.uniform(ceiling / 2, ceiling)
        if retry_after is not None:
            wait = max(wait, min(retry_after, self.retry_after_max_s))
        return wait

    # Scrapy runs coroutine middleware methods; its RetryMiddleware's annotations know only plain ones.
    async def process_response(self, request: Request, response: Response) -> Request | Response:  # type: ignore[override]
        result = super().process_response(request, response)
        if isinstance(result, Request):
            await self._wait(result, retry_after_seconds(response.headers.get(b"Retry-After")))
        return result

    async def process_exception(self, request: Request, exception: Exception) -> Request | Response | None:  # type: ignore[override]
        result = super().process_exception(request, exception)
        if isinstance(result, Request):
            await self._wait(result)
        return result

    async def _wait(self, retry: Request, retry_after: float | None = None) -> None:
        wait = self.wait_for(retry, retry_after)
        if wait <= 0:
            return
        stats = self.crawler.stats
        stats.inc_value("brandhound/retry/waits")
        # Scrapy's stats add any number; inc_value's annotation says int.
        stats.inc_value("brandhound/retry/wait_seconds", round(wait, 3))  # type: ignore[arg-type]
        log.debug("Retry %d of %s in %.1f s", retry.meta.get("retry_times", 1), retry.url, wait)
        await asyncio.sleep(wait)
