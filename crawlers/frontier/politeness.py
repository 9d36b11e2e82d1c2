"""Per-domain politeness across every worker of a frontier: shared slots and delay in Redis.

Each worker's Scrapy limits its own concurrency per domain; N workers would multiply it by N.
Before a request is sent, this middleware takes one of the domain's ``FRONTIER_DOMAIN_CONCURRENCY``
slots (default: ``CONCURRENT_REQUESTS_PER_DOMAIN``), waiting while all are taken or while the
domain's ``FRONTIER_DOMAIN_DELAY`` since the last request has not passed, and gives it back with
the response or the error. A slot is a member of a sorted set scored by its expiry (the download
timeout plus a margin), so a killed worker's slots free themselves.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from urllib.parse import urlsplit

from scrapy import Request
from scrapy_redis.connection import get_redis_from_settings

from crawlers.frontier.keys import FrontierKeys

_ACQUIRE = """
local now = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local next_at = tonumber(redis.call('GET', KEYS[2]) or '0')
if next_at > now then return next_at - now end
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then
  local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return math.max(1, math.min(tonumber(ARGV[5]), tonumber(first[2]) - now))
end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[4])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]))
if tonumber(ARGV[6]) > 0 then redis.call('SET', KEYS[2], now + tonumber(ARGV[6]), 'PX', tonumber(ARGV[6])) end
return 0
"""

META_KEY = "frontier_domain_slot"


class SharedDomainSlotsMiddleware:
    """Downloader middleware: one shared concurrency and delay budget per domain for all workers."""

    #: Longest single wait before asking again (ms): a slot freed early is noticed soon.
    POLL_MS = 50

    def __init__(self, server, keys: FrontierKeys, concurrency: int, delay_s: float, slot_ttl_s: float):
        if concurrency < 1:
            raise ValueError(f"FRONTIER_DOMAIN_CONCURRENCY {concurrency}: must be at least 1")
        self.server, self.keys = server, keys
        self.concurrency, self.delay_ms, self.slot_ttl_ms = concurrency, int(delay_s * 1000), int(slot_ttl_s * 1000)
        self._acquire = server.register_script(_ACQUIRE)

    @classmethod
    def from_crawler(cls, crawler) -> SharedDomainSlotsMiddleware:
        s = crawler.settings
        concurrency = s.getint("FRONTIER_DOMAIN_CONCURRENCY") or s.getint("CONCURRENT_REQUESTS_PER_DOMAIN")
        return cls(get_redis_from_settings(s), FrontierKeys(s.get("FRONTIER_KEY")), concurrency,
                   s.getfloat("FRONTIER_DOMAIN_DELAY"), s.getfloat("DOWNLOAD_TIMEOUT") + 5)

    @staticmethod
    def domain_of(request: Request) -> str:
        return (urlsplit(request.url).hostname or "").lower()

    def try_acquire(self, domain: str, token: str) -> int:
        """0 when the slot is ours, else milliseconds to wait before asking again."""
        now = int(time.time() * 1000)
        keys = [self.keys.domain_slots(domain), self.keys.domain_next(domain)]
        args = [now, self.slot_ttl_ms, self.concurrency, token, self.POLL_MS, self.delay_ms]
        return int(self._acquire(keys=keys, args=args))

    def release(self, request: Request) -> None:
        token = request.meta.pop(META_KEY, None)
        if token:
            self.server.zrem(self.keys.domain_slots(self.domain_of(request)), token)

    async def process_request(self, request: Request) -> None:
        domain = self.domain_of(request)
        if not domain:
            return None
        self.release(request)  # a retried or redirected copy carries its parent's token
        token = uuid.uuid4().hex
        while (wait_ms := self.try_acquire(domain, token)) > 0:
            await asyncio.sleep(min(wait_ms, self.POLL_MS) / 1000)
        request.meta[META_KEY] = token
        return None

    def process_response(self, request: Request, response):
        self.release(request)
        return response

    def process_exception(self, request: Request, exception: Exception) -> None:
        self.release(request)
        return None
