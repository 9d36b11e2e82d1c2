"""Download the images a capture shows, within limits, and fingerprint them.

Listing images, favicons and logos are fetched through the engine, so they
pass the same middlewares (egress proxy, SSRF guard) as pages. Each is stored
once in the evidence store and described with its SHA-256, pHash and dHash.
An image that cannot be fetched or is refused (too many bytes, too many
pixels, not an image) keeps its URL in the document and is logged with the
reason: the listing itself is never dropped because of it.

``BRANDHOUND_LISTING_IMAGES`` says which listings' images are fetched:
``brand`` (the default) only those whose title, description or claimed brand
mentions the brand or one of its products, disguised or not; ``all`` every
listing's. A marketplace search also returns unrelated products, and fetching
their photos would double the requests a crawl sends to the marketplace for
nothing a detector can use; their image URLs are still indexed.

With ``BRANDHOUND_LISTING_IMAGES_UNTIL_OFFICIAL`` (the default) a listing's
photos are fetched in order until one matches an official photo of the brand:
that match is the evidence the counterfeit detector and a takedown need, and
the photos after it are nearly always more copies of the same catalogue. A
listing none of whose photos match has all of them fetched. The URLs of the
photos not fetched stay in the document (``brandhound/images/not_fetched_after_match``).
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
from pipelines import disk_full
from pipelines.disk_full import is_disk_full
from detectors.brand_mentions import BrandMatcher
from detectors.counterfeit_listing import listing_text
from detectors.official_images import OfficialImages
from crawlers.paths import evidence_dir

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
    LISTING_POLICIES = ("brand", "all")

    def __init__(self, crawler: Crawler, store: EvidenceStore, max_bytes: int, max_pixels: int, cache_size: int,
                 listing_policy: str = "brand", until_official: bool = True):
        if listing_policy not in self.LISTING_POLICIES:
            raise ValueError(f"BRANDHOUND_LISTING_IMAGES: {listing_policy!r} is not one of {', '.join(self.LISTING_POLICIES)}")
        self.crawler = crawler
        self.listing_policy = listing_policy
        self.until_official = until_official
        self._matcher: BrandMatcher | None = None
        self._profile = None
        self._official: OfficialImages | None = None
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
            s.get("BRANDHOUND_LISTING_IMAGES", "brand"),
            s.getbool("BRANDHOUND_LISTING_IMAGES_UNTIL_OFFICIAL", True),
        )

    def open_spider(self) -> None:
        profile = getattr(self.crawler.spider, "profile", None)
        if self.listing_policy == "brand" and profile is not None:
            self._matcher = BrandMatcher.from_profile(profile)
        self._profile = profile

    def wants_listing_images(self, item: Capture) -> bool:
        if self._matcher is None or item.listing is None:
            return True
        return self._matcher.mentions_brand(listing_text(item.listing))

    async def process_item(self, item: Capture) -> Capture:
        referer = item.page.url.full
        if item.listing and item.listing.images:
            if self.wants_listing_images(item):
                await self._fill_listing(item.listing.images, referer)
            else:
                self.crawler.stats.inc_value("brandhound/images/not_fetched_unrelated", len(item.listing.images))
        if item.site:
            for image in item.site.logos + ([item.site.favicon] if item.site.favicon else []):
                await self._fill(image, referer)
        return item

    async def _fill_listing(self, images: list[Image], referer: str) -> None:
        if self._official is None and self.until_official and self._profile is not None:
            # Hashed on the first listing (and shared with the detectors), not at start: most spiders have none.
            self._official = OfficialImages.from_profile(self._profile)
        official = self._official
        for n, image in enumerate(images):
            await self._fill(image, referer)
            if official is not None and official.match(image.phash) is not None:
                if len(images) > n + 1:
                    self.crawler.stats.inc_value("brandhound/images/not_fetched_after_match", len(images) - n - 1)
                return

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
        except Exception as exc:  # noqa: BLE001  (network faults of every kind: the listing stays, the image is marked missing)
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
            try:
                file = await maybe_deferred_to_future(deferToThread(self.store.put, body, suffix=suffix, mime_type=facts.mime_type))
            except OSError as exc:
                if not is_disk_full(exc):
                    raise
                disk_full.stop_crawl(self.crawler, f"evidence store {self.store.root} is full", exc)
                return None
            self._by_digest.remember(digest, (file, facts))
            stats.inc_value("brandhound/images/stored")
        return self._by_digest[digest]
