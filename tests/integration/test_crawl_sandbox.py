"""Crawling the sandbox web end to end into Elasticsearch, scored against its ground truth."""

from __future__ import annotations

import json

import pytest

from brandhound.urls import canonicalize
from sandbox.web.faults import RETRY_AFTER_S, THROTTLED_REQUESTS
from tests.support.paths import EXAMPLE_BRAND
from tests.integration.crawls import _all, _crawl_into_own_indices, crawl, docs, evidence_ok, truth


@pytest.fixture(scope="module")
def marketplace_crawl(base_settings, es_node, sandbox_web, tmp_path_factory):
    """One marketplace crawl shared by the tests of this module (it takes about a minute)."""
    yield from _crawl_into_own_indices(base_settings, sandbox_web, tmp_path_factory, "bh-test-market", "marketplace")


def _expected_listings(t: dict) -> list[dict]:
    pages = [p for p in t["pages"] if p["kind"] == "listing"]
    # Bad pages that still carry a listing count too, except the 5 MB page that the size cap refuses.
    pages += [p for p in t["pages"] if p["kind"] == "bad" and p.get("title") and p["fault"] != "huge_page"]
    return pages


def test_listings_are_extracted_accurately(marketplace_crawl, sandbox_web):
    settings, es, summary, _ = marketplace_crawl
    listings = docs(es, settings, "listings")
    expected = _expected_listings(truth(sandbox_web))
    assert len(expected) >= 600
    correct, wrong = 0, []
    for page in expected:
        got = listings.get(canonicalize(page["url"]))
        ok = (got is not None and " ".join((got.get("title") or "").split()) == " ".join(page["title"].split())
              and got.get("price", {}).get("amount") == pytest.approx(page["price"])
              and got.get("price", {}).get("currency") == page["currency"])
        if ok:
            correct += 1
        else:
            wrong.append((page["url"], page["title"], page["price"], page["currency"],
                          got and (got.get("title"), got.get("price"))))
    rate = correct / len(expected)
    assert rate >= 0.98, f"title/price/currency correct on {rate:.1%}; first misses: {wrong[:5]}"
    assert summary["brandhound/es/rejected"] == 0
    assert summary["playwright/browser_count"] == 1  # one Chromium for http and https alike


def test_javascript_only_listings_are_rendered_with_a_screenshot(marketplace_crawl, sandbox_web):
    settings, es, _, _ = marketplace_crawl
    home = sandbox_web[0]
    pages = docs(es, settings, "pages")
    js = [p for p in truth(sandbox_web)["pages"] if p["kind"] == "listing" and p["rendering"] == "js"]
    assert js
    for page in js:
        doc = pages[canonicalize(page["url"])]
        assert doc["crawl"]["renderer"] == "browser"
        assert evidence_ok(home, doc["screenshot"]), page["url"]
        assert evidence_ok(home, doc["file"]), page["url"]


def test_listing_photos_are_fetched_until_one_matches_an_official_photo(marketplace_crawl, sandbox_web):
    from brandhound.profile import load_profile
    from detectors.official_images import OfficialImages

    settings, es, summary, _ = marketplace_crawl
    home = sandbox_web[0]
    official = OfficialImages.from_profile(load_profile(EXAMPLE_BRAND))
    listings = docs(es, settings, "listings")
    # Listings on the bad pages (a bomb or corrupt photo among them) count too.
    label = {canonicalize(p["url"]): p.get("label") for p in truth(sandbox_web)["pages"] if p["kind"] in ("listing", "bad")}
    brand = [doc for url, doc in listings.items() if label.get(url) in ("genuine", "counterfeit") and doc.get("images")]
    with_match, skipped = 0, 0
    for doc in brand:
        images = doc["images"]
        first = next((i for i, img in enumerate(images) if official.match(img.get("phash"))), None)
        if first is None:  # no match: every photo was fetched (a refused or broken one keeps only its URL)
            continue
        with_match += 1
        assert all("phash" in img for img in images[:first + 1]), doc["url"]["full"]
        assert not any("phash" in img for img in images[first + 1:]), doc["url"]["full"]
        skipped += len(images) - first - 1
        for img in images[:first + 1]:
            assert len(img["phash"]) == 16 and img["width"] > 0 and evidence_ok(home, img["file"])
    assert with_match >= 0.9 * len(brand)
    assert skipped > 0 and summary["brandhound/images/not_fetched_after_match"] == skipped


