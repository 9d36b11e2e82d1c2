"""Hostile input, property-based: the parsers that read what scam sites and dumps send never crash,
return what their contract says, and stay within a time bound per input (hypothesis ``deadline``)
and a memory bound per input (tracemalloc peak, on the largest inputs).

Each strategy mixes random text with the tricks hostile pages use: zero-width and bidi
characters, homoglyphs, invalid UTF-8, huge and deeply nested markup, IDN and URL tricks.
"""

from __future__ import annotations

import math
import tracemalloc
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from brandhound.config import HmacKey
from brandhound.profile import load_profile
from brandhound.urls import UrlError, canonicalize, registered_domain
from brandhound.html_text import decode_html
from crawlers.listing_extraction import MAX_HTML, extract_listing
from crawlers.prices import parse_price
from detectors.domain_similarity import DomainScorer
from detectors.leak_scan import LeakScanner
from tests.support.paths import EXAMPLE_BRAND

PROFILE = load_profile(EXAMPLE_BRAND)
KEY = HmacKey(key=b"fuzz-key-" * 4, id="fuzz")
#: Per input: generous for a 2-core CI machine under load, far below "hangs".
PER_INPUT = settings(deadline=timedelta(seconds=2), max_examples=150,
                     suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
#: Memory one input may take at its peak, over what the input itself holds.
PEAK_BOUND = 64 * 1024 * 1024

TRICKS = ["\u200b", "\u200d", "\u202e", "\u2066", "\ufeff", "\u00ad", "е", "ο", "Κ", "𝐊", "ｋ", "\x00", "\r\n", "\t"]
trick_text = st.lists(st.one_of(st.text(max_size=40), st.sampled_from(TRICKS),
                                st.sampled_from(["Kestrava", "K3strava", "Kеstrava", "replica", "1:1", "€", "zł", "R$"])),
                      max_size=30).map("".join)


def html_documents() -> st.SearchStrategy[str]:
    attr = st.sampled_from(['itemprop="price"', 'itemprop="name"', 'class="price"', 'property="og:title"',
                            'itemtype="https://schema.org/Product"', "itemscope", 'content="12,99"'])
    tag = st.sampled_from(["div", "span", "h1", "p", "script", "meta", "a", "table", "td", "title"])
    element = st.builds(lambda t, a, body: f"<{t} {a}>{body}</{t}>", tag, attr, trick_text)
    jsonld = st.builds(lambda name, price: '<script type="application/ld+json">{"@type":"Product","name":%s,'
                       '"offers":{"price":%s,"priceCurrency":"EUR"}}</script>' % (name, price),
                       st.sampled_from(['"Kestrava cup"', "null", "[]", '{"a":', "1e999", '"\\ud800"']),
                       st.sampled_from(["1", '"1,5"', "-0", "NaN", "1e308", "[]", "{}", '"€ 12"']))
    return st.lists(st.one_of(element, jsonld, trick_text, st.sampled_from(["<", "<!--", "]]>", "<?xml", "&#0;", "&#xD800;"])),
                    max_size=25).map("".join)


@PER_INPUT
@given(html_documents(), st.sampled_from(["https://www.bazaarhub.com/item/1-x", "http://xn--kstrava-bya.com/p/2"]))
@example("<div>" * 5000 + "Kestrava" + "</div>" * 5000, "https://www.bazaarhub.com/item/nested")
@example('<?xml version="1.0" encoding="utf-8"?><html><h1>x</h1></html>', "https://www.bazaarhub.com/item/xml")
def test_listing_extractor_survives_hostile_markup(text, url):
    listing = extract_listing(text, url)
    if listing.price is not None:
        assert math.isfinite(listing.price)
    for value in (listing.title, listing.description, listing.seller):
        assert value is None or isinstance(value, str)
    assert all(isinstance(u, str) for u in listing.images)


@PER_INPUT
@given(st.binary(max_size=4000), st.sampled_from(["text/html", "text/html; charset=utf-8", "text/html; charset=koi8-r",
                                                   "text/html; charset=no-such-charset", ""]))
def test_page_decoding_takes_any_bytes(body, content_type):
    text = decode_html(body, content_type)[0]
    assert isinstance(text, str)
    text.encode("utf-8")  # no lone surrogates smuggled through


@PER_INPUT
@given(trick_text, st.sampled_from([None, "EUR", "PLN", "BRL", "xx"]), st.sampled_from([None, "fi", "pl", "com.br", "se"]))
@example("9" * 400 + " €", None, None)
@example("₿ 0.0012 BTC (€ 1e308)", None, None)
def test_price_parser_returns_a_finite_amount_or_nothing(text, hint, tld):
    amount, currency = parse_price(text, currency_hint=hint, tld=tld)
    assert amount is None or (isinstance(amount, float) and math.isfinite(amount))
    assert currency is None or (len(currency) == 3 and currency.isupper())


url_parts = st.sampled_from(["http://", "https://", "HTTPS://", "file://", "data:", "javascript:", "//", "ftp://", ""])
hosts = st.sampled_from(["kestrava.com", "xn--kstrava-bya.com", "kеstrava.com", "127.0.0.1", "[::1]", "169.254.169.254",
                         "user:pass@kestrava.com", "kestrava.com:99999", "kestrava.com.", "xn--", "a" * 300 + ".com", ""])


@PER_INPUT
@given(url_parts, hosts, trick_text)
@example("https://", "kestrava.com", "/a?" + "x=1&" * 5000)
def test_url_canonicalisation_accepts_or_refuses_clearly(scheme, host, rest):
    url = f"{scheme}{host}/{rest}"
    try:
        canonical = canonicalize(url)
    except UrlError as exc:
        assert str(exc), "a refusal says what is wrong"
        return
    assert canonical.startswith(("http://", "https://"))
    assert "@" not in canonical.split("/")[2], "credentials never survive canonicalisation"
    assert canonicalize(canonical) == canonical, "canonicalisation is idempotent"
    registered_domain(canonical)


SCORER = DomainScorer(PROFILE.official_domains, PROFILE.names, PROFILE.misspellings, PROFILE.allowlist.domains)


@PER_INPUT
@given(st.one_of(trick_text, st.builds(lambda a, b: f"{a}.{b}", trick_text, st.sampled_from(["com", "shop", "xn--p1ai", "", "."]))))
@example("k" * 5000 + ".com")
@example("kestrava\u200b.com")
@example("xn--kestrava-\u202e.com")
def test_domain_scorer_scores_anything_in_range(domain):
    score = SCORER.score(domain)
    assert 0.0 <= score.score <= 1.0
    assert all(s.name for s in score.signals)


def _scanner() -> LeakScanner:
    return LeakScanner.from_profile(PROFILE, KEY)


dump_lines = st.lists(st.one_of(
    st.binary(max_size=200),
    st.builds(lambda u, p, sep: f"{u}@kestrava.com{sep}{p}".encode("utf-8", "surrogatepass"),
              st.text(max_size=20), st.text(max_size=30), st.sampled_from([":", ";", "|", "\t"])),
    st.sampled_from([b"4556701234567891", b"kst_live_" + b"A" * 30, b"\xff\xfe\x00a\x00:", b"\xc3\x28", b"\x00" * 64]),
), max_size=40).map(b"\n".join)


@PER_INPUT
@given(dump_lines)
def test_leak_scanner_takes_any_bytes_and_never_returns_a_clear_secret(dump):
    for hit in _scanner().scan(dump):
        secret = hit.secret
        assert secret.length >= 1 and len(secret.hmac) == 64
        assert secret.masked.count("*") >= 1 or secret.length <= 1


@pytest.mark.parametrize("name, make", [
    ("50 MB page", lambda: "<html><body>" + "<p>Kestrava replica 1:1 €9,99</p>" * 1_500_000 + "</body></html>"),
    ("nesting 100,000 deep", lambda: "<div>" * 100_000 + "Kestrava" + "</div>" * 100_000),
])
def test_huge_and_deep_pages_are_extracted_within_a_memory_bound(name, make, caplog):
    text = make()
    tracemalloc.start()
    try:
        extract_listing(text, "https://www.bazaarhub.com/item/huge")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # lxml's tree lives outside Python's allocator; what Python allocates must stay bounded.
    assert peak < PEAK_BOUND + 2 * MAX_HTML, f"{name}: peak {peak / 2**20:.0f} MiB"
    if len(text) > MAX_HTML:
        assert "only its first" in caplog.text, "a cut page says so"


def test_a_one_line_dump_of_200_mb_is_scanned_within_a_memory_bound():
    def chunks():
        block = b"x" * (1 << 20)
        for _ in range(200):
            yield block
        yield b"\nceo@kestrava.com:Winter2026!\n"

    tracemalloc.start()
    try:
        hits = list(_scanner().scan(chunks()))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [h.account for h in hits] == ["ceo@kestrava.com"]
    assert peak < PEAK_BOUND, f"peak {peak / 2**20:.0f} MiB"
