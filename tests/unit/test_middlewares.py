import asyncio

import pytest
from scrapy import Request
from scrapy.http import Response
from scrapy.utils.test import get_crawler

from crawlers.middlewares.redirect_loop import RedirectLoop, RedirectLoopMiddleware
from crawlers.middlewares.ssrf import SsrfGuardMiddleware, SsrfRefused, is_public


def _guard(**settings):
    crawler = get_crawler(settings_dict=settings)
    crawler.stats.open_spider()
    return SsrfGuardMiddleware.from_crawler(crawler)


@pytest.mark.parametrize("address", ["127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254",
                                     "::1", "fe80::1", "fc00::1", "::ffff:10.0.0.1", "0.0.0.0", "100.64.0.1", "224.0.0.1"])
def test_non_public_addresses(address):
    assert not is_public(address)


@pytest.mark.parametrize("address", ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c", "1.1.1.1"])
def test_public_addresses(address):
    assert is_public(address)


@pytest.mark.parametrize("url", ["http://127.0.0.1/", "http://169.254.169.254/latest", "http://[::1]:8080/",
                                 "http://2130706433/", "http://intranet.corp/"])
def test_guard_refuses_internal_targets(url):
    guard = _guard(BRANDHOUND_HOST_OVERRIDES={"intranet.corp": "10.0.0.5"})
    with pytest.raises(SsrfRefused, match="refused"):
        asyncio.run(guard.process_request(Request(url)))


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com/x", "data:text/html,hi"])
def test_guard_refuses_other_schemes_even_in_the_sandbox(url):
    guard = _guard(SSRF_ALLOW_PRIVATE=True)
    with pytest.raises(SsrfRefused, match="scheme"):
        asyncio.run(guard.process_request(Request(url)))


def test_sandbox_setting_allows_loopback_and_onion_is_left_to_tor():
    assert asyncio.run(_guard(SSRF_ALLOW_PRIVATE=True).process_request(Request("http://127.0.0.1:8899/"))) is None
    assert asyncio.run(_guard().process_request(Request("http://abcdefghijklmnop.onion/"))) is None


def test_unresolvable_host_is_refused():
    with pytest.raises(SsrfRefused, match="does not resolve"):
        asyncio.run(_guard().process_request(Request("http://no-such-host.invalid/")))


def test_redirect_loop_is_caught_at_the_first_repeat():
    mw = RedirectLoopMiddleware()
    req = Request("https://m.example/a/", meta={"redirect_urls": ["https://m.example/a"]})
    loop = Response("https://m.example/a/", status=301, headers={"Location": "/a"}, request=req)
    with pytest.raises(RedirectLoop, match="https://m.example/a -> https://m.example/a/ -> https://m.example/a"):
        mw.process_response(req, loop)
    onward = Response("https://m.example/a/", status=302, headers={"Location": "/b"}, request=req)
    assert mw.process_response(req, onward) is onward
