"""Capture candidate sites (look-alike domains, reported URLs) in Chromium, as evidence.

Each seed (a URL, or a bare domain tried over https) is rendered, and so are
up to three same-site pages its links name as login, account or checkout
pages. Each capture keeps the full-page screenshot, the final URL after redirects, the
title, favicon and logo images, the forms with where they post, the TLS certificate's
issuer and dates, and the outgoing links.

The brand's official domains are captured first, the same way, as references: the
fingerprints of their HTML and screenshots (``official_references``) are what the site
detector compares every candidate with. The candidates wait until the references are
in (at most ``BRANDHOUND_REFERENCE_WAIT`` seconds); ``BRANDHOUND_OFFICIAL_REFERENCES =
False`` skips them. Capturing them in every crawl keeps them as fresh as the official site
and costs a few pages.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any, Iterator
from urllib.parse import urlsplit

import scrapy
from scrapy.http import Response

from brandhound.items import Image, Site
from brandhound.page_fingerprint import OfficialReferences
from brandhound.urls import registered_domain
from crawlers.browser import capture_meta, screenshot_from
from crawlers.items import Capture
from crawlers.page_facts import page_facts
from crawlers.spiders.base import BrandSpider
from crawlers.tls_facts import tls_of

ACCOUNT_LINK = re.compile(
    r"log-?in|sign-?in|account|verify|secure|checkout|payment|kirjaudu|tili|cuenta|entrar|conta|logowanie|konto", re.I)
MAX_ACCOUNT_PAGES = 3
#: Meta key of the requests that capture an official page as a reference.
REFERENCE = "brandhound_official_reference"


class SurfaceSpider(BrandSpider):
    name = "surface"
    source_type = "surface"

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.official_references = OfficialReferences()
        self._references_pending: set[str] = set()
        self._references_requested: set[str] = set()
        self._references_in = asyncio.Event()

    async def start(self) -> Any:
        if not self.seeds:
            self.logger.warning("no seeds: give candidate URLs or domains (-a seeds=...)")
        official = [f"https://{d}/" for d in self.profile.official_domains]
        seeds = [seed if "://" in seed else f"https://{seed}/" for seed in self.seeds]
        if self.seeds and self.settings.getbool("BRANDHOUND_OFFICIAL_REFERENCES", True):
            for url in official:
                yield self._reference_request(url, follow=True)
            seeds = [url for url in seeds if url not in official]
            wait = self.settings.getfloat("BRANDHOUND_REFERENCE_WAIT", 60)
            try:
                await asyncio.wait_for(self._references_in.wait(), wait)
            except asyncio.TimeoutError:
                self.logger.warning("official references still incomplete after %.0f s (%d pages in): "
                                    "capturing the candidates anyway", wait, len(self.official_references))
        for url in seeds:
            yield scrapy.Request(url, callback=self.parse_site, errback=self.on_error, meta=capture_meta(),
                                 cb_kwargs={"follow": True})

    def _reference_request(self, url: str, follow: bool = False) -> scrapy.Request:
        """A capture of an official page; each URL once, so no duplicate filter can drop one unseen."""
        self._references_requested.add(url)
        self._references_pending.add(url)
        return scrapy.Request(url, callback=self.parse_site, errback=self.on_reference_error,
                              meta={**capture_meta(), REFERENCE: url}, cb_kwargs={"follow": follow})

    def _reference_done(self, meta: dict) -> None:
        self._references_pending.discard(meta.get(REFERENCE))
        if not self._references_pending:
            self._references_in.set()

    def on_reference_error(self, failure) -> None:
        self.on_error(failure)
        self._reference_done(failure.request.meta)

    def parse_site(self, response: Response, follow: bool = False) -> Iterator[Any]:
        text = self.text_of(response)
        facts = page_facts(text, response.url)
        reference = response.meta.get(REFERENCE)
        if follow:
            # Phishing kits put the credential form one click from the landing page.
            home = registered_domain(response.url)
            for link in [u for u in facts.links if ACCOUNT_LINK.search(urlsplit(u).path)][:MAX_ACCOUNT_PAGES]:
                if registered_domain(link) == home and link != response.url:
                    if not reference:
                        yield scrapy.Request(link, callback=self.parse_site, errback=self.on_error, meta=capture_meta())
                    elif link not in self._references_requested:
                        yield self._reference_request(link)
        screenshot = screenshot_from(response.meta)
        if reference:
            self.official_references.add(response.url, text, screenshot)
            self.crawler.stats.inc_value("brandhound/sites/official_references")
            self._reference_done(response.meta)
        page = self.page_for(response, title=facts.title, links=facts.links)
        site = Site(
            event=page.event,
            brand=page.brand,
            url=page.url,
            crawl=page.crawl,
            title=facts.title,
            favicon=Image(url=facts.favicon_url) if facts.favicon_url else None,
            logos=[Image(url=u) for u in facts.logo_urls],
            forms=facts.forms,
            tls=tls_of(response),
        )
        self.crawler.stats.inc_value("brandhound/sites/captured")
        yield Capture(page=page, body=response.body, screenshot=screenshot, site=site)
