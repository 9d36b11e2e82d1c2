"""The sandbox's own listings still extract exactly after the real-page changes: title, price and currency."""

from brandhound.html_text import decode_html
from crawlers.listing_extraction import extract_listing


def test_every_static_sandbox_listing_extracts_its_title_price_and_currency(tmp_path):
    from evaluation.sandbox import SandboxBuild
    from sandbox.web import build
    from tests.support.paths import EXAMPLE_BRAND

    build(EXAMPLE_BRAND, tmp_path, listings_per_marketplace=40)
    sandbox = SandboxBuild(tmp_path)
    static = [p for p in sandbox.truth["pages"] if p["kind"] == "listing" and p["rendering"] == "static"]
    assert len(static) >= 60
    for page in static:
        got = extract_listing(decode_html(sandbox.body(page["url"]))[0], page["url"])
        assert (got.title, got.price, got.currency) == (page["title"], page["price"], page["currency"]), page["url"]
        assert got.price_source in {"jsonld", "microdata", "opengraph", "html"}, page["url"]
