"""Fetch dumps from paste sites and forums for the leak detectors.

From each seed (a paste site's recent list, a forum board) the spider follows
pagination and opens every paste, preferring its raw text view. A dump's text
goes to the leak detectors and is then dropped: only its SHA-256, size and
URL are kept, because a dump is full of other people's passwords.
"""

from __future__ import annotations

import re
from typing import Any, Iterator
from urllib.parse import urlsplit

import scrapy
from scrapy.http import Response

from crawlers.items import Capture
from crawlers.spiders.base import BrandSpider
from crawlers.spiders.marketplace import next_page_link

PASTE_PATH = re.compile(r"/(raw|p|paste|pastes|view|t|thread|topic|dump)/[^/?#]+", re.I)


class PasteSpider(BrandSpider):
    name = "paste"
    source_type = "paste"

    def __init__(self, *args: Any, max_list_pages: int | str = 20, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.max_list_pages = int(max_list_pages)

    async def start(self) -> Any:
        if not self.seeds:
            self.logger.warning("no seeds: give paste site or forum list URLs (-a seeds=...)")
        for seed in self.seeds:
            yield scrapy.Request(seed, callback=self.parse_list, errback=self.on_error, cb_kwargs={"depth": 1})

    def parse_list(self, response: Response, depth: int) -> Iterator[scrapy.Request]:
        if not hasattr(response, "xpath"):
            yield from self.parse_dump(response)
            return
        pastes: dict[str, str] = {}
        for href in response.xpath("//a/@href").getall():
            url = response.urljoin(href)
            m = PASTE_PATH.search(urlsplit(url).path)
            if not m or urlsplit(url).hostname != urlsplit(response.url).hostname:
                continue
            key = urlsplit(url).path.rsplit("/", 1)[-1]
            # One fetch per paste: its raw view when the site offers one.
            if m.group(1).lower() == "raw" or key not in pastes:
                pastes[key] = url
        for url in pastes.values():
            yield scrapy.Request(url, callback=self.parse_dump, errback=self.on_error)
        if depth < self.max_list_pages:
            nxt = next_page_link(response)
            if nxt:
                yield response.follow(nxt, callback=self.parse_list, errback=self.on_error, cb_kwargs={"depth": depth + 1})

    def parse_dump(self, response: Response) -> Iterator[Any]:
        text = self.text_of(response)
        if hasattr(response, "xpath") and "html" in (response.headers.get("Content-Type") or b"").decode("latin-1"):
            raw = [h for h in response.xpath("//a/@href").getall() if "/raw/" in h]
            if raw and not response.meta.get("from_view"):
                # The raw view is the dump exactly as posted, without the site's markup.
                yield response.follow(raw[0], callback=self.parse_dump, errback=self.on_error, meta={"from_view": True})
                return
            pre = response.xpath("//pre//text() | //textarea//text()").getall()
            if pre:
                text = "\n".join(pre)
        page = self.page_for(response)
        self.crawler.stats.inc_value("brandhound/dumps/fetched")
        yield Capture(page=page, body=response.body, keep_body=False, dump_text=text)
