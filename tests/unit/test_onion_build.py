"""The onion sandbox sites' build: deterministic, big enough, and consistent with onion_truth.json.

Pages are read from the build's route table (no Tor); the server is exercised on 127.0.0.1 for
its fault behaviour. tests/integration/test_onion_sandbox.py goes through real Tor.
"""

from __future__ import annotations

import hashlib
import http.client
import json
from collections import Counter
from pathlib import Path

import pytest
from lxml import html as lxml_html

from brandhound.profile import load_profile
from sandbox.onion import OnionSites, build, market
from sandbox.onion.builder import TRUTH_FILE
from sandbox.web.money import Rates
from sandbox.web.pastes import in_bin_ranges, luhn_valid, parse_bin_ranges
from tests.support.paths import EXAMPLE_BRAND

PROFILE = load_profile(EXAMPLE_BRAND)
RATES = Rates(PROFILE)


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("onion")
    truth_path = build(EXAMPLE_BRAND, out)
    assert truth_path == out / TRUTH_FILE
    return out, json.loads(truth_path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def routes(built) -> dict[str, dict]:
    table = json.loads((built[0] / "routes.json").read_text(encoding="utf-8"))["hosts"]
    return {site: table[site]["routes"] for site in table}


def body(built, routes, site: str, path: str) -> bytes:
    return (built[0] / routes[site][path]["file"]).read_bytes()


def doc(built, routes, site: str, path: str):
    return lxml_html.fromstring(body(built, routes, site, path))


def pages(truth: dict, kind: str, **match) -> list[dict]:
    return [p for p in truth["pages"] if p["kind"] == kind and all(p.get(k) == v for k, v in match.items())]


def text(tree, xpath: str) -> str:
    return " ".join(tree.xpath(xpath)[0].text_content().split())


def tree_digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_build_is_deterministic(built, tmp_path):
    again = build(EXAMPLE_BRAND, tmp_path / "again")
    assert tree_digest(again.parent) == tree_digest(built[0])


def test_counts_and_label_mix(built):
    truth = built[1]
    listings = pages(truth, "listing")
    threads = pages(truth, "thread")
    assert len(listings) >= 120 and len(threads) >= 40
    assert truth["sites"]["market"]["listings"] == len(listings)
    assert truth["sites"]["forum"]["threads"] == len(threads)
    labels = Counter(p["label"] for p in listings)
    assert labels["counterfeit"] > labels["genuine"] > 0 and labels["unrelated"] > 0
    assert {p["site"] for p in truth["pages"]} == {"market", "forum"}
    assert all(p["path"].startswith("/") for p in truth["pages"])  # paths, never URLs
    kinds = Counter((p["site"], p["kind"]) for p in truth["pages"])
    assert kinds[("market", "results")] >= 8 and kinds[("forum", "board")] >= 5
    assert {p["role"] for p in pages(truth, "other", site="market")} == {"login", "rules"}


def test_every_page_is_labelled_and_served(built, routes):
    truth = built[1]
    for site, table in routes.items():
        html_paths = {path for path, r in table.items() if r.get("type", "").startswith("text/html")}
        labelled = {p["path"] for p in truth["pages"] if p["site"] == site}
        assert html_paths == labelled, site
    for listing in pages(truth, "listing"):
        for image in listing["images"]:
            assert routes["market"][image]["type"].startswith("image/")


def test_listing_pages_match_their_labels(built, routes):
    brand_names = [n.casefold() for n in PROFILE.names]
    for entry in pages(built[1], "listing"):
        tree = doc(built, routes, "market", entry["path"])
        assert text(tree, "//h2[@class='title']") == entry["title"]
        assert tree.findtext(".//title").startswith(entry["title"])
        price = text(tree, "//td[@class='price']")
        assert price == entry["price_text"]
        assert f"{entry['price']:,.2f}" in price and ("€" in price) == (entry["currency"] == "EUR")
        assert f"{entry['crypto_price']:.{market.COIN_DECIMALS[entry['crypto_currency']]}f} {entry['crypto_currency']}" in price
        assert text(tree, "//td[@class='vendor']") == entry["seller"]
        assert entry["description"] in text(tree, "//div[@class='desc']")
        assert tree.xpath("//div[@class='pics']/img/@src") == entry["images"]
        assert 1 <= len(entry["images"]) <= 3
        assert not tree.xpath("//script[not(@type='application/ld+json')]")  # no JavaScript anywhere
        # The crypto price is the fiat price at the fixed rate.
        eur = RATES.convert(entry["price"], entry["currency"], "EUR")
        assert entry["crypto_price"] == pytest.approx(eur / market.EUR_PER_COIN[entry["crypto_currency"]], abs=1e-3)
        title = entry["title"].casefold()
        if entry["label"] == "genuine":
            assert any(title.startswith(n) for n in brand_names)
            assert entry["image_transforms"][0] in ("original", "resized")
        elif entry["label"] == "unrelated":
            assert not any(n in title for n in brand_names) and entry["product_sku"] is None
        else:
            assert entry["signals"] and entry["product_sku"]


def test_jsonld_on_some_listings_only(built, routes):
    listings = pages(built[1], "listing")
    structured = Counter(p["structured"] for p in listings)
    assert structured["jsonld"] >= 20 and structured["none"] >= 20
    for entry in listings:
        scripts = doc(built, routes, "market", entry["path"]).xpath("//script[@type='application/ld+json']/text()")
        if entry["structured"] == "none":
            assert scripts == []
            continue
        data = json.loads(scripts[0])
        assert data["@type"] == "Product" and data["name"] == entry["title"]
        assert data["offers"]["price"] == f"{entry['price']:.2f}"
        assert data["offers"]["priceCurrency"] == entry["currency"]
        assert data["image"] == entry["images"]


def test_results_pages_paginate_over_every_listing(built, routes):
    truth = built[1]
    index = sorted(pages(truth, "results", category=None), key=lambda p: p["page"])
    assert len(index) >= 2 and index[0]["path"] == "/"
    seen = []
    for n, entry in enumerate(index):
        tree = doc(built, routes, "market", entry["path"])
        assert tree.xpath("//a[@class='item']/@href") == entry["listings"]
        nxt = tree.xpath("//link[@rel='next']/@href")
        assert nxt == ([entry["next"]] if entry["next"] else [])
        assert entry["next"] == (index[n + 1]["path"] if n + 1 < len(index) else None)
        seen += entry["listings"]
    assert sorted(seen) == sorted(p["path"] for p in pages(truth, "listing"))
    for listing in pages(truth, "listing"):
        in_category = [p for p in pages(truth, "results", category=listing["category"])
                       if listing["path"] in p["listings"]]
        assert len(in_category) == 1


def test_boards_paginate_over_every_thread(built, routes):
    truth = built[1]
    seen = []
    boards = pages(truth, "board")
    assert any(p["next"] for p in boards)  # at least one board has a second page
    for entry in boards:
        tree = doc(built, routes, "forum", entry["path"])
        assert tree.xpath("//a[@class='thread']/@href") == entry["threads"]
        assert tree.xpath("//link[@rel='next']/@href") == ([entry["next"]] if entry["next"] else [])
        seen += entry["threads"]
    assert sorted(seen) == sorted(p["path"] for p in pages(truth, "thread"))


def test_thread_dumps_contain_the_labelled_leaks(built, routes):
    threads = pages(built[1], "thread")
    bins = parse_bin_ranges(list(PROFILE.card_bin_ranges))
    with_dumps = [t for t in threads if t["dumps"]]
    assert len(with_dumps) >= 20 and len(with_dumps) < len(threads)  # dumps and chatter
    creds = [c for t in threads for d in t["dumps"] for c in d["credentials"]]
    cards = [c for t in threads for d in t["dumps"] for c in d["cards"]]
    secrets = [s for t in threads for d in t["dumps"] for s in d["secrets"]]
    assert any(c["brand_domain"] for c in creds) and any(c["email"] and not c["brand_domain"] for c in creds)
    assert any(c["luhn_valid"] and c["in_brand_bin"] for c in cards)
    assert {"brand_api_key", "aws_access_key_id"} <= {s["type"] for s in secrets}
    for thread in threads:
        tree = doc(built, routes, "forum", thread["path"])
        assert text(tree, "//h2[@class='thread-title']") == thread["title"]
        posts = tree.xpath("//div[@class='post']")
        assert len(posts) == thread["posts"] >= 3
        dump_posts = {d["post"]: d for d in thread["dumps"]}
        for n, post in enumerate(posts, start=1):
            pre = post.xpath(".//pre")
            assert bool(pre) == (n in dump_posts)
            if not pre:
                continue
            dump = pre[0].text_content()
            lines = dump.splitlines()
            for cred in dump_posts[n]["credentials"]:
                line = next(line for line in lines if cred["user"] in line and line.endswith(cred["password"]))
                if cred["email"]:
                    assert cred["domain"] == cred["email"].rsplit("@", 1)[1]
                    assert cred["brand_domain"] == (cred["domain"] in PROFILE.corporate_email_domains)
                    if cred["format"] == "email:password":
                        assert line == f"{cred['email']}:{cred['password']}"
            for card in dump_posts[n]["cards"]:
                assert card["text"] in dump
                assert card["luhn_valid"] == luhn_valid(card["number"])
                assert card["in_brand_bin"] == in_bin_ranges(card["number"], bins)
            for secret in dump_posts[n]["secrets"]:
                assert secret["value"] in dump


def test_fault_listings_are_labelled_and_served_badly(built, routes):
    listings = pages(built[1], "listing")
    faults = {p["fault"]: p for p in listings if p["fault"]}
    assert set(faults) == {"slow", "http_503"}
    slow, flaky = faults["slow"], faults["http_503"]
    assert slow["label"] and flaky["label"] and slow["delay_seconds"] == market.SLOW_DELAY_S
    assert routes["market"][slow["path"]]["delay"] == market.SLOW_DELAY_S
    assert flaky["unavailable_requests"] == 2
    with OnionSites(built[0], {"market": 0, "forum": 0}) as sites:
        conn = http.client.HTTPConnection("127.0.0.1", sites.ports["market"], timeout=5)
        statuses = []
        for _ in range(3):  # one keep-alive connection throughout
            conn.request("GET", flaky["path"])
            resp = conn.getresponse()
            statuses.append((resp.status, resp.getheader("Retry-After")))
            last = resp.read()
        conn.close()
        assert statuses == [(503, "1"), (503, "1"), (200, None)]
        assert last == body(built, routes, "market", flaky["path"])
        conn = http.client.HTTPConnection("127.0.0.1", sites.ports["market"], timeout=5)
        conn.request("POST", "/login", body="username=a&password=b",
                     headers={"Content-Type": "application/x-www-form-urlencoded"})
        resp = conn.getresponse()
        assert resp.status == 200 and b"Wrong username" in resp.read()
        conn.request("GET", "/no/such/page")
        assert conn.getresponse().status == 404
        conn.close()
