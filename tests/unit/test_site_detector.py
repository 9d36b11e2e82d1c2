"""Fake-store and phishing site detection, and the RDAP client, against a sandbox build.

Pages are answered through the build's route table (no sockets): each labelled site's
pages become :class:`~brandhound.items.Site` objects as the surface spider captures them
(``crawlers.page_facts`` on the HTML, JavaScript-only shells as a browser renders them,
logo and favicon pHashes), with RDAP facts from the sandbox's own RDAP service.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from brandhound.items import Form, Image, Rdap, Site, Tls
from brandhound.profile import Allowlist, load_profile
from brandhound.urls import url_fields
from crawlers.items import Capture
from detectors.official_images import OfficialImages
from detectors.rdap import Bootstrap, RdapClient, RdapError, RdapNotFound, parse_domain
from detectors.site_detector import FAKE_STORE, PHISHING, SiteDetector, SiteScorer, page_text
from brandhound.page_fingerprint import HtmlFingerprint, OfficialReferences, ScreenshotFingerprint
from evaluation.sandbox import SandboxBuild, evaluate_sites
from evaluation.sandbox_sites import (
    sandbox_official_references,
    sandbox_rdap_client,
    sandbox_site_pages,
    score_sandbox_sites,
)
from sandbox.web import build
from sandbox.web.rdap import BOOTSTRAP_URL, HOST as RDAP_HOST
from sandbox.web.routes import Request
from tests.support.paths import EXAMPLE_BRAND

PROFILE = load_profile(EXAMPLE_BRAND)
NOW = datetime.now(timezone.utc)


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory) -> SandboxBuild:
    out = tmp_path_factory.mktemp("sandbox-sites")
    build(EXAMPLE_BRAND, out, listings_per_marketplace=10)
    return SandboxBuild(out)


@pytest.fixture(scope="module")
def images() -> OfficialImages:
    return OfficialImages.from_profile(PROFILE)


@pytest.fixture(scope="module")
def scorer(images) -> SiteScorer:
    return SiteScorer.from_profile(PROFILE, images)


@pytest.fixture(scope="module")
def results(sandbox, scorer):
    return score_sandbox_sites(scorer, sandbox, sandbox_rdap_client(sandbox))


def sites(sandbox: SandboxBuild, **match) -> list[dict]:
    return [p for p in sandbox.truth["pages"] if p["kind"] == "site" and all(p[k] == v for k, v in match.items())]


def signal_names(score) -> set[str]:
    return {s.name for s in score.signals if s.contribution > 0}


# --------------------------------------------------------------------------- the detector on the sandbox


def test_precision_and_recall_per_kind(sandbox):
    metrics = {m.kind: m for m in evaluate_sites(PROFILE, sandbox)}
    assert set(metrics) == {FAKE_STORE, PHISHING}
    for m in metrics.values():
        assert m.precision >= 0.95 and m.recall >= 0.95, m
    labels = [p["label"] for p in sites(sandbox)]
    assert metrics[FAKE_STORE].true_positives + metrics[FAKE_STORE].false_negatives == labels.count(FAKE_STORE)
    assert metrics[PHISHING].true_positives + metrics[PHISHING].false_negatives == labels.count(PHISHING) >= 3


def test_official_and_legitimate_sites_are_never_flagged(results):
    checked = 0
    for r in results:
        if r.truth["label"] in ("official", "legit"):
            for page in r.pages:
                assert page.finding.verdict == "clear", (r.truth["url"], page.finding.explanation)
                checked += 1
    assert checked >= 10


def test_legitimate_sites_stay_clear_without_the_allowlist(sandbox, images):
    """Press, reviewers and resellers show the brand's name, products and logo; that alone never flags."""
    bare = PROFILE.model_copy(update={"allowlist": Allowlist()})
    results = score_sandbox_sites(SiteScorer.from_profile(bare, images), sandbox, sandbox_rdap_client(sandbox))
    legit = [r for r in results if r.truth["label"] == "legit"]
    assert len(legit) >= 4
    for r in legit:
        assert not r.flagged, r.best.finding.explanation
        assert r.best.score > 0  # tied to the brand (it is about it), just not suspicious


