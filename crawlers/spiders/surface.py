"""Capture candidate sites (look-alike domains, reported URLs) in Chromium, as evidence.

Each seed (a URL, or a bare domain tried over https) is rendered once: the
capture keeps the full-page screenshot, the final URL after redirects, the
title, favicon and logo images, the forms with where they post, and the
outgoing links.
"""

from __future__ import annotations

from typing import Any, Iterator

import scrapy
from scrapy.http import Response

from brandhound.items import Image, Site
from crawlers.browser import capture_meta, screenshot_from
from crawlers.items import Capture
from crawlers.page_facts import page_facts
from crawlers.spiders.base import BrandSpider


class SurfaceSpider(BrandSpider):
    name = "surface"
    source_type = "surface"

    async def start(self) -> Any:
        if not self.seeds:
            self.logger.warning("no seeds: give candidate URLs or domains (-a seeds=...)")
        for seed in self.seeds:
            url = seed if "://" in seed else f"https://{seed}/"
            yield scrapy.Request(url, callback=self.parse_site, errback=self.on_error, meta=capture_meta())

    def parse_site(self, response: Response) -> Iterator[Capture]:
        text = self.text_of(response)
        facts = page_facts(text, response.url)
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
