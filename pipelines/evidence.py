"""Store the HTML body, the screenshot and the capture's WARC of every capture, addressed by SHA-256."""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone

from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.threads import deferToThread

from brandhound import warc
from brandhound.evidence import EvidenceStore
from brandhound.items import File, Hash
from crawlers.items import Capture
from crawlers.paths import evidence_dir
from pipelines import disk_full
from pipelines.disk_full import is_disk_full


class EvidencePipeline:
    def __init__(self, crawler: Crawler, store: EvidenceStore):
        self.crawler = crawler
        self.store = store

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> EvidencePipeline:
        return cls(crawler, EvidenceStore(evidence_dir(crawler.settings)))

    async def process_item(self, item: Capture) -> Capture:
        try:
            return await self._store_evidence(item)
        except OSError as exc:
            if not is_disk_full(exc):
                raise
            disk_full.stop_crawl(self.crawler, f"evidence store {self.store.root} is full", exc)
            raise DropItem(f"capture of {item.page.url.full} not kept: the evidence store is full") from None

    async def _store_evidence(self, item: Capture) -> Capture:
        page = item.page
        if item.body is not None:
            if item.keep_body:
                page.file = await maybe_deferred_to_future(
                    deferToThread(self.store.put, item.body, suffix=".html", mime_type=page.http.response.mime_type)
                )
            else:
                page.file = File(size=len(item.body), mime_type=page.http.response.mime_type,
                                 hash=Hash(sha256=hashlib.sha256(item.body).hexdigest()))
        if item.screenshot is not None:
            page.screenshot = await maybe_deferred_to_future(
                deferToThread(self.store.put, item.screenshot, suffix=".png", mime_type="image/png")
            )
        if item.body is not None and item.keep_body:
            # Never for a leak dump (keep_body False): its clear text must not reach the disk in a WARC either.
            page.warc = await maybe_deferred_to_future(deferToThread(self._put_warc, item))
        # The bytes are on disk (or deliberately dropped); later pipelines do not need them.
        item.body = item.screenshot = None
        return item

    def _put_warc(self, item: Capture) -> File:
        page = item.page
        # A Capture carries the status and media type, not the full header lists, so the WARC's
        # HTTP headers are those two; the body and screenshot are the bytes as received.
        headers = [("Content-Type", page.http.response.mime_type)] if page.http.response.mime_type else []
        data = warc.capture_warc_bytes(
            url=page.url.full, request_headers=[], status=page.http.response.status_code or 200,
            response_headers=headers, body=item.body or b"", screenshot=item.screenshot,
            captured_at=page.crawl.fetched_at or datetime.now(timezone.utc))
        return self.store.put(data, suffix=warc.SUFFIX, mime_type=warc.MIME_TYPE)
