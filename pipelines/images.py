"""Download the images a capture shows, within limits, and fingerprint them.

Listing images, favicons and logos are fetched through the engine, so they
pass the same middlewares (egress proxy, SSRF guard) as pages. Each is stored
once in the evidence store and described with its SHA-256, pHash and dHash.
An image that cannot be fetched or is refused (too many bytes, too many
pixels, not an image) keeps its URL in the document and is logged with the
reason: the listing itself is never dropped because of it.
"""

from __future__ import annotations

import hashlib
import logging
from collections import OrderedDict

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.threads import deferToThread

from brandhound.evidence import EvidenceStore
from brandhound.image_fingerprint import ImageFacts, ImageRefused, fingerprint
from brandhound.items import Image
from crawlers.items import Capture
from pipelines.paths import evidence_dir

log = logging.getLogger(__name__)


class _Lru(OrderedDict):
    def __init__(self, size: int):
        super().__init__()
        self.size = size

    def remember(self, key, value):
        self[key] = value
        self.move_to_end(key)
        if len(self) > self.size:
            self.popitem(last=False)
        return value


class ImageEvidencePipeline:
    def __init__(self, crawler: Crawler, store: EvidenceStore, max_bytes: int, max_pixels: int, cache_size: int):
        self.crawler = crawler
        self.store = store
        self.max_bytes = max_bytes
        self.max_pixels = max_pixels
        # Marketplaces reuse images across listings: fetch and hash each URL once per crawl.
        self._by_url: _Lru = _Lru(cache_size)
        self._by_digest: _Lru = _Lru(cache_size)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ImageEvidencePipeline:
        s = crawler.settings
        return cls(
            crawler,
            EvidenceStore(evidence_dir(s)),
            s.getint("BRANDHOUND_IMAGE_MAX_BYTES", 10 * 1024 * 1024),
            s.getint("BRANDHOUND_IMAGE_MAX_PIXELS", 40_000_000),
            s.getint("BRANDHOUND_IMAGE_CACHE", 50_000),
        )

    async def process_item(self, item: Capture) -> Capture:
        images: list[Image] = []
        if item.listing:
            images += item.listing.images
        if item.site:
            images += item.site.logos + ([item.site.favicon] if item.site.favicon else [])
        for image in images:
            await self._fill(image, item.page.url.full)
        return item

    async def _fill(self, image: Image, referer: str) -> None:
        if image.url not in self._by_url:
            self._by_url.remember(image.url, await self._fetch(image.url, referer))
        known = self._by_url[image.url]
        if known is not None:
            template, facts = known
            image.file = template
            image.phash, image.dhash = facts.phash, facts.dhash
            image.width, image.height = facts.width, facts.height

    async def _fetch(self, url: str, referer: str):
        stats = self.crawler.stats
        request = Request(url, headers={"Referer": referer}, priority=10, dont_filter=True,
                          meta={"download_maxsize": self.max_bytes, "brandhound_image": True})
        try:
            response = await self.crawler.engine.download_async(request)
        except IgnoreRequest as exc:
            stats.inc_value("brandhound/images/refused")
            log.warning("image %s not fetched: %s", url, exc)
            return None
        except Exception as exc:  # network faults of every kind: the listing stays, the image is marked missing
            stats.inc_value("brandhound/images/failed")
            log.warning("image %s not fetched: %s: %s", url, type(exc).__name__, exc)
            return None
        if response.status != 200:
            stats.inc_value("brandhound/images/failed")
            log.warning("image %s answered HTTP %d", url, response.status)
            return None
        body = response.body
        digest = hashlib.sha256(body).hexdigest()
        if digest not in self._by_digest:
            try:
                facts: ImageFacts = await maybe_deferred_to_future(deferToThread(fingerprint, body, max_pixels=self.max_pixels))
            except ImageRefused as exc:
                stats.inc_value("brandhound/images/refused")
                log.warning("image %s refused: %s", url, exc)
                return None
            suffix = "." + (facts.format or "bin").lower().replace("jpeg", "jpg")
            file = await maybe_deferred_to_future(deferToThread(self.store.put, body, suffix=suffix, mime_type=facts.mime_type))
            self._by_digest.remember(digest, (file, facts))
            stats.inc_value("brandhound/images/stored")
        return self._by_digest[digest]