def test_images_of_unrelated_listings_are_not_fetched_but_their_urls_are_kept(marketplace_crawl, sandbox_web):
    settings, es, summary, _ = marketplace_crawl
    listings = docs(es, settings, "listings")
    unrelated = [listings[canonicalize(p["url"])] for p in truth(sandbox_web)["pages"]
                 if p["kind"] == "listing" and p["label"] == "unrelated" and canonicalize(p["url"]) in listings]
    assert unrelated
    skipped = [img for doc in unrelated for img in doc.get("images", []) if "phash" not in img]
    assert all(img.get("url") for img in skipped)
    # Unrelated listings that name one of the brand's product types (an "espresso cup") still
    # get their images fetched: a stealth counterfeit looks like that. The rest do not.
    assert len(skipped) >= 0.5 * sum(len(doc.get("images", [])) for doc in unrelated)
    assert summary["brandhound/images/not_fetched_unrelated"] == len(skipped)


def test_counterfeit_findings_in_elasticsearch_match_the_ground_truth(marketplace_crawl, sandbox_web):
    settings, es, _, _ = marketplace_crawl
    findings = [f for f in docs(es, settings, "findings").values() if f["kind"] == "counterfeit_listing"]
    label = {canonicalize(p["url"]): p["label"] for p in truth(sandbox_web)["pages"] if p["kind"] == "listing"}
    flagged = {f["url"]["full"] for f in findings if f["verdict"] == "flagged"}
    counterfeit = {url for url, lab in label.items() if lab == "counterfeit"}
    tp = len(flagged & counterfeit)
    precision, recall = tp / max(1, len(flagged)), tp / len(counterfeit)
    assert precision >= 0.95 and recall >= 0.95, (precision, recall)
    one = next(f for f in findings if f["verdict"] == "flagged")
    assert one["signals"] and one["explanation"] and one["subject"]["index"] == "listings"


def test_counterfeit_findings_of_one_seller_form_one_campaign(marketplace_crawl, sandbox_web):
    from brandhound.profile import load_profile
    from detectors.campaigns import assign_campaigns
    from detectors.official_images import OfficialImages

    settings, es, _, _ = marketplace_crawl
    profile = load_profile(EXAMPLE_BRAND)
    counts = assign_campaigns(es, settings.es.index_prefix, profile.id, OfficialImages.from_profile(profile))
    assert counts["campaigns"] >= 2 and counts["in_campaigns"] > 0.5 * counts["findings"]
    findings = [f for f in docs(es, settings, "findings").values() if f["verdict"] == "flagged"]
    listings = docs(es, settings, "listings")
    by_seller: dict[tuple, set] = {}
    for f in findings:
        listing = listings[f["url"]["full"]]
        by_seller.setdefault((listing["marketplace"], listing["seller"]["name"]), set()).add(f["campaign"].get("id"))
    # Each seller's flagged listings carry exactly one campaign id.
    assert all(len(ids) == 1 and None not in ids for key, ids in by_seller.items()
               if sum(1 for f in findings if (listings[f["url"]["full"]]["marketplace"],
                                              listings[f["url"]["full"]]["seller"]["name"]) == key) > 1)
    again = assign_campaigns(es, settings.es.index_prefix, profile.id, OfficialImages.from_profile(profile))
    assert {**again, "updated": counts["updated"]} == counts and again["updated"] == 0, "a second run changes nothing"


def test_sellers_join_dates_are_extracted_and_new_sellers_explained(marketplace_crawl, sandbox_web):
    settings, es, _, _ = marketplace_crawl
    listings = docs(es, settings, "listings")
    expected = [p for p in truth(sandbox_web)["pages"] if p["kind"] == "listing"]
    joined = [p for p in expected if (listings.get(canonicalize(p["url"])) or {}).get("seller", {}).get("joined")]
    assert len(joined) >= 0.95 * len(expected)
    # Every page showing a seller, the bad pages that still carry a listing included.
    shown = [p for p in truth(sandbox_web)["pages"] if "seller_joined_days" in p]
    new = {canonicalize(p["url"]) for p in shown if p["seller_joined_days"] < 90 and p["seller"] not in
           ("Kestrava Official Store", "Design Outlet Helsinki (authorised)") and p["label"] != "unrelated"}
    explained = {f["url"]["full"] for f in docs(es, settings, "findings").values()
                 if any(s["name"] == "new_seller" for s in f["signals"])}
    assert new and len(new & explained) >= 0.95 * len(new) and explained <= new


