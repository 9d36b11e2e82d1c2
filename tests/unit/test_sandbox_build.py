"""The sandbox web's build: deterministic, complete, and consistent with its ground truth.

Pages are answered through the route table directly (no sockets); the
integration tests in tests/integration/test_sandbox_web.py go through the proxy.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from lxml import html as lxml_html
from PIL import Image

from brandhound.profile import load_profile
from sandbox.web import build
from sandbox.web.money import Rates
from sandbox.web.names import HOMOGLYPHS
from sandbox.web.pastes import luhn_valid
from sandbox.web.routes import HostTable, Request
from tests.support.paths import EXAMPLE_BRAND

PROFILE = load_profile(EXAMPLE_BRAND)
MSRP = {p.sku: p.msrp for p in PROFILE.products}
RATES = Rates(PROFILE)


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("sandbox-web")
    truth_path = build(EXAMPLE_BRAND, out)
    return out, json.loads(truth_path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def table(built) -> HostTable:
    return HostTable(built[0])


def fetch(table: HostTable, url: str, method: str = "GET"):
    parts = urlsplit(url)
    return table.respond(Request(method, parts.hostname, parts.path or "/", parts.query, scheme=parts.scheme))


def pages(truth: dict, kind: str, **match) -> list[dict]:
    return [p for p in truth["pages"] if p["kind"] == kind and all(p.get(k) == v for k, v in match.items())]


def tree_digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and p.suffix != ".pem" and "certs" not in p.parts}


# --------------------------------------------------------------------------- determinism


def test_same_seed_gives_identical_output(built, tmp_path):
    out, truth = built
    again = build(EXAMPLE_BRAND, tmp_path / "again")
    assert json.loads(again.read_text(encoding="utf-8")) == truth
    assert tree_digest(tmp_path / "again") == tree_digest(out)


def test_rebuilding_in_place_is_idempotent_and_keeps_the_ca(tmp_path):
    first = build(EXAMPLE_BRAND, tmp_path, listings_per_marketplace=20).read_bytes()
    ca = (tmp_path / "ca.pem").read_bytes()
    digest = tree_digest(tmp_path)
    assert build(EXAMPLE_BRAND, tmp_path, listings_per_marketplace=20).read_bytes() == first
    assert (tmp_path / "ca.pem").read_bytes() == ca
    assert tree_digest(tmp_path) == digest


def test_another_seed_gives_another_web(built, tmp_path):
    other = json.loads(build(EXAMPLE_BRAND, tmp_path, seed=7).read_text(encoding="utf-8"))
    assert [p.get("title") for p in other["pages"]] != [p.get("title") for p in built[1]["pages"]]


# --------------------------------------------------------------------------- the listing mix


def test_hundreds_of_listings_with_every_label_on_every_marketplace(built):
    truth = built[1]
    listings = pages(truth, "listing")
    assert len(listings) == 2 * 300
    per_site = Counter((p["site"], p["label"]) for p in listings)
    for market in PROFILE.marketplaces:
        for label in ("genuine", "counterfeit", "unrelated"):
            assert per_site[(market.name, label)] >= 60, (market.name, label)
    assert {p["currency"] for p in listings} >= {"EUR", "USD", "PLN", "BRL", "GBP"}
    assert len({p["url"] for p in listings}) == len(listings)


def test_marketplace_b_mixes_microdata_plain_html_and_javascript(built):
    tori = pages(built[1], "listing", site="Tori Market")
    mix = Counter((p["structured"], p["rendering"]) for p in tori)
    assert mix == {("microdata", "static"): 120, ("none", "static"): 120, ("none", "js"): 60}
    assert {p["structured"] for p in pages(built[1], "listing", site="BazaarHub")} == {"jsonld"}


def test_counterfeit_signals_are_all_represented_and_true(built):
    counterfeits = pages(built[1], "listing", label="counterfeit")
    signals = Counter(s for p in counterfeits for s in p["signals"])
    for lang in PROFILE.counterfeit_keywords:
        assert signals[f"counterfeit_wording:{lang}"] > 0, lang
    for kind in ("misspelling", "homoglyph", "leetspeak", "low_price"):
        assert signals[kind] > 0, kind
    assert len([s for s in signals if s.startswith("transformed_image:")]) == 6
    brand = PROFILE.names[0]
    glyphs = {g for gs in HOMOGLYPHS.values() for g in gs}
    for p in counterfeits:
        assert p["signals"], p["title"]
        if "homoglyph" in p["signals"]:
            assert set(p["title"]) & glyphs
        if "leetspeak" in p["signals"] or "misspelling" in p["signals"]:
            assert not re.search(rf"\b{brand}\b", p["title"], re.IGNORECASE), p["title"]
        for s in p["signals"]:
            if s.startswith("counterfeit_wording:"):
                words = PROFILE.counterfeit_keywords[s.split(":")[1]]
                text = f"{p['title']} {p['description']}".casefold()
                assert any(w.casefold() in text for w in words), p["title"]
        msrp = MSRP[p["product_sku"]]
        local_msrp = RATES.convert(msrp.amount, msrp.currency, p["currency"])
        assert ("low_price" in p["signals"]) == (p["price"] < 0.5 * local_msrp), p
        for kind in p["image_transforms"]:
            assert kind == "original" or f"transformed_image:{kind}" in p["signals"]


def test_genuine_and_unrelated_listings_look_innocent(built):
    words = [w.casefold() for ws in PROFILE.counterfeit_keywords.values() for w in ws]
    names = [n.casefold() for n in [*PROFILE.names, *PROFILE.misspellings]]
    for p in pages(built[1], "listing"):
        text = f" {p['title']} {p['description']} ".casefold()
        if p["label"] == "genuine":
            msrp = MSRP[p["product_sku"]]
            ratio = p["price"] / RATES.convert(msrp.amount, msrp.currency, p["currency"])
            assert 0.8 < ratio < 1.1, p
        if p["label"] == "unrelated":
            assert p["product_sku"] is None and not any(n in text for n in names), p["title"]
            assert set(p["image_transforms"]) == {"generated"}
        if p["label"] != "counterfeit":
            assert not [w for w in words if re.search(rf"(?<!\w){re.escape(w)}(?!\w)", text)], p["title"]


# --------------------------------------------------------------------------- served as described


def test_every_ground_truth_url_is_on_a_served_host(built, table):
    truth = built[1]
    assert set(truth["proxy_hosts"]) == set(table.hosts)
    urls = [*(s for seeds in truth["seeds"].values() for s in seeds)]
    for p in truth["pages"]:
        urls += [p["url"], *p.get("images", []), *p.get("pages", []), *p.get("form_actions", [])]
        urls += [u for u in (p.get("api_url"), p.get("html_url")) if u]
    for url in urls:
        assert urlsplit(url).hostname in truth["proxy_hosts"], url


def test_pages_answer_as_the_ground_truth_says(built, table):
    truth = built[1]
    expected_status = {"redirect_loop": 301, "http_404": 404, "http_500": 500, "http_429": 429}
    for p in truth["pages"]:
        status = expected_status.get(p.get("fault"), 200)
        assert fetch(table, p["url"]).status == status, p["url"]
        for url in [*p.get("images", []), *p.get("pages", []), *filter(None, [p.get("api_url"), p.get("html_url")])]:
            assert fetch(table, url).status == 200, url
    for url in (s for seeds in truth["seeds"].values() for s in seeds):
        resp = fetch(table, url)
        assert resp.status == 200 and b"href=" in resp.body, url


def _jsonld(doc) -> dict:
    (script,) = doc.xpath('//script[@type="application/ld+json"]/text()')
    return json.loads(script)


def test_static_listing_pages_show_exactly_the_ground_truth(built, table):
    for p in pages(built[1], "listing"):
        body = fetch(table, p["url"]).body
        if p["rendering"] == "js":
            assert p["title"].encode() not in body and b"<h1" not in body
            api = json.loads(fetch(table, p["api_url"]).body)
            assert (api["otsikko"], api["hinta_arvo"], api["valuutta"]) == (p["title"], p["price"], p["currency"])
            continue
        doc = lxml_html.fromstring(body)
        assert doc.xpath("string(//h1)").strip() == p["title"]
        assert doc.xpath("string(//title)").startswith(p["title"])
        assert p["seller"] in doc.text_content()
        if p["structured"] == "jsonld":
            data = _jsonld(doc)
            assert data["name"] == p["title"] and data["image"] == p["images"]
            assert float(data["offers"]["price"]) == p["price"]
            assert data["offers"]["priceCurrency"] == p["currency"]
            assert data["offers"]["seller"]["name"] == p["seller"]
            assert data.get("sku") == p["sku"]
        elif p["structured"] == "microdata":
            assert float(doc.xpath('string(//*[@itemprop="price"]/@content)')) == p["price"]
            assert doc.xpath('string(//*[@itemprop="priceCurrency"]/@content)') == p["currency"]
        else:
            assert not doc.xpath("//*[@itemprop]") and not doc.xpath('//script[@type="application/ld+json"]')


@pytest.mark.parametrize(("currency", "sample"), [("EUR", r"^\d{1,3}( \d{3})*,\d\d €$"), ("PLN", r" zł$"),
                                                   ("BRL", r"^R\$ "), ("USD", r"^\$\d"), ("GBP", r"^£\d")])
def test_marketplace_b_writes_prices_in_local_formats(built, table, currency, sample):
    shown = []
    for p in pages(built[1], "listing", site="Tori Market", currency=currency, rendering="static"):
        doc = lxml_html.fromstring(fetch(table, p["url"]).body)
        shown.append(doc.xpath('string(//*[@class="hinta"])'))
    assert shown and all(re.search(sample, s) for s in shown), shown[:5]


def test_search_and_categories_paginate_over_every_listing(built, table):
    truth = built[1]
    for market in ("https://www.bazaarhub.com", "https://torimarket.fi"):
        expected = {urlsplit(p["url"]).path for p in truth["pages"]
                    if p["kind"] in ("listing", "bad") and p["url"].startswith(market)}
        seen: set[str] = set()
        for seed in (s for s in truth["seeds"]["marketplace"] if s.startswith(market) and ("/c/" in s or "/osasto/" in s)):
            url, hops = seed, 0
            while url:
                doc = lxml_html.fromstring(fetch(table, url).body)
                seen |= {h for h in doc.xpath("//a/@href") if h.startswith(("/item/", "/ilmoitus/"))}
                nxt = doc.xpath('//a[@rel="next"]/@href | //a[contains(., "Seuraava")]/@href')
                url, hops = (market + nxt[0] if nxt else None), hops + 1
                assert hops < 100
        assert seen == expected, market


def test_search_matches_titles_case_insensitively(built, table):
    on_bazaar = [p for p in built[1]["pages"] if p.get("site") == "BazaarHub" and "title" in p]
    body = fetch(table, "https://www.bazaarhub.com/search?q=aalto+ESPRESSO").body.decode()
    shown = int(re.search(r"(\d+) results", body).group(1))
    assert shown >= sum(1 for p in on_bazaar if "aalto espresso" in p["title"].casefold()) > 0
    assert "No results" in fetch(table, "https://www.bazaarhub.com/search?q=zzzz").body.decode()


# --------------------------------------------------------------------------- sites


def test_lookalike_sites_cover_every_permutation(built, table):
    sites = pages(built[1], "site")
    by_label = Counter(s["label"] for s in sites)
    assert by_label["official"] == len(PROFILE.official_domains)
    assert by_label["fake_store"] + by_label["phishing"] >= 12 and by_label["phishing"] >= 3
    fakes = [s for s in sites if s["label"] in ("fake_store", "phishing")]
    assert {s["permutation"] for s in fakes} == {"typo", "homoglyph", "combosquat", "tld_swap", "hyphenation",
                                                 "subdomain"}
    assert sum(s["rendering"] == "js" for s in fakes) >= 3
    idn = next(s for s in fakes if s["permutation"] == "homoglyph")
    assert idn["domain"].startswith("xn--") and idn["domain_unicode"] != idn["domain"]
    official = set(PROFILE.official_domains)
    for s in fakes:
        assert s["domain"] not in official
        assert s["form_actions"] and all(urlsplit(a).hostname != s["domain"] for a in s["form_actions"])
        body = fetch(table, s["url"]).body.decode()
        if s["rendering"] == "js":
            assert "<form" not in body and "<input" not in body
            payload = json.loads(base64.b64decode(re.search(r'atob\("([^"]+)"\)', body).group(1)))
            assert payload["form"]["action"] in s["form_actions"]
        else:
            assert any(f'action="{a}"' in fetch(table, u).body.decode() for u in s["pages"] for a in s["form_actions"])
        logo = fetch(table, s["url"] + "static/logo.png").body
        assert (logo == PROFILE.logos[0].read_bytes()) == s["uses_official_logo"]
        assert fetch(table, s["url"] + "favicon.ico").body == PROFILE.logos[1].read_bytes()
    legit = {s["domain"] for s in sites if s["label"] == "legit"}
    assert set(PROFILE.allowlist.domains) < legit


def test_official_login_posts_to_itself(built, table):
    home = next(s for s in pages(built[1], "site", label="official") if s["domain"] == PROFILE.official_domains[0])
    assert home["form_actions"] == [f"https://{home['domain']}/login"]
    form_page = fetch(table, home["form_actions"][0]).body.decode()
    assert 'action="/login"' in form_page and 'type="password"' in form_page
    assert "not valid" in fetch(table, home["form_actions"][0], method="POST").body.decode()
    assert b'rel="icon"' in fetch(table, home["url"]).body


# --------------------------------------------------------------------------- pastes


def test_pastes_hold_exactly_the_listed_leaks(built, table):
    pastes = pages(built[1], "paste")
    assert len(pastes) >= 30
    corporate_domains = set(PROFILE.corporate_email_domains)
    cards = [c for p in pastes for c in p["cards"]]
    assert {(c["luhn_valid"], c["in_brand_bin"]) for c in cards} == {(True, True), (True, False), (False, True),
                                                                       (False, False)}
    assert {s["type"] for p in pastes for s in p["secrets"]} == {
        "aws_access_key_id", "github_token", "slack_token", "brand_api_key", "private_key"}
    formats = Counter(c["format"] for p in pastes for c in p["credentials"])
    assert set(formats) == {"email:password", "email;password", "user|password", "url:login:password"}
    assert any(c["corporate"] for p in pastes for c in p["credentials"])
    for p in pastes:
        raw = fetch(table, p["url"])
        assert raw.headers[0] == ("Content-Type", "text/plain; charset=utf-8")
        text = raw.body.decode()
        for c in p["credentials"]:
            assert c["user"] in text and c["password"] in text
            domain = c["user"].rpartition("@")[2] if "@" in c["user"] else None
            assert c["corporate"] == (domain in corporate_domains)
        for c in p["cards"]:
            assert c["text"] in text and luhn_valid(c["number"]) == c["luhn_valid"]
        for s in p["secrets"]:
            assert s["value"] in text
        assert fetch(table, p["html_url"]).status == 200
    assert any(p["secrets"][0]["value"].startswith(tuple(PROFILE.secret_prefixes))
               for p in pastes if p["secrets"] and p["secrets"][0]["type"] == "brand_api_key")


# --------------------------------------------------------------------------- images and faults


def test_listing_images_are_derived_from_the_official_photos(built, table):
    originals = {p.sku: p.images[0].read_bytes() for p in PROFILE.products}
    listing = next(p for p in pages(built[1], "listing", label="counterfeit") if len(set(p["image_transforms"])) > 1)
    for url, kind in zip(listing["images"], listing["image_transforms"]):
        data = fetch(table, url).body
        Image.open(io.BytesIO(data)).load()
        assert (data == originals[listing["product_sku"]]) == (kind == "original")


def test_bad_pages_are_bad_in_the_way_they_say(built, table):
    bad = {(p["fault"], p.get("encoding_variant")): p for p in pages(built[1], "bad")}
    assert {f for f, _ in bad} == {"broken_html", "wrong_encoding", "redirect_loop", "huge_page", "never_finishes",
                                    "corrupt_image", "decompression_bomb", "http_404", "http_500", "http_429"}
    cp1252 = fetch(table, bad[("wrong_encoding", "header_says_utf8_bytes_cp1252")]["url"])
    assert dict(cp1252.headers)["Content-Type"] == "text/html; charset=utf-8"
    with pytest.raises(UnicodeDecodeError):
        cp1252.body.decode("utf-8")
    assert bad[("wrong_encoding", "header_says_utf8_bytes_cp1252")]["title"] in cp1252.body.decode("cp1252")
    lying_meta = fetch(table, bad[("wrong_encoding", "meta_says_latin1_bytes_utf8")]["url"])
    assert b'<meta charset="iso-8859-1">' in lying_meta.body and dict(lying_meta.headers)["Content-Type"] == "text/html"
    broken = fetch(table, bad[("broken_html", None)]["url"]).body.decode()
    assert "<main></div></div>" in broken and "</html>" not in broken
    assert lxml_html.fromstring(broken).xpath("string(//h1)") == bad[("broken_html", None)]["title"]
    assert len(fetch(table, bad[("huge_page", None)]["url"]).body) >= 5 * 1024 * 1024
    loop = bad[("redirect_loop", None)]
    first = fetch(table, loop["url"])
    assert dict(first.headers)["Location"] == urlsplit(loop["loop"][1]).path
    assert dict(fetch(table, loop["loop"][1]).headers)["Location"] == urlsplit(loop["url"]).path
    assert fetch(table, bad[("never_finishes", None)]["url"]).hang
    with pytest.raises(OSError, match="truncated"):
        Image.open(io.BytesIO(fetch(table, bad[("corrupt_image", None)]["fault_url"]).body)).load()
    bomb = fetch(table, bad[("decompression_bomb", None)]["fault_url"]).body
    assert len(bomb) < 1024 * 1024
    with pytest.raises(Image.DecompressionBombError):
        Image.open(io.BytesIO(bomb))
    for p in bad.values():
        assert ("title" in p) == (p["expect"] in ("extract", "retry_then_extract", "refuse"))
