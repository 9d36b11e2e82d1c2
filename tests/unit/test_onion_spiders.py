"""The onion spiders stay on the seed's onion host and walk sections, pages and threads."""

from __future__ import annotations

import scrapy
from scrapy.http import HtmlResponse, Request
from scrapy.utils.test import get_crawler

from crawlers.items import Capture
from crawlers.spiders.onion_forum import OnionForumSpider
from crawlers.spiders.onion_market import OnionMarketSpider
from tests.support.paths import EXAMPLE_BRAND

MARKET = "http://" + "m" * 56 + ".onion"
OTHER = "http://" + "o" * 56 + ".onion"


def spider(cls):
    crawler = get_crawler(cls)
    return cls.from_crawler(crawler, brand=str(EXAMPLE_BRAND), seeds=[MARKET + "/"])


def page(url: str, body: str) -> HtmlResponse:
    return HtmlResponse(url, body=f"<html><body>{body}</body></html>".encode(), encoding="utf-8",
                        request=Request(url), headers={"Content-Type": "text/html; charset=utf-8"})


def urls(outputs) -> list[str]:
    return [o.url for o in outputs if isinstance(o, scrapy.Request)]


def test_market_follows_listings_categories_and_pages_on_its_own_onion_only():
    s = spider(OnionMarketSpider)
    out = list(s.parse_results(page(MARKET + "/", f"""
        <a href="/listing/17">cup</a> <a href="{OTHER}/listing/99">elsewhere</a>
        <a href="https://kestrava.com/listing/1">clearnet mirror</a>
        <a href="/category/kitchen">Kitchen</a> <a href="{OTHER}/category/x">x</a>
        <a rel="next" href="/?page=2">next</a> <a href="/faq">FAQ</a>"""), depth=1))
    assert sorted(urls(out)) == sorted([MARKET + "/listing/17", MARKET + "/category/kitchen", MARKET + "/?page=2"])


def test_market_keeps_an_incomplete_listing_instead_of_rendering_it():
    s = spider(OnionMarketSpider)
    out = list(s.parse_listing(page(MARKET + "/listing/5", "<h1>Kestrava Aalto cup replica</h1><p>ask vendor</p>")))
    assert not any(isinstance(o, scrapy.Request) for o in out)
    [capture] = out
    assert isinstance(capture, Capture) and capture.listing.title == "Kestrava Aalto cup replica"
    assert capture.page.crawl.source_type == "onion"


def test_forum_walks_boards_threads_and_thread_pages():
    s = spider(OnionForumSpider)
    index = list(s.parse_list(page(MARKET + "/", f"""
        <a href="/board/leaks">Leaks</a> <a href="/thread/12">combo list</a>
        <a href="{OTHER}/thread/13">elsewhere</a>"""), depth=1))
    assert sorted(urls(index)) == sorted([MARKET + "/board/leaks", MARKET + "/thread/12"])
    thread = list(s.parse_dump(page(MARKET + "/thread/12", """
        <pre>alice@corp.kestrava.com:hunter2</pre><a rel="next" href="/thread/12?page=2">next</a>""")))
    captures = [o for o in thread if isinstance(o, Capture)]
    assert len(captures) == 1 and "alice@corp.kestrava.com" in captures[0].dump_text
    assert captures[0].keep_body is False
    assert urls(thread) == [MARKET + "/thread/12?page=2"]


def test_onion_spiders_use_tor_timeouts_and_low_concurrency():
    for cls in (OnionMarketSpider, OnionForumSpider):
        settings = get_crawler(cls).settings
        assert settings.getint("DOWNLOAD_TIMEOUT") >= 60
        assert settings.getint("CONCURRENT_REQUESTS_PER_DOMAIN") <= 2