def test_bad_pages_are_survived_with_a_clear_log_line(marketplace_crawl, sandbox_web):
    settings, es, summary, log = marketplace_crawl
    assert summary["finish_reason"] == "finished"
    bad = {p["fault"]: p for p in truth(sandbox_web)["pages"] if p["kind"] == "bad"}
    listings = docs(es, settings, "listings")
    pages = docs(es, settings, "pages")
    huge = bad["huge_page"]["url"]
    assert "larger than download max size" in log and huge in log
    assert canonicalize(huge) not in pages
    bomb = bad["decompression_bomb"]
    assert "refused: decompression bomb" in log
    bomb_listing = listings[canonicalize(bomb["url"])]  # the listing stays; its bomb image has no hashes
    assert any("phash" not in img for img in bomb_listing["images"])
    assert canonicalize(bad["corrupt_image"]["url"]) in listings
    assert "not a readable image" in log
    for fault in ("redirect_loop", "never_finishes", "http_404", "http_500"):
        assert f"fetch failed: {bad[fault]['url']}" in log, fault
    assert canonicalize(bad["http_429"]["url"]) in listings
    # Every retry waited first; the 429 page's two retries at least the second its Retry-After asks.
    assert summary["retry/count"] > 0 and summary["brandhound/retry/waits"] == summary["retry/count"]
    assert summary["brandhound/retry/wait_seconds"] >= THROTTLED_REQUESTS * RETRY_AFTER_S


@pytest.fixture(scope="module")
def surface_crawl(base_settings, es_node, sandbox_web, tmp_path_factory):
    """One surface crawl (Chromium captures of every candidate site) shared by the tests below."""
    yield from _crawl_into_own_indices(base_settings, sandbox_web, tmp_path_factory, "bh-test-surface", "surface")


def test_fake_stores_are_captured_in_the_browser(surface_crawl, sandbox_web):
    settings, es, summary, _ = surface_crawl
    sites = docs(es, settings, "sites")
    pages = docs(es, settings, "pages")
    expected = [p for p in truth(sandbox_web)["pages"] if p["kind"] == "site"]
    assert summary["brandhound/sites/captured"] >= len(expected)
    for site in expected:
        doc = sites[canonicalize(site["url"])]
        page = pages[canonicalize(site["url"])]
        assert evidence_ok(sandbox_web[0], page["screenshot"]), site["url"]
        assert doc.get("title"), site["url"]
        if site["label"] not in {"fake_store", "phishing"}:
            continue
        # The credential forms, on the landing page or on the login page it links to.
        same_site = [d for d in sites.values() if d["url"]["registered_domain"] == doc["url"]["registered_domain"]]
        actions = {f["action"] for d in same_site for f in d.get("forms", [])}
        assert set(site["form_actions"]) <= actions, site["url"]
        if site["uses_official_logo"]:
            assert doc.get("favicon", {}).get("phash") or any("phash" in logo for logo in doc.get("logos", [])), site["url"]


def test_fake_stores_and_phishing_sites_are_flagged_from_what_the_browser_captured(surface_crawl, sandbox_web):
    settings, es, _, _ = surface_crawl
    sites = [p for p in truth(sandbox_web)["pages"] if p["kind"] == "site"]
    findings = [f for f in _all(es, settings, "findings") if f["kind"] in ("fake_store", "phishing")]
    flagged_hosts = {f["url"]["domain"] for f in findings if f["verdict"] == "flagged"}

    def flagged(site: dict) -> bool:  # the host as crawled, in punycode or Unicode
        return bool({site["domain"], site["domain_unicode"]} & flagged_hosts)

    bad = [s["domain"] for s in sites if s["label"] in ("fake_store", "phishing")]
    missed = [s["domain"] for s in sites if s["label"] in ("fake_store", "phishing") and not flagged(s)]
    assert len(missed) <= 0.05 * len(bad), missed
    wrongly = [s["domain"] for s in sites if s["label"] in ("official", "legit") and flagged(s)]
    assert wrongly == []
    # Registration facts came from the sandbox registry over RDAP and explain the young domains.
    site_docs = _all(es, settings, "sites")
    assert any((d.get("rdap") or {}).get("registrar") for d in site_docs)
    assert any(s["name"] == "young_domain" for f in findings for s in f["signals"])


