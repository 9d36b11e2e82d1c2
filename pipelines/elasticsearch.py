"""Index every capture's documents through brandhound's store.

Documents are buffered and sent in bulk from a worker thread, so the crawl
never waits on Elasticsearch; while Elasticsearch is unreachable they go to
the spool (``BRANDHOUND_SPOOL_DIR/crawl-<spider>``) and are replayed by the
next flush or the next run. Counts land in the crawl stats.

Leaks are merged with what is already known of them (first seen, last seen,
sightings, sources): with the copy indexed earlier in this crawl, else with
the indexed document. While Elasticsearch is down a leak is spooled as seen
here, and its earlier sightings are then overwritten when the spool replays.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from scrapy.crawler import Crawler
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.threads import deferToThread

from brandhound import cluster
from crawlers.config import core_settings
from brandhound.items import Leak
from brandhound.mapping import index_name, to_document
from brandhound.spool import SpoolError
from brandhound.store import Store, open_store
from crawlers.items import Capture
from detectors.leak_detector import merge_leak, superseded_ids
from pipelines import disk_full

log = logging.getLogger(__name__)


class ElasticsearchPipeline:
    def __init__(self, crawler: Crawler, store: Store):
        self.crawler = crawler
        self.store = store
        self._flushing = False
        # The leaks of this crawl as last indexed: merged here, so two captures of one leak never race.
        self._leaks: dict[str, Leak] = {}
        # Leak documents under a previous key's hash, merged into their re-hashed successors.
        self._superseded: set[str] = set()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ElasticsearchPipeline:
        settings = core_settings(crawler.settings)
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
        except Exception as exc:  # noqa: BLE001  (unreachable: the transport's own errors)
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
        if item.leaks:
            for leak in await maybe_deferred_to_future(deferToThread(self._merged_leaks, item.leaks)):
                store.add(leak)
        if store.batch_full() and not self._flushing:
            self._flushing = True
            try:
                await maybe_deferred_to_future(deferToThread(store.flush))
            except SpoolError as exc:
                # The documents stay in memory (the store keeps them); the crawl stops taking more.
                disk_full.stop_crawl(self.crawler, "the spool cannot be written", exc)
            finally:
                self._flushing = False
        return item

    def _merged_leaks(self, leaks: list[Leak]) -> list[Leak]:
        # After a key rotation a leak indexed earlier sits under the id its previous hash gave it.
        unknown = [i for leak in leaks if leak.doc_id() not in self._leaks
                   for i in (leak.doc_id(), *superseded_ids(leak))]
        indexed: dict[str, dict] = {}
        if unknown:
            try:
                docs = self.store.client.mget(index=index_name(self.store.index_prefix, Leak), ids=unknown)["docs"]
                indexed = {d["_id"]: d["_source"] for d in docs if d.get("found")}
            except Exception as exc:  # noqa: BLE001  (down or index missing: the spool keeps what we saw now)
                log.warning("leaks not merged with earlier sightings (%s)", exc)
        merged = []
        for leak in leaks:
            known = self._leaks.get(leak.doc_id())
            earlier = to_document(known) if known is not None else indexed.get(leak.doc_id())
            if earlier is None:
                old_id = next((i for i in superseded_ids(leak) if i in indexed), None)
                if old_id is not None:
                    earlier = indexed[old_id]
                    self._superseded.add(old_id)
            self._leaks[leak.doc_id()] = merge_leak(earlier, leak)
            merged.append(self._leaks[leak.doc_id()])
        return merged

    def _close_store(self) -> None:
        try:
            self.store.flush()
            # Only once their successors are indexed: a spooled successor keeps its predecessor.
            if self._superseded and not self.store.spool.pending():
                index = index_name(self.store.index_prefix, Leak)
                for doc_id in sorted(self._superseded):
                    try:
                        self.store.client.delete(index=index, id=doc_id)
                    except Exception as exc:  # noqa: BLE001  (a duplicate left behind is recognised again next time)
                        log.warning("leak %s re-hashed under the current key; its old document stays (%s)",
                                    doc_id, exc)
                self.crawler.stats.set_value("brandhound/es/leaks_rehashed", len(self._superseded))
        finally:
            self.store.close()

    async def close_spider(self) -> None:
        try:
            await maybe_deferred_to_future(deferToThread(self._close_store))
        except SpoolError:
            self.crawler.stats.inc_value("brandhound/es/lost_on_close", self.store.buffered)
        stats, st = self.crawler.stats, self.store.stats
        stats.set_value("brandhound/es/indexed", st.indexed)
        stats.set_value("brandhound/es/spooled", st.spooled)
        stats.set_value("brandhound/es/replayed", st.replayed)
        stats.set_value("brandhound/es/rejected", st.rejected)
        log.info("Elasticsearch: %d indexed, %d spooled, %d replayed, %d rejected",
                 st.indexed, st.spooled, st.replayed, st.rejected)