def test_every_page_of_a_fake_site_gets_its_kind(results):
    for r in results:
        if r.truth["label"] not in (FAKE_STORE, PHISHING):
            continue
        for page in r.pages:
            assert page.finding.verdict == "flagged", (page.finding.url.full, page.finding.explanation)
            assert page.kind == r.truth["label"], (page.finding.url.full, page.finding.explanation)


def test_fake_store_signals_are_explained(results):
    store = next(r for r in results if r.truth["label"] == FAKE_STORE and r.truth["rendering"] == "static")
    checkout = next(p for p in store.pages if p.finding.url.path == "/checkout")
    names = signal_names(checkout)
    assert {"lookalike_domain", "checkout_posts_offsite", "discount_wording", "young_domain"} <= names
    assert "credential_form_offsite" not in names
    home = store.pages[0]
    expected = {"lookalike_domain", "brand_name", "product_names", "discount_wording", "official_logo"}
    assert expected <= signal_names(home)
    assert "-70%" in next(s.value for s in home.signals if s.name == "discount_wording")
    finding = checkout.finding
    assert finding.kind == FAKE_STORE and finding.subject.index == "sites"
    assert finding.explanation.startswith("fake store flagged at")
    assert sum(s.contribution for s in finding.signals) == pytest.approx(finding.score, abs=0.002)
    offsite = next(s for s in finding.signals if s.name == "checkout_posts_offsite")
    assert offsite.value == "pay-secure-gateway.top" and "posts to https://pay-secure-gateway.top" in offsite.evidence


def test_phishing_signals_are_explained(results):
    for r in (r for r in results if r.truth["label"] == PHISHING):
        names = signal_names(r.best)
        assert {"credential_form_offsite", "login_on_lookalike", "lookalike_domain"} <= names, r.truth["url"]
        assert r.best.finding.explanation.startswith("phishing flagged at")


def test_recoloured_logo_is_still_the_official_logo(results):
    """pHash ignores colour: a recoloured copy of the logo still matches (and the favicon is the brand's)."""
    recoloured = [r for r in results
                  if r.truth["label"] in (FAKE_STORE, PHISHING) and not r.truth["uses_official_logo"]]
    assert recoloured
    for r in recoloured:
        logo = [s for s in r.pages[0].signals if s.name == "official_logo"]
        assert logo and logo[0].contribution > 0, r.truth["url"]


def test_the_favicon_alone_ties_a_page_to_the_brand(sandbox, scorer):
    truth = sites(sandbox, label=FAKE_STORE, rendering="static")[0]
    site, text, _ = sandbox_site_pages(sandbox, truth)[0]
    site.logos = []
    logo = next(s for s in scorer.score(site, text).signals if s.name == "official_logo")
    assert "favicon" in logo.evidence


def test_young_domains_come_from_rdap(results):
    for r in results:
        site_age = [s for s in r.best.signals if s.name == "young_domain"]
        if r.truth["label"] in (FAKE_STORE, PHISHING):
            assert site_age and "RDAP" in site_age[0].evidence, r.truth["url"]
        else:
            assert not site_age


def test_fakes_are_still_flagged_without_rdap(sandbox, scorer):
    for r in score_sandbox_sites(scorer, sandbox, rdap=None):
        bad = r.truth["label"] in (FAKE_STORE, PHISHING)
        assert r.flagged == bad and (not bad or r.predicted == r.truth["label"]), r.best.finding.explanation


def test_javascript_shells_are_judged_on_what_the_browser_renders(sandbox, scorer):
    js = sites(sandbox, rendering="js")
    assert len(js) >= 3
    for truth in js:
        raw = sandbox.body(truth["url"]).decode()
        assert "<form" not in raw
        [(site, text, _)] = sandbox_site_pages(sandbox, truth)
        assert site.forms and site.forms[0].action in truth["form_actions"]
        assert scorer.score(site, text).kind == truth["label"]


