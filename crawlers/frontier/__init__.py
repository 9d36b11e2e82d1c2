"""A crawl frontier shared by many worker processes through Redis, built on scrapy-redis.

One frontier per crawl (``FRONTIER_KEY``): one priority queue, one duplicate filter, per-domain
politeness slots, all in Redis, so N ``brandhound crawl`` processes on any number of machines
share the work, and a stopped crawl resumes where it was. Off unless ``FRONTIER_REDIS_URL`` is
set; :func:`frontier_settings` gives the Scrapy settings that turn it on.

- :mod:`crawlers.frontier.scheduler`: scrapy-redis's scheduler with *leases*: a popped request
  stays in its worker's lease until Scrapy has finished with it (callback, follow-up requests
  queued, items through every pipeline and flushed to Elasticsearch), so a killed worker's
  requests go back to the queue instead of being lost;
- :mod:`crawlers.frontier.dupefilter`: a Bloom filter in a Redis bitmap of fixed size;
- :mod:`crawlers.frontier.politeness`: per-domain concurrency and delay across all workers.
"""

from __future__ import annotations

from typing import Any

from brandhound.config import ConfigError

SCHEDULER = "crawlers.frontier.scheduler.FrontierScheduler"
DUPEFILTER = "crawlers.frontier.dupefilter.BloomDupeFilter"
POLITENESS_MIDDLEWARE = "crawlers.frontier.politeness.SharedDomainSlotsMiddleware"
#: Nearest the downloader: a slot is taken only when the request is really about to be sent.
POLITENESS_ORDER = 950


def frontier_settings(redis_url: str, key: str, base: dict[str, Any] | None = None) -> dict[str, Any]:
    """Scrapy settings that put a crawl on the shared frontier ``key`` at ``redis_url``.

    ``base`` is the DOWNLOADER_MIDDLEWARES dict to extend (default: brandhound's own).
    """
    if not redis_url.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigError(f"--frontier {redis_url!r}: expected a redis://HOST:PORT/DB URL")
    if not key or any(c.isspace() or c == "%" for c in key):
        raise ConfigError(f"--frontier-key {key!r}: expected a non-empty name without spaces or %")
    if base is None:
        from crawlers import settings as project

        base = project.DOWNLOADER_MIDDLEWARES
    return {
        "FRONTIER_REDIS_URL": redis_url,
        "FRONTIER_KEY": key,
        "REDIS_URL": redis_url,
        "SCHEDULER": SCHEDULER,
        "DUPEFILTER_CLASS": DUPEFILTER,
        "DOWNLOADER_MIDDLEWARES": {**base, POLITENESS_MIDDLEWARE: POLITENESS_ORDER},
    }