def test_https_sites_carry_their_certificate_facts(surface_crawl, sandbox_web):
    from datetime import datetime, timezone

    settings, es, _, _ = surface_crawl
    sites = docs(es, settings, "sites")
    by_host = {host: p for p in truth(sandbox_web)["pages"] if p["kind"] == "site"
               for host in (p["domain"], p["domain_unicode"])}
    now = datetime.now(timezone.utc)
    checked = 0
    for doc in sites.values():
        assert doc["url"]["full"].startswith("https://")
        tls = doc.get("tls") or {}
        assert tls.get("issuer") and tls.get("not_before") and tls.get("not_after"), doc["url"]["full"]
        site = by_host.get(doc["url"]["domain"])
        if site is None:
            continue
        age = (now - datetime.fromisoformat(tls["not_before"].replace("Z", "+00:00"))).days
        assert abs(age - site["certificate_age_days"]) <= 1, (doc["url"]["full"], age, site["certificate_age_days"])
        checked += 1
    assert checked >= len(by_host) // 2
    findings = [f for f in _all(es, settings, "findings") if f["kind"] in ("fake_store", "phishing")]
    assert any(s["name"] == "recent_certificate" for f in findings for s in f["signals"])


def test_captures_are_compared_with_the_official_sites_html_and_screenshots(surface_crawl, sandbox_web):
    settings, es, _, _ = surface_crawl
    labels = {}
    for p in truth(sandbox_web)["pages"]:
        if p["kind"] == "site":
            labels[p["domain"]] = labels[p["domain_unicode"]] = p["label"]
    seen: dict[str, set[str]] = {}
    for f in _all(es, settings, "findings"):
        if f["kind"] in ("fake_store", "phishing"):
            names = {s["name"] for s in f["signals"]} & {"html_similar_to_official", "screenshot_similar_to_official"}
            seen.setdefault(labels.get(f["url"]["domain"], "?"), set()).update(names)
    assert seen["fake_store"] == seen["phishing"] == {"html_similar_to_official", "screenshot_similar_to_official"}
    assert not seen.get("legit")


def test_paste_dumps_are_fetched_but_never_stored_in_clear(settings, es, sandbox_web):
    summary, log = crawl(settings, sandbox_web, "paste")
    pastes = [p for p in truth(sandbox_web)["pages"] if p["kind"] == "paste"]
    pages = docs(es, settings, "pages")
    assert summary["brandhound/dumps/fetched"] == len(pastes)
    assert summary["playwright/browser_count"] == 0  # nothing to render: Chromium never started
    for paste in pastes:
        doc = pages[canonicalize(paste["url"])]
        assert len(doc["file"]["hash"]["sha256"]) == 64 and "path" not in doc["file"]
    leaks = _all(es, settings, "leaks")
    findings = _all(es, settings, "findings")
    everything = json.dumps(list(pages.values())) + json.dumps(leaks) + json.dumps(findings) + log
    for paste in pastes:
        for cred in paste["credentials"]:
            assert cred["password"] not in everything
        for card in paste["cards"]:
            assert card["number"] not in everything
    # Every corporate credential of the dumps is a leak (the e-mail in clear, the password masked
    # and keyed-hashed), seen in every paste that holds it; and each has a flagged finding.
    corporate = {c["user"].lower() for p in pastes for c in p["credentials"] if c["corporate"]}
    indexed = {(leak["user"]["email"] or "").lower(): leak for leak in leaks if leak["kind"] == "credential"}
    assert corporate and corporate <= set(indexed), sorted(corporate - set(indexed))[:5]
    for email in corporate:
        leak = indexed[email]
        assert "*" in leak["secret"]["masked"] and len(leak["secret"]["hmac"]) == 64
        seen_in = {p["url"] for p in pastes for c in p["credentials"] if c["user"].lower() == email}
        assert len(leak["sources"]) >= 1 and leak["threat"]["indicator"]["sightings"] >= 1, (email, seen_in)
    flagged = {f["subject"]["id"] for f in findings if f["kind"] == "credential_leak" and f["verdict"] == "flagged"}
    assert len(flagged) >= 0.95 * len(corporate)
