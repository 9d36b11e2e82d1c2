"""A full disk under the evidence store or the spool stops the crawl, cleanly and once.

Nothing already acknowledged is lost: documents in Elasticsearch or durably in the spool stay;
the capture that could not be written is dropped with a clear message (its page is fetched again
by the next run), and the crawl closes with the reason ``disk_full`` instead of failing page after
page.
"""

from __future__ import annotations

import asyncio
import errno
import logging

from scrapy.crawler import Crawler

log = logging.getLogger(__name__)

FULL = frozenset({errno.ENOSPC, errno.EDQUOT})
REASON = "disk_full"


def is_disk_full(exc: BaseException) -> bool:
    """``exc`` (or what it was raised from) says the disk or the quota is full."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, OSError) and cause.errno in FULL:
            return True
        cause = cause.__cause__
    return False


def stop_crawl(crawler: Crawler, where: str, exc: BaseException) -> None:
    """Log once and close the spider with reason ``disk_full``."""
    crawler.stats.inc_value("brandhound/disk_full")
    if crawler.stats.get_value("brandhound/disk_full") > 1:
        return
    log.error("%s: %s. Stopping the crawl: what is indexed or spooled is kept; pages not stored yet are "
              "fetched again by the next run. Free space and start the crawl again.", where, exc)
    engine = crawler.engine
    if engine is not None:
        asyncio.ensure_future(engine.close_spider_async(reason=REASON))
