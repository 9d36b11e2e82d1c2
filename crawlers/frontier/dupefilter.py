"""scrapy-redis's duplicate filter with a Bloom filter instead of an ever-growing set."""

from __future__ import annotations

import logging

from scrapy import Request
from scrapy_redis.connection import get_redis_from_settings
from scrapy_redis.dupefilter import RFPDupeFilter

from crawlers.frontier.bloom import BloomSize, RedisBloom
from crawlers.frontier.keys import FrontierKeys

log = logging.getLogger(__name__)


class BloomDupeFilter(RFPDupeFilter):
    """Seen-request test of one frontier, shared by all its workers, in bounded memory.

    Fingerprints are Scrapy's own (the crawler's request fingerprinter), so the filter agrees
    with what the rest of Scrapy calls the same request. Settings: ``FRONTIER_BLOOM_CAPACITY``,
    ``FRONTIER_BLOOM_ERROR_RATE`` (see :mod:`crawlers.frontier.bloom` for the memory they cost).
    """

    def __init__(self, server, keys: FrontierKeys, size: BloomSize, fingerprinter, debug: bool = False):
        super().__init__(server, key=keys.bloom, debug=debug)
        self.bloom = RedisBloom(server, keys.bloom, keys.bloom_count, size)
        self.fingerprinter = fingerprinter
        self._warned_full = False

    @classmethod
    def from_crawler(cls, crawler) -> BloomDupeFilter:
        s = crawler.settings
        size = BloomSize(s.getint("FRONTIER_BLOOM_CAPACITY"), s.getfloat("FRONTIER_BLOOM_ERROR_RATE"))
        return cls(get_redis_from_settings(s), FrontierKeys(s.get("FRONTIER_KEY")), size,
                   crawler.request_fingerprinter, debug=s.getbool("DUPEFILTER_DEBUG"))

    @classmethod
    def from_spider(cls, spider) -> BloomDupeFilter:
        return cls.from_crawler(spider.crawler)

    def request_seen(self, request: Request) -> bool:
        new = self.bloom.add(self.fingerprinter.fingerprint(request))
        if new and not self._warned_full and self.bloom.count() > self.bloom.size.capacity:
            self._warned_full = True
            log.warning("frontier duplicate filter holds more than its capacity of %d requests; its false-positive "
                        "rate is now above %g (raise FRONTIER_BLOOM_CAPACITY for the next crawl)",
                        self.bloom.size.capacity, self.bloom.size.error_rate)
        return not new

    def close(self, reason: str = "") -> None:
        """Kept: the frontier outlives a worker (scrapy-redis's filter deletes itself here)."""

    def clear(self) -> None:
        self.bloom.clear()