def test_copies_of_the_official_site_are_recognised_and_legitimate_sites_are_not(sandbox, images):
    references = sandbox_official_references(sandbox)
    official_urls = {u for t in sites(sandbox, label="official") for u in t["pages"]}
    assert set(references.html) == official_urls
    scorer = SiteScorer.from_profile(PROFILE.model_copy(update={"allowlist": Allowlist()}), images, references)
    results = score_sandbox_sites(scorer, sandbox, sandbox_rdap_client(sandbox))
    copied = 0
    for r in results:
        for page in r.pages:
            similar = [s for s in page.signals if s.name == "html_similar_to_official"]
            if r.truth["label"] in ("legit", "official"):
                assert not similar and not r.flagged, page.finding.explanation
            elif similar:
                copied += 1
                matched = similar[0].evidence.rsplit(" ", 1)[1]
                assert matched in official_urls and float(similar[0].value) >= 0.5
    static = sum(len(t["pages"]) for t in sites(sandbox) if t["label"] in (FAKE_STORE, PHISHING)
                 and t["rendering"] == "static")
    assert copied >= static  # every page of a static copy (the rendered JS shells differ more)


def test_look_alikes_carry_the_recent_certificates_the_sandbox_serves(results):
    for r in results:
        recent = [s for s in r.best.signals if s.name == "recent_certificate"]
        assert bool(recent) == (r.truth["label"] in (FAKE_STORE, PHISHING)), r.truth["url"]
        assert r.truth["certificate_age_days"] < 30 if recent else r.truth["certificate_age_days"] >= 60


def test_a_screenshot_like_the_official_one_is_a_signal(sandbox, images):
    """The fake's JavaScript shell renders to other HTML than the official storefront, but looks the same."""
    from tests.unit.test_page_fingerprint import screenshot

    references = OfficialReferences()
    references.add("https://kestrava.com/", screenshot=screenshot())
    scorer = SiteScorer.from_profile(PROFILE, images, references)
    truth = sites(sandbox, label=FAKE_STORE, rendering="js")[0]
    [(site, text, _)] = sandbox_site_pages(sandbox, truth)
    copied = scorer.score(site, text, screenshot=ScreenshotFingerprint.of(screenshot(banner="#d7263d")))
    [signal] = [s for s in copied.signals if s.name == "screenshot_similar_to_official"]
    assert "https://kestrava.com/" in signal.evidence and float(signal.value) >= 0.8
    other = scorer.score(site, text, screenshot=ScreenshotFingerprint.of(screenshot(layout="article")))
    assert "screenshot_similar_to_official" not in signal_names(other) and other.score < copied.score
    # A copy of the official site ties a page to the brand even when nothing else does.
    blank = make_site("https://nordic-design-sale.shop/")
    assert scorer.score(blank, "", screenshot=ScreenshotFingerprint.of(screenshot())).score > 0
    assert scorer.score(blank, "").score == 0


# --------------------------------------------------------------------------- the scorer on hand-made sites


def make_site(url: str, *, title: str | None = None, forms: list[Form] = (), rdap: Rdap | None = None,
              tls: Tls | None = None, logos: list[Image] = ()) -> Site:
    return Site(url=url_fields(url), title=title, forms=list(forms), rdap=rdap, tls=tls, logos=list(logos))


def login_form(action: str, card: bool = False) -> Form:
    from brandhound.urls import registered_domain

    return Form(action=action, action_domain=registered_domain(action), method="post", has_password=True,
                has_card=card)


def test_unrelated_site_is_not_about_the_brand(scorer):
    site = make_site("https://example-forum.org/login", title="Sign in",
                     forms=[login_form("https://auth-provider.example.com/authorize")])
    result = scorer.score(site, "Sign in to the forum with your account")
    assert result.score == 0 and result.finding.verdict == "clear"
    assert "is tied to the brand" in result.finding.explanation


def test_official_and_allowlisted_domains_are_cleared(scorer):
    for url in ("https://shop.kestrava.com/checkout", "https://www.designlehti.fi/"):
        result = scorer.score(make_site(url, title="Kestrava", forms=[login_form("https://collector.xyz/g")]),
                              "Kestrava outlet -70% clearance")
        assert result.score == 0 and result.finding.verdict == "clear"
        assert result.finding.signals[0].name in ("official_domain", "allowlisted_domain")


