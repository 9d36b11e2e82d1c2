"""HTML and screenshot fingerprints of pages, and their similarity to the brand's official pages."""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageDraw

from brandhound.page_fingerprint import HtmlFingerprint, OfficialReferences, ScreenshotFingerprint, jaccard

STORE = """<!doctype html><html><head><title>Kestrava</title><style>body{{}}</style></head><body>
<header class="site-header"><a href="/"><img src="/static/logo.png" alt="Kestrava"></a>
<nav><a href="/">Home</a><a href="/#products">Shop</a><a href="/login">Account</a></nav></header>{banner}
<main><h1>Kestrava &ndash; Nordic design for everyday life</h1><p>Designed in Helsinki. Made to last.</p>
<section id="products" class="grid">{cards}</section></main>
<footer class="site-footer">&copy; Kestrava Design Oy, Tehtaankatu 12 B, Helsinki. All rights reserved.</footer>
<script>var tracking = "ignored";</script></body></html>"""
CARD = ('<div class="card"><a href="/p/{n}"><img src="/i/{n}.jpg" alt="{name}"></a><h2>{name}</h2>'
        '<p class="price">{price}</p></div>')
PRODUCTS = ["Aalto Espresso Cup", "Kissa Cushion Cover", "Raketti Poster 50x70", "Avaruus Poster", "Tähti Art Print"]


def store(prices: list[str], banner: str = "") -> str:
    cards = "".join(CARD.format(n=i, name=name, price=p) for i, (name, p) in enumerate(zip(PRODUCTS, prices)))
    return STORE.format(banner=banner, cards=cards)


OFFICIAL = store(["39,00 €", "59,00 €", "79,00 €", "79,00 €", "129,00 €"])
COPY = store(["9,90 €", "14,90 €", "19,90 €", "19,90 €", "29,90 €"],
             '<div class="banner">OUTLET CLEARANCE: everything -70% today only</div>')
ARTICLE = """<!doctype html><html><head><title>Review | nordichomereview.com</title></head><body>
<header><a href="/">nordichomereview.com</a></header><article><h1>We tried the Kestrava Aalto Espresso Cup</h1>
<figure><img src="/i/cup.jpg"></figure><p>The Kestrava cup is thin, light and keeps coffee warm for long.</p>
<p>Verdict: a lovely cup, if pricey.</p></article><footer><p>&copy; nordichomereview.com</p></footer></body></html>"""


def test_identical_pages_are_the_same_and_a_copied_storefront_is_close():
    official = HtmlFingerprint.of(OFFICIAL)
    assert official.similarity(HtmlFingerprint.of(OFFICIAL.encode())) == pytest.approx(1.0)
    copy = official.similarity(HtmlFingerprint.of(COPY))
    assert 0.6 < copy < 1.0
    assert official.similarity(HtmlFingerprint.of(ARTICLE)) < 0.2 < copy


def test_scripts_and_styles_are_not_part_of_the_fingerprint():
    assert HtmlFingerprint.of(OFFICIAL) == HtmlFingerprint.of(OFFICIAL.replace("ignored", "another value"))


@pytest.mark.parametrize("html", [None, "", "   ", b""])
def test_no_html_has_an_empty_fingerprint_that_matches_nothing(html):
    references = OfficialReferences()
    references.add("https://kestrava.com/", OFFICIAL)
    assert references.closest_html(HtmlFingerprint.of(html)) is None


@pytest.mark.parametrize("html", [b"\x00\x01\xff", "<<<>>>", "<div>" * 5000, "<html><body><h1>only a title"])
def test_hostile_html_never_raises_and_resembles_nothing(html):
    assert HtmlFingerprint.of(html).similarity(HtmlFingerprint.of(OFFICIAL)) < 0.1


def test_jaccard_of_empty_sets_is_zero():
    assert jaccard(frozenset(), frozenset()) == 0.0 and jaccard(frozenset({1}), frozenset({1, 2})) == 0.5


# --------------------------------------------------------------------------- screenshots


def screenshot(banner: str | None = None, layout: str = "store", height: int = 2400) -> bytes:
    """A storefront-like rendering: header with logo, hero, a grid of product cards, a footer."""
    img = Image.new("RGB", (1280, height), "white")
    d = ImageDraw.Draw(img)
    if layout == "store":
        d.rectangle((0, 0, 1280, 90), fill="#1f3b4d")
        d.rectangle((40, 20, 200, 70), fill="#f2c14e")
        y = 110
        if banner:
            d.rectangle((0, y, 1280, y + 40), fill=banner)
            y += 50
        d.rectangle((40, y + 20, 900, y + 80), fill="#333333")
        for i in range(5):
            x, top = 40 + (i % 3) * 410, y + 140 + (i // 3) * 520
            d.rectangle((x, top, x + 380, top + 380), fill=("#a05a2c", "#6b8f71", "#c44536", "#283d3b", "#197278")[i])
            d.rectangle((x, top + 400, x + 300, top + 430), fill="#555555")
        d.rectangle((0, height - 80, 1280, height), fill="#1f3b4d")
    else:  # an article: a narrow column of text lines and one photo
        for y in range(60, height - 100, 36):
            d.rectangle((230, y, 1050 - (y * 37) % 300, y + 14), fill="#222222")
        d.rectangle((230, 400, 1050, 900), fill="#a05a2c")
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


def test_a_copied_rendering_is_close_and_another_layout_is_not():
    official = ScreenshotFingerprint.of(screenshot())
    same, view = official.similarity(ScreenshotFingerprint.of(screenshot()))
    assert same == 1.0 and view == "top viewport"
    copied, _ = official.similarity(ScreenshotFingerprint.of(screenshot(banner="#d7263d", height=2450)))
    assert copied >= 0.8
    other, _ = official.similarity(ScreenshotFingerprint.of(screenshot(layout="article")))
    assert other < 0.75 < copied


def test_unreadable_screenshots_have_no_fingerprint():
    assert ScreenshotFingerprint.of(None) is None and ScreenshotFingerprint.of(b"") is None
    assert ScreenshotFingerprint.of(b"not a png") is None


def test_references_name_the_closest_official_page():
    references = OfficialReferences()
    references.add("https://kestrava.com/", OFFICIAL, screenshot())
    references.add("https://kestrava.com/login", ARTICLE)
    references.add("https://kestrava.com/broken", "", b"not a png")  # nothing usable: not a reference
    assert len(references) == 2 and "https://kestrava.com/broken" not in references.html
    html = references.closest_html(HtmlFingerprint.of(COPY))
    assert html.url == "https://kestrava.com/" and html.similarity > 0.6 and html.view is None
    shot = references.closest_screenshot(ScreenshotFingerprint.of(screenshot(banner="#d7263d")))
    assert shot.url == "https://kestrava.com/" and shot.view in ("top viewport", "full page")
    assert OfficialReferences().closest_screenshot(ScreenshotFingerprint.of(screenshot())) is None
