"""Crawl an onion marketplace for listings of the brand, over Tor.

Onion markets have no search URL in the brand profile: the spider starts from
seed URLs (a market's front page or categories), walks its categories and
their pagination on the same onion host, and extracts every listing as the
``marketplace`` spider does (structured data first, then visible HTML).
Requests go through Tor (``crawlers.middlewares.tor_route``); a listing that
shows nothing without JavaScript is kept as fetched rather than rendered:
onion markets are built to work without scripts.
"""

from __future__ import annotations

import re
from typing import Any, Iterator

import scrapy
from scrapy.http import Response

from crawlers.spiders.marketplace import MarketplaceSpider
from crawlers.spiders.onion import TOR_CRAWL_SETTINGS, OnionSectionsMixin, same_onion

SECTION_PATH = re.compile(r"/(category|categories|cat|c|section|shop|market|browse|vendor|vendors)(/|$)", re.I)


class OnionMarketSpider(OnionSectionsMixin, MarketplaceSpider):
    name = "onion_market"
    source_type = "onion"
    custom_settings = TOR_CRAWL_SETTINGS
    section_pattern = SECTION_PATH
    render_incomplete_listings = False

    async def start(self) -> Any:
        if not self.seeds:
            self.logger.warning("no seeds: give onion market URLs (-a seeds=http://<address>.onion/)")
        for seed in self.seeds:
            yield scrapy.Request(seed, callback=self.parse_results, errback=self.on_error, cb_kwargs={"depth": 1})

    def parse_results(self, response: Response, depth: int) -> Iterator[scrapy.Request]:
        for request in super().parse_results(response, depth):
            if same_onion(request.url, response.url):
                yield request
        if hasattr(response, "xpath"):
            for url in self.section_links(response):
                yield scrapy.Request(url, callback=self.parse_results, errback=self.on_error, cb_kwargs={"depth": 1})
