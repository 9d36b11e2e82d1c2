"""Which transport the removal re-check uses for a URL."""

from takedown.recheck import FetchResult
from takedown.refetch import RefetcherChain, is_onion


def _named(name):
    return lambda url: FetchResult(url, 200, url, fetched_with=name)


def test_onion_goes_to_tor_and_chromium_captures_to_the_browser():
    chain = RefetcherChain(_named("http"), tor=_named("tor"), browser=_named("chromium"),
                           browser_urls={"https://shop.example/item"})
    assert chain("http://abcdefghijklmnop.onion/x").fetched_with == "tor"
    assert chain("https://shop.example/item").fetched_with == "chromium"
    assert chain("https://other.example/").fetched_with == "http"


def test_missing_transports_fall_back_to_http():
    chain = RefetcherChain(_named("http"), browser_urls={"https://shop.example/item"})
    assert chain("http://abcdefghijklmnop.ONION./").fetched_with == "http"
    assert chain("https://shop.example/item").fetched_with == "http"


def test_is_onion_looks_at_the_host_only():
    assert is_onion("http://x.onion:8080/")
    assert not is_onion("https://example.com/x.onion")
