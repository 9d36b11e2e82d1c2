"""Capture candidate sites (look-alike domains, reported URLs) in Chromium, as evidence.

Each seed (a URL, or a bare domain tried over https) is rendered, and so are
up to three same-site pages its links name as login, account or checkout
pages. Each capture keeps the full-page screenshot, the final URL after redirects, the
title, favicon and logo images, the forms with where they post, and the
outgoing links.
"""

from __future__ import annotations

import re
from typing import Any, Iterator
from urllib.parse import urlsplit

import scrapy
from scrapy.http import Response

from brandhound.items import Image, Site
from brandhound.urls import registered_domain
from crawlers.browser import capture_meta, screenshot_from
from crawlers.items import Capture
from crawlers.page_facts import page_facts
from crawlers.spiders.base import BrandSpider


ACCOUNT_LINK = re.compile(
    r"log-?in|sign-?in|account|verify|secure|checkout|payment|kirjaudu|tili|cuenta|entrar|conta|logowanie|konto", re.I)
MAX_ACCOUNT_PAGES = 3


class SurfaceSpider(BrandSpider):
    name = "surface"
    source_type = "surface"

    async def start(self) -> Any:
        if not self.seeds:
            self.logger.warning("no seeds: give candidate URLs or domains (-a seeds=...)")
        for seed in self.seeds:
            url = seed if "://" in seed else f"https://{seed}/"
            yield scrapy.Request(url, callback=self.parse_site, errback=self.on_error, meta=capture_meta(),
                                 cb_kwargs={"follow": True})

    def parse_site(self, response: Response, follow: bool = False) -> Iterator[Any]:
        text = self.text_of(response)
        facts = page_facts(text, response.url)
        if follow:
            # Phishing kits put the credential form one click from the landing page.
            home = registered_domain(response.url)
            for link in [u for u in facts.links if ACCOUNT_LINK.search(urlsplit(u).path)][:MAX_ACCOUNT_PAGES]:
                if registered_domain(link) == home and link != response.url:
                    yield scrapy.Request(link, callback=self.parse_site, errback=self.on_error, meta=capture_meta())
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
        )
        self.crawler.stats.inc_value("brandhound/sites/captured")
        yield Capture(page=page, body=response.body, screenshot=screenshot_from(response.meta), site=site)