def test_phishing_on_an_unrelated_domain_is_caught_by_its_form(scorer):
    """A compromised site hosting a brand login page: no look-alike domain, but the brand in the
    title and a password form posting to a collector elsewhere."""
    site = make_site("https://blog.some-bakery.fi/wp-content/k/", title="Sign in to your Kestrava account",
                     forms=[login_form("https://collect.example-drop.top/gate.php")])
    result = scorer.score(site, "Sign in to your Kestrava account. Unusual activity was detected.")
    assert result.finding.verdict == "flagged" and result.kind == PHISHING
    assert "credential_form_offsite" in signal_names(result)


def test_discount_wording_in_the_profile_languages(scorer):
    for text in ("Kestrava loppuunmyynti! Kaikki -60 %", "Kestrava liquidación total -75%",
                 "Kestrava wyprzedaż 70% taniej", "Kestrava outlet: save 80% today only"):
        names = signal_names(scorer.score(make_site("https://nordic-deals.shop/"), text))
        assert "discount_wording" in names, text
    calm = scorer.score(make_site("https://nordic-deals.shop/"), "Kestrava cups, 10% off for members")
    assert "discount_wording" not in signal_names(calm)


def test_young_domain_and_fresh_certificate_add_to_the_score(scorer):
    text = "Kestrava Aalto Espresso Cup"
    plain = scorer.score(make_site("https://nordic-cups.shop/"), text, now=NOW)
    young = scorer.score(make_site(
        "https://nordic-cups.shop/", rdap=Rdap(registrar="QuickCheap", created=NOW - timedelta(days=12)),
        tls=Tls(issuer="CN=R11, O=Let's Encrypt, C=US", not_before=NOW - timedelta(days=3),
                not_after=NOW + timedelta(days=87))), text, now=NOW)
    old = scorer.score(make_site("https://nordic-cups.shop/", rdap=Rdap(created=NOW - timedelta(days=3000))),
                       text, now=NOW)
    assert {"young_domain", "recent_certificate"} <= signal_names(young)
    assert young.score > plain.score == old.score
    assert "QuickCheap" in next(s.evidence for s in young.signals if s.name == "young_domain")
    expired = scorer.score(make_site("https://nordic-cups.shop/", tls=Tls(
        not_before=NOW - timedelta(days=400), not_after=NOW - timedelta(days=10))), text, now=NOW)
    assert "invalid_certificate" in signal_names(expired)


def test_page_text_leaves_scripts_out():
    assert page_text(b"<html><head><script>var kestrava=1</script></head><body><p>Hello <b>there</b></p>"
                     b"<style>p{}</style></body></html>") == "Hello there"
    assert page_text(b"") == "" and page_text(None) == ""


# --------------------------------------------------------------------------- the Scrapy hook


def test_detector_hook_finds_and_fills_rdap(sandbox):
    detector = SiteDetector(profile=PROFILE, rdap=sandbox_rdap_client(sandbox))
    phishing = sites(sandbox, label=PHISHING, rendering="static")[0]
    [(site, _, _)] = sandbox_site_pages(sandbox, phishing)[:1]
    site.rdap = None
    body = sandbox.body(phishing["pages"][0])
    [finding] = detector.detect(Capture(page=None, body=body, site=site))
    assert finding.kind == PHISHING and finding.verdict == "flagged"
    assert site.rdap is not None and site.rdap.created is not None and site.rdap.registrar_abuse_email
    assert finding.subject.id == site.doc_id()

    official = sites(sandbox, label="official")[0]
    [(site, _, _), *_] = sandbox_site_pages(sandbox, official)
    assert detector.detect(Capture(page=None, body=sandbox.body(official["url"]), site=site)) == []
    assert detector.detect(Capture(page=None, body=b"")) == []


def test_detector_hook_compares_captures_with_the_spiders_official_references(sandbox):
    from tests.unit.test_page_fingerprint import screenshot

    class Spider:
        profile = PROFILE
        official_references = OfficialReferences()

    class Crawler:
        spider = Spider()
        settings = {"BRANDHOUND_RDAP_BOOTSTRAP": "off"}

    detector = SiteDetector(Crawler())
    store = sites(sandbox, label=FAKE_STORE, rendering="static")[0]
    site, _, html = sandbox_site_pages(sandbox, store)[0]
    capture = Capture(page=None, body=html.encode(), screenshot=screenshot(), site=site)
    assert not {"html_similar_to_official", "screenshot_similar_to_official"} & signal_names(
        detector.detect(capture)[0])
    # The spider fills its references while the crawl runs; the detector sees them as they come.
    official = sites(sandbox, label="official")[1]
    Spider.official_references.add(official["url"], sandbox.body(official["url"]), screenshot())
    [finding] = detector.detect(capture)
    assert {"html_similar_to_official", "screenshot_similar_to_official"} <= signal_names(finding)
    assert HtmlFingerprint.of(html).similarity(Spider.official_references.html[official["url"]]) >= 0.7


