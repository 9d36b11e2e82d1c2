"""Every Kibana saved search, run by the real Elasticsearch over a sandbox crawl, finds what it is meant to.

The marketplace, paste and surface spiders crawl the sandbox web into indices of their own; the
campaigns are assigned as the pipeline's job does. No onion crawl runs here (it needs the private
Tor network, minutes of bootstrap): a few onion findings are indexed directly, beside the crawled
ones, and so are takedown notices, which nothing drafts in a crawl.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from brandhound.items import BrandRef, Campaign, Crawl, Finding, Recipient, StatusChange, Subject, Takedown, Url
from brandhound.store import open_store
from brandhound.urls import canonicalize
from reporting.saved_objects import HIGH_CONFIDENCE, SAVED_SEARCHES
from tests.support.paths import EXAMPLE_BRAND
from tests.integration.crawls import _all, _crawl_into_own_indices, truth

BRAND = BrandRef(id="kestrava", name="Kestrava")
ONION_URLS = [f"http://{'a' * 56}.onion/listing/{i}" for i in range(3)]


def _onion_finding(url: str, verdict: str) -> Finding:
    return Finding(kind="counterfeit_listing", score=0.95 if verdict == "flagged" else 0.2, threshold=0.7,
                   verdict=verdict, brand=BRAND, subject=Subject(index="listings", id=url[-1], url=url),
                   url=Url(full=url, domain=url.split("/")[2]), crawl=Crawl(spider="onion_market", source_type="onion"))


def _takedown(name: str, status: str, days_ago: int) -> Takedown:
    at = datetime.now(timezone.utc) - timedelta(days=days_ago)
    history = [StatusChange(status="draft", at=at)] + ([StatusChange(status=status, at=at)] if status != "draft" else [])
    return Takedown(recipient=Recipient(kind="marketplace", name=name), status=status, history=history, brand=BRAND,
                    campaign=Campaign(id=f"cmp-{name}"))


@pytest.fixture(scope="module")
def crawled(base_settings, es_node, sandbox_web, tmp_path_factory):
    from brandhound.profile import load_profile
    from detectors.campaigns import assign_campaigns
    from detectors.official_images import OfficialImages

    for settings, es, _, _ in _crawl_into_own_indices(base_settings, sandbox_web, tmp_path_factory,
                                                      "bh-test-kibana", "marketplace", "paste", "surface"):
        profile = load_profile(EXAMPLE_BRAND)
        assign_campaigns(es, settings.es.index_prefix, profile.id, OfficialImages.from_profile(profile))
        with open_store(settings) as store:
            for i, url in enumerate(ONION_URLS):
                store.add(_onion_finding(url, "flagged" if i else "clear"))
            for name, status, days in (("BazaarHub", "draft", 3), ("Tori Market", "draft", 1),
                                       ("Registrar", "sent", 2), ("Host", "removed", 5)):
                store.add(_takedown(name, status, days))
        yield settings, es


def run(es, settings, slug: str) -> list[dict]:
    """The saved search's query and filters as Kibana sends them, on its data view's index."""
    search = next(s for s in SAVED_SEARCHES if s.slug == slug)
    index = f"{settings.es.index_prefix}-{search.item_type.INDEX}"
    es.indices.refresh(index=index)
    hits = es.search(index=index, size=10_000, query=search.es_query(),
                     sort=[{name: order} for name, order in search.sort])["hits"]["hits"]
    return [h["_source"] for h in hits]


def test_every_saved_search_runs_on_elasticsearch_and_finds_something(crawled):
    settings, es = crawled
    empty = [s.slug for s in SAVED_SEARCHES if not run(es, settings, s.slug)]
    assert empty == []


def test_high_confidence_counterfeits_are_the_labelled_counterfeits_above_the_cut(crawled, sandbox_web):
    settings, es = crawled
    found = run(es, settings, "high-confidence-counterfeits-7d")
    counterfeit = {canonicalize(p["url"]) for p in truth(sandbox_web)["pages"]
                   if p["kind"] in ("listing", "bad") and p.get("label") == "counterfeit"}
    crawled_findings = [f for f in _all(es, settings, "findings") if f["crawl"].get("source_type") != "onion"]
    expected = {f["url"]["full"] for f in crawled_findings if f["kind"] == "counterfeit_listing"
                and f["verdict"] == "flagged" and f["score"] >= HIGH_CONFIDENCE and f["url"]["full"] in counterfeit}
    got = {f["url"]["full"] for f in found if f["crawl"].get("source_type") != "onion"}
    assert len(expected) >= 100
    assert got == expected  # every one a labelled counterfeit: no genuine listing passes the cut
    assert [f["score"] for f in found] == sorted((f["score"] for f in found), reverse=True)


def test_fake_stores_and_phishing_are_the_labelled_sites(crawled, sandbox_web):
    settings, es = crawled
    sites = [p for p in truth(sandbox_web)["pages"] if p["kind"] == "site"]

    def hosts_labelled(*labels: str) -> set[str]:  # as crawled: punycode or Unicode
        return {s[key] for s in sites if s["label"] in labels for key in ("domain", "domain_unicode")}

    stores = run(es, settings, "fake-stores-by-brand")
    phishing = run(es, settings, "phishing-sites")
    store_hosts = {f["url"]["domain"] for f in stores}
    phishing_hosts = {f["url"]["domain"] for f in phishing}
    assert store_hosts and store_hosts <= hosts_labelled("fake_store")
    # A fake store's checkout page asks for cards on another domain: phishing, on the fake store's host.
    assert phishing_hosts <= hosts_labelled("phishing", "fake_store")
    found = store_hosts | phishing_hosts
    for labels, hosts in ((("phishing",), phishing_hosts), (("phishing", "fake_store"), found)):
        missed = [s["domain"] for s in sites if s["label"] in labels and not {s["domain"], s["domain_unicode"]} & hosts]
        assert missed == [], labels
    assert not found & hosts_labelled("official", "legit")
    assert {f["brand"]["id"] for f in stores + phishing} == {"kestrava"}


def test_new_corporate_credentials_are_the_dumps_corporate_accounts(crawled, sandbox_web):
    settings, es = crawled
    pastes = [p for p in truth(sandbox_web)["pages"] if p["kind"] == "paste"]
    corporate = {c["user"].lower() for p in pastes for c in p["credentials"] if c["corporate"]}
    found = run(es, settings, "new-corporate-credentials-7d")
    assert {f["user"]["email"] for f in found} == corporate
    assert all("*" in f["secret"]["masked"] for f in found)


def test_onion_findings_are_only_the_onion_ones(crawled):
    settings, es = crawled
    found = run(es, settings, "onion-findings")
    assert sorted(f["url"]["full"] for f in found) == sorted(ONION_URLS)


def test_takedowns_awaiting_approval_are_the_drafts_oldest_first(crawled):
    settings, es = crawled
    found = run(es, settings, "takedowns-awaiting-approval")
    assert [t["recipient"]["name"] for t in found] == ["BazaarHub", "Tori Market"]


def test_campaign_findings_are_the_flagged_findings_in_a_campaign(crawled):
    settings, es = crawled
    found = run(es, settings, "campaign-findings")
    expected = [f for f in _all(es, settings, "findings") if f["verdict"] == "flagged" and f["campaign"].get("id")]
    assert len(found) == len(expected) > 100
    ids = [f["campaign"]["id"] for f in found]
    assert ids == sorted(ids)
