"""Search the watched marketplaces for the brand and extract every listing found.

Start pages are the profile's marketplace search URLs filled with the brand's
names, misspellings and product names (plus any ``seeds``). Result pages are
followed through their pagination; listing pages are extracted from
structured data first, then from visible HTML. A listing page that shows no
title or price without JavaScript is fetched again in Chromium, and that
capture keeps its screenshot.
"""

from __future__ import annotations

import re
from typing import Any, Iterator
from urllib.parse import quote_plus, urlsplit

import scrapy
from scrapy.http import Response

from brandhound.items import Image, Listing, Price, Product, Seller
from crawlers.browser import capture_meta, screenshot_from
from crawlers.items import Capture
from crawlers.listing_extraction import extract_listing
from crawlers.spiders.base import BrandSpider

#: Paths that marketplaces use for single listings, when the profile gives no pattern.
DEFAULT_LISTING_PATTERN = r"/(item|items|itm|ilmoitus|listing|listings|product|products|p|dp|offer|oferta|anuncio|annonce)/[^/?#]+"
NEXT_WORDS = re.compile(r"^[\W_]*(next|seuraava|siguiente|próxima|proxima|następna|nastepna|suivant|weiter)?[\W_]*$", re.I)


def next_page_link(response: Response) -> str | None:
    """The result list's next page: ``rel=next``, else a link whose text says "next" in a language we know."""
    nxt = response.xpath("//a[@rel='next']/@href | //link[@rel='next']/@href").get()
    if nxt:
        return nxt
    for a in response.xpath("//a[@href]"):
        text = " ".join(" ".join(a.xpath(".//text()").getall()).split())
        match = NEXT_WORDS.match(text)
        # A bare arrow counts; bare punctuation of any other kind does not.
        if text and match and (match.group(1) or text in {"›", "»", ">", "→"}):
            return a.attrib["href"]
    return None


class MarketplaceSpider(BrandSpider):
    name = "marketplace"
    source_type = "marketplace"
    #: Fetch a listing again in Chromium when it shows no title or price without JavaScript.
    render_incomplete_listings = True

    def __init__(self, *args: Any, max_result_pages: int | str = 50, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.max_result_pages = int(max_result_pages)
        self.markets = {m.domain: m for m in self.profile.marketplaces}

    def queries(self) -> list[str]:
        p = self.profile
        terms = [*p.names, *p.misspellings, *(prod.name for prod in p.products)]
        return list(dict.fromkeys(t for t in terms if t))

    async def start(self) -> Any:
        for market in self.profile.marketplaces:
            if market.search_url:
                for q in self.queries():
                    url = market.search_url.replace("{query}", quote_plus(q))
                    yield scrapy.Request(url, callback=self.parse_results, errback=self.on_error, cb_kwargs={"depth": 1})
        for seed in self.seeds:
            yield scrapy.Request(seed, callback=self.parse_results, errback=self.on_error, cb_kwargs={"depth": 1})

    def market_for(self, url: str):
        host = (urlsplit(url).hostname or "").lower()
        for domain, market in self.markets.items():
            if host == domain or host.endswith("." + domain):
                return market
        return None

    def listing_re(self, url: str) -> re.Pattern:
        market = self.market_for(url)
        return re.compile(market.listing_pattern if market and market.listing_pattern else DEFAULT_LISTING_PATTERN)

    def parse_results(self, response: Response, depth: int) -> Iterator[scrapy.Request]:
        if not hasattr(response, "xpath"):
            self.logger.warning("result page %s is not HTML (%s); skipped", response.url, response.headers.get("Content-Type"))
            return
        listing_re = self.listing_re(response.url)
        for href in response.xpath("//a/@href").getall():
            url = response.urljoin(href)
            if urlsplit(url).scheme in ("http", "https") and listing_re.search(urlsplit(url).path):
                yield scrapy.Request(url, callback=self.parse_listing, errback=self.on_error)
        if depth >= self.max_result_pages:
            return
        nxt = next_page_link(response)
        if nxt:
            yield response.follow(nxt, callback=self.parse_results, errback=self.on_error, cb_kwargs={"depth": depth + 1})

    def parse_listing(self, response: Response) -> Iterator[Any]:
        text = self.text_of(response)
        extracted = extract_listing(text, response.url)
        rendered = bool(response.meta.get("playwright"))
        if not extracted.is_complete and not rendered and self.render_incomplete_listings:
            # A shell that scripts fill in: render it, and keep the screenshot as evidence.
            self.crawler.stats.inc_value("brandhound/listings/rendered")
            yield scrapy.Request(response.url, meta=capture_meta(), dont_filter=True,
                                 callback=self.parse_listing, errback=self.on_error)
            return
        if not extracted.title and extracted.price is None:
            self.crawler.stats.inc_value("brandhound/listings/not_a_listing")
            self.logger.info("no listing found at %s", response.url)
            return
        page = self.page_for(response, title=extracted.title)
        market = self.market_for(response.url)
        listing = Listing(
            event=page.event,
            brand=page.brand,
            url=page.url,
            crawl=page.crawl,
            marketplace=market.name if market else page.url.registered_domain,
            title=extracted.title,
            description=extracted.description,
            price=Price(amount=extracted.price, currency=extracted.currency, raw=extracted.price_text,
                        list_amount=extracted.list_price, max_amount=extracted.price_max, source=extracted.price_source),
            product=Product(brand=extracted.brand, sku=extracted.sku),
            seller=Seller(name=extracted.seller, url=extracted.seller_url, rating=extracted.rating,
                          ratings_count=extracted.ratings_count, ships_from=extracted.ships_from,
                          joined=extracted.seller_joined),
            quantity=extracted.quantity,
            availability=extracted.availability,
            images=[Image(url=u) for u in extracted.images],
            extraction=extracted.extraction,
        )
        self.crawler.stats.inc_value("brandhound/listings/extracted")
        yield Capture(page=page, body=response.body, screenshot=screenshot_from(response.meta), listing=listing)