def test_detector_hook_reads_its_rdap_settings(tmp_path):
    class Crawler:
        settings = {"BRANDHOUND_RDAP_BOOTSTRAP": "off"}

    detector = SiteDetector(Crawler(), profile=PROFILE)
    assert detector.rdap() is None


# --------------------------------------------------------------------------- RDAP client


class CountingFetch:
    """A fetcher over the build's route table that counts requests."""

    def __init__(self, sandbox: SandboxBuild, override: dict[str, tuple[int, bytes]] | None = None):
        self.sandbox = sandbox
        self.override = override or {}
        self.urls: list[str] = []

    def __call__(self, url: str, timeout: float):
        from urllib.parse import urlsplit

        self.urls.append(url)
        if url in self.override:
            status, body = self.override[url]
            return status, {"Content-Type": "application/rdap+json"}, body
        parts = urlsplit(url)
        resp = self.sandbox.table.respond(Request("GET", parts.hostname, parts.path, parts.query, scheme="https"))
        return resp.status, dict(resp.headers), resp.body


def test_rdap_registration_facts_of_every_sandbox_site(sandbox):
    client = sandbox_rdap_client(sandbox)
    for truth in sites(sandbox):
        record = client.lookup(truth["domain"])
        age = record.age_days(NOW)
        if truth["label"] in (FAKE_STORE, PHISHING):
            assert age is not None and 0 <= age < 90, truth["domain"]
        else:
            assert age is not None and age > 365, truth["domain"]
        assert record.registrar and record.registrar_iana_id
        assert record.abuse_email and "@" in record.abuse_email
        assert len(record.nameservers) >= 2 and record.expires > record.created
        item = record.to_item()
        assert (item.registrar, item.registrar_abuse_email, item.created) == (
            record.registrar, record.abuse_email, record.created)


def test_rdap_asks_for_the_registered_domain_in_punycode(sandbox):
    fetch = CountingFetch(sandbox)
    client = RdapClient(BOOTSTRAP_URL, fetch=fetch)
    assert client.lookup("https://shop.kestrava.com/checkout?x=1").ldh_name == "kestrava.com"
    idn = client.lookup("késtrava.com")
    assert idn.ldh_name == "xn--kstrava-bya.com" and idn.unicode_name == "késtrava.com"
    sub = client.lookup("kestrava.com.account-verify.info")
    assert sub.domain == "account-verify.info"
    assert fetch.urls == [BOOTSTRAP_URL, f"https://{RDAP_HOST}/domain/kestrava.com",
                          f"https://{RDAP_HOST}/domain/xn--kstrava-bya.com",
                          f"https://{RDAP_HOST}/domain/account-verify.info"]


def test_rdap_caches_answers_and_unknown_names(sandbox):
    fetch = CountingFetch(sandbox)
    client = RdapClient(BOOTSTRAP_URL, fetch=fetch)
    first = client.lookup("kestrava-login.com")
    assert client.lookup("www.kestrava-login.com") is first
    for _ in range(2):
        with pytest.raises(RdapNotFound, match="not registered"):
            client.lookup("never-registered-anywhere.com")
    assert len(fetch.urls) == 3  # bootstrap, one answer, one 404
    assert client.try_lookup("never-registered-anywhere.com") is None


def test_rdap_without_a_server_for_the_tld(sandbox):
    client = RdapClient(BOOTSTRAP_URL, fetch=CountingFetch(sandbox))
    with pytest.raises(RdapError, match=r"no RDAP server for \.museum"):
        client.lookup("kestrava.museum")


