"""Crawl an onion leak forum for dumps that concern the brand, over Tor.

From seed URLs (a forum's index or boards) the spider walks the boards and
their thread lists on the same onion host, opens every thread and follows the
thread's own pages. Each thread page is one dump capture, as a paste is for
the ``paste`` spider: the text of its posts goes to the leak detectors and is
dropped; the page keeps only its hash and URL.
"""

from __future__ import annotations

import re
from typing import Any, Iterator

import scrapy
from scrapy.http import Response

from crawlers.spiders.marketplace import next_page_link
from crawlers.spiders.onion import TOR_CRAWL_SETTINGS, OnionSectionsMixin, same_onion
from crawlers.spiders.paste import PasteSpider

BOARD_PATH = re.compile(r"/(board|boards|forum|forums|f|section|category|c)(/|$)", re.I)


class OnionForumSpider(OnionSectionsMixin, PasteSpider):
    name = "onion_forum"
    source_type = "onion"
    custom_settings = TOR_CRAWL_SETTINGS
    section_pattern = BOARD_PATH

    def parse_list(self, response: Response, depth: int) -> Iterator[scrapy.Request]:
        for request in super().parse_list(response, depth):
            if not isinstance(request, scrapy.Request) or same_onion(request.url, response.url):
                yield request
        if hasattr(response, "xpath"):
            for url in self.section_links(response):
                yield scrapy.Request(url, callback=self.parse_list, errback=self.on_error, cb_kwargs={"depth": 1})

    def parse_dump(self, response: Response) -> Iterator[Any]:
        yield from super().parse_dump(response)
        # Long threads run over several pages; each page is a capture of its own.
        nxt = next_page_link(response) if hasattr(response, "xpath") else None
        if nxt and same_onion(response.urljoin(nxt), response.url):
            yield response.follow(nxt, callback=self.parse_dump, errback=self.on_error)
