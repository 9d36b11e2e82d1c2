"""brandhound's download handler: one per crawler, a pool that keeps its connections, a lazy browser."""

from __future__ import annotations

from scrapy.core.downloader.handlers import DownloadHandlers
from scrapy.utils.test import get_crawler

import crawlers.settings as project
from crawlers.download_handler import BrandhoundDownloadHandler


def crawler_with(**settings):
    base = {k: getattr(project, k) for k in ("DOWNLOAD_HANDLERS", "TWISTED_REACTOR", "CONCURRENT_REQUESTS_PER_DOMAIN")}
    return get_crawler(settings_dict={**base, **settings})


def test_http_and_https_share_one_handler():
    crawler = crawler_with()
    handlers = DownloadHandlers(crawler)
    http, https = handlers._get_handler("http"), handlers._get_handler("https")
    assert isinstance(http, BrandhoundDownloadHandler)
    assert http is https
    assert BrandhoundDownloadHandler.from_crawler(crawler_with()) is not http  # another crawler, another handler


def test_the_pool_keeps_twice_the_per_domain_concurrency_unless_configured():
    assert BrandhoundDownloadHandler.from_crawler(crawler_with(CONCURRENT_REQUESTS_PER_DOMAIN=6))._pool.maxPersistentPerHost == 12
    handler = BrandhoundDownloadHandler.from_crawler(crawler_with(BRANDHOUND_POOL_PER_HOST=3))
    assert handler._pool.maxPersistentPerHost == 3


def test_engine_start_does_not_launch_the_browser():
    handler = BrandhoundDownloadHandler.from_crawler(crawler_with())
    assert handler._launched is None
    assert not hasattr(handler, "browser_provider")