@pytest.mark.parametrize("body, message", [
    (b"<html>502 Bad Gateway</html>", "not valid JSON"),
    (b'{"objectClassName": "domain", "ldhName": ', "not valid JSON"),
    (b"\xff\xfe\x00garbage", "not valid JSON"),
    (b'["domain"]', "JSON list, not an object"),
    (b'{"objectClassName": "entity", "handle": "X"}', "not a domain object"),
    (b'{"errorCode": 429, "title": "Too Many Requests"}', "RDAP error"),
])
def test_rdap_malformed_answers_raise_clear_errors(sandbox, body, message):
    url = f"https://{RDAP_HOST}/domain/kestrava.net"
    client = RdapClient(BOOTSTRAP_URL, fetch=CountingFetch(sandbox, {url: (200, body)}))
    with pytest.raises(RdapError, match=message):
        client.lookup("kestrava.net")
    assert client.try_lookup("kestrava.net") is None


def test_rdap_http_errors(sandbox):
    url = f"https://{RDAP_HOST}/domain/kestrava.net"
    client = RdapClient(BOOTSTRAP_URL, fetch=CountingFetch(sandbox, {url: (503, b"busy")}))
    with pytest.raises(RdapError, match="HTTP 503"):
        client.lookup("kestrava.net")


def test_rdap_odd_but_valid_answers_are_read_leniently():
    record = parse_domain({
        "objectClassName": "domain", "ldhName": "EXAMPLE-SHOP.TOP",
        "events": [{"eventAction": "registration", "eventDate": "2026-03-01T10:00:00.123+02:00"},
                   {"eventAction": "expiration", "eventDate": "not a date"}, "junk", {"eventDate": 5}],
        "entities": [
            "junk",
            {"objectClassName": "entity", "roles": ["registrar"], "handle": "42",
             "vcardArray": ["vcard", [["version", {}, "text", "4.0"], ["org", {}, "text", "Registrar Org"], ["fn"]]]},
            {"objectClassName": "entity", "roles": ["abuse"],
             "vcardArray": ["vcard", [["email", {}, "uri", "mailto:Abuse@Registrar.Example"]]]},
        ],
        "nameservers": [{"ldhName": "NS1.Example."}, {"ldhName": None}, "x"],
        "status": "active",
    }, "example-shop.top")
    assert record.created == datetime(2026, 3, 1, 8, 0, 0, 123000, tzinfo=timezone.utc)
    assert record.expires is None
    assert record.registrar == "Registrar Org" and record.abuse_email == "abuse@registrar.example"
    assert record.nameservers == ("ns1.example",) and record.status == ()
    empty = parse_domain({"objectClassName": "domain", "entities": {"not": "a list"}, "events": None}, "x.com")
    assert empty.created is None and empty.registrar is None and empty.age_days() is None


def test_rdap_bootstrap_from_a_file_and_its_errors(sandbox, tmp_path):
    path = tmp_path / "dns.json"
    path.write_bytes(sandbox.body(BOOTSTRAP_URL))
    fetch = CountingFetch(sandbox)
    client = RdapClient(path, fetch=fetch)
    assert client.lookup("kestrava.fi").registrar
    assert fetch.urls == [f"https://{RDAP_HOST}/domain/kestrava.fi"]
    boot = Bootstrap.from_json({"services": [[["com"], ["http://plain.example/rdap", "https://tls.example/rdap/"]],
                                             [["co.uk"], ["https://uk.example/"]]]})
    assert boot.server_for("a.example.com") == "https://tls.example/rdap/"
    assert boot.server_for("example.co.uk") == "https://uk.example/"

    broken = tmp_path / "broken.json"
    broken.write_text('{"services": [')
    for source, message in ((tmp_path / "missing.json", "cannot read"), (broken, "not valid JSON")):
        with pytest.raises(RdapError, match=message):
            RdapClient(source, fetch=fetch).lookup("kestrava.fi")
    with pytest.raises(RdapError, match="no 'services' list"):
        Bootstrap.from_json({"version": "1.0"})
    # A failed bootstrap is not retried on every lookup.
    failing = CountingFetch(sandbox, {BOOTSTRAP_URL: (500, b"")})
    client = RdapClient(BOOTSTRAP_URL, fetch=failing)
    for _ in range(3):
        assert client.try_lookup("kestrava.fi") is None
    assert failing.urls == [BOOTSTRAP_URL]


