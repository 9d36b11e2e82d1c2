"""Index every capture's documents through brandhound's store.

Documents are buffered and sent in bulk from a worker thread, so the crawl
never waits on Elasticsearch; while Elasticsearch is unreachable they go to
the spool (``BRANDHOUND_SPOOL_DIR/crawl-<spider>``) and are replayed by the
next flush or the next run. Counts land in the crawl stats.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from scrapy.crawler import Crawler
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.threads import deferToThread

from brandhound import cluster
from brandhound.config import load_settings
from brandhound.store import Store, open_store
from crawlers.items import Capture

log = logging.getLogger(__name__)


class ElasticsearchPipeline:
    def __init__(self, crawler: Crawler, store: Store):
        self.crawler = crawler
        self.store = store
        self._flushing = False

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ElasticsearchPipeline:
        settings = load_settings()
        prefix = crawler.settings.get("BRANDHOUND_ES_INDEX_PREFIX") or settings.es.index_prefix
        settings = replace(settings, es=replace(settings.es, index_prefix=prefix))
        spool_dir = settings.spool_dir / f"crawl-{crawler.spidercls.name}"
        store = open_store(settings, spool_dir=spool_dir, auto_flush=False,
                           batch_docs=crawler.settings.getint("BRANDHOUND_ES_BATCH", 500))
        return cls(crawler, store)

    async def open_spider(self) -> None:
        try:
            await maybe_deferred_to_future(deferToThread(cluster.init_indices, self.store.client, self.store.index_prefix))
        except cluster.ClusterError as exc:
            log.warning("Elasticsearch not ready (%s); documents will be spooled until it is", exc)
        except Exception as exc:  # unreachable: the transport's own errors
            log.warning("Elasticsearch unreachable (%s); documents will be spooled until it is", exc)

    async def process_item(self, item: Capture) -> Capture:
        store = self.store
        listing, site = item.listing, item.site
        page_id = store.add(item.page)
        if listing is not None:
            listing.page_id = page_id
            store.add(listing)
        if site is not None:
            site.page_id = page_id
            store.add(site)
        for finding in item.findings:
            store.add(finding)
        if store.batch_full() and not self._flushing:
            self._flushing = True
            try:
                await maybe_deferred_to_future(deferToThread(store.flush))
            finally:
                self._flushing = False
        return item

    async def close_spider(self) -> None:
        await maybe_deferred_to_future(deferToThread(self.store.close))
        stats, st = self.crawler.stats, self.store.stats
        stats.set_value("brandhound/es/indexed", st.indexed)
        stats.set_value("brandhound/es/spooled", st.spooled)
        stats.set_value("brandhound/es/replayed", st.replayed)
        stats.set_value("brandhound/es/rejected", st.rejected)
        log.info("Elasticsearch: %d indexed, %d spooled, %d replayed, %d rejected",
                 st.indexed, st.spooled, st.replayed, st.rejected)