def test_rdap_client_from_settings(tmp_path):
    env = {"BRANDHOUND_RDAP_BOOTSTRAP": str(tmp_path / "dns.json"), "BRANDHOUND_EGRESS_PROXY": "http://127.0.0.1:9",
           "BRANDHOUND_RDAP_TIMEOUT": "2.5"}
    client = RdapClient.from_settings(None, env)
    assert client is not None and client.timeout == 2.5
    assert RdapClient.from_settings({"BRANDHOUND_RDAP_BOOTSTRAP": "off"}, env) is None
    with pytest.raises(RdapError, match="not a number"):
        RdapClient.from_settings(None, {**env, "BRANDHOUND_RDAP_TIMEOUT": "soon"})


# --------------------------------------------------------------------------- the sandbox RDAP service


def test_sandbox_rdap_service_speaks_rdap(sandbox):
    def get(path: str):
        return sandbox.table.respond(Request("GET", RDAP_HOST, path, scheme="https"))

    resp = get("/domain/kestrava-outlet.shop")
    assert resp.status == 200 and ("Content-Type", "application/rdap+json") in resp.headers
    obj = json.loads(resp.body)
    assert obj["objectClassName"] == "domain" and obj["ldhName"] == "kestrava-outlet.shop"
    assert "rdap_level_0" in obj["rdapConformance"]
    assert [e["eventAction"] for e in obj["events"]][0] == "registration"
    [registrar] = obj["entities"]
    assert registrar["roles"] == ["registrar"] and registrar["vcardArray"][0] == "vcard"
    assert registrar["entities"][0]["roles"] == ["abuse"]
    unicode_query = get("/domain/k%C3%A9strava.com")
    assert json.loads(unicode_query.body)["unicodeName"] == "késtrava.com"
    missing = get("/domain/unknown-domain.com")
    assert missing.status == 404 and json.loads(missing.body)["errorCode"] == 404
    assert get("/domain/not_a_domain").status == 400
    assert get("/help").status == 200
    boot = json.loads(sandbox.body(BOOTSTRAP_URL))
    tlds = set(boot["services"][0][0])
    assert {"com", "fi", "net", "shop", "store", "info", "xyz", "top"} <= tlds
    assert sandbox.truth["rdap"]["bootstrap"] == BOOTSTRAP_URL
    assert json.loads((Path(sandbox.dir) / "build.json").read_text())["rdap_bootstrap"] == BOOTSTRAP_URL


def test_detector_hook_reads_the_html_and_screenshot_the_evidence_pipeline_stored(sandbox, tmp_path):
    """The evidence pipeline runs first, stores the bytes and lets them go: the detector reads them back."""
    from brandhound.evidence import EvidenceStore
    from brandhound.items import Page
    from tests.unit.test_page_fingerprint import screenshot

    class Spider:
        profile = PROFILE
        official_references = OfficialReferences()

    class Crawler:
        spider = Spider()
        settings = {"BRANDHOUND_RDAP_BOOTSTRAP": "off", "BRANDHOUND_EVIDENCE_DIR": str(tmp_path)}

    official = sites(sandbox, label="official")[1]
    Spider.official_references.add(official["url"], sandbox.body(official["url"]), screenshot())
    store = sites(sandbox, label=FAKE_STORE, rendering="static")[0]
    site, _, html = sandbox_site_pages(sandbox, store)[0]
    evidence = EvidenceStore(tmp_path)
    page = Page(url=site.url, file=evidence.put(html.encode(), suffix=".html", mime_type="text/html"),
                screenshot=evidence.put(screenshot(), suffix=".png", mime_type="image/png"))
    [finding] = SiteDetector(Crawler()).detect(Capture(page=page, body=None, screenshot=None, site=site))
    assert {"html_similar_to_official", "screenshot_similar_to_official", "discount_wording"} <= signal_names(finding)
    # A file gone from the store is logged and the capture judged on the rest.
    (tmp_path / page.screenshot.path).unlink()
    [finding] = SiteDetector(Crawler()).detect(Capture(page=page, site=site))
    assert "screenshot_similar_to_official" not in signal_names(finding) and finding.verdict == "flagged"
