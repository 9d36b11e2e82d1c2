"""The multi-brand domain scorer: every name against every brand at once, each result naming its brand,
and the context signals (phishing wording, free hosts, deep subdomains) that raise a match but never make one."""

from __future__ import annotations

import io
import json

import pytest

from brandhound.profile import DetectionProfile
from detectors.domain_brands import MultiBrandScorer
from detectors.domain_cli import score_domain_command
from detectors.domain_similarity import DOMAIN_THRESHOLD

BRANDS = [
    DetectionProfile(id="paypal", name="PayPal", names=["PayPal"], official_domains=["paypal.com", "paypal.me"]),
    DetectionProfile(id="microsoft", name="Microsoft", names=["Microsoft", "Outlook", "Office 365"],
                     official_domains=["microsoft.com", "live.com", "office.com", "outlook.com"]),
    DetectionProfile(id="dhl", name="DHL", names=["DHL"], official_domains=["dhl.com"]),
    DetectionProfile(id="interac", name="Interac", names=["Interac"], official_domains=["interac.ca"]),
    DetectionProfile(id="apple", name="Apple", names=["Apple", "iCloud"], official_domains=["apple.com", "icloud.com"]),
]


@pytest.fixture(scope="module")
def scorer() -> MultiBrandScorer:
    return MultiBrandScorer(BRANDS)


@pytest.mark.parametrize("host, brand, signal", [
    ("paypal-secure-login.xyz", "paypal", "combosquat"),
    ("xn--pypal-4ve.com", "paypal", "homoglyph"),
    ("paypal.com.account-verify.info", "paypal", "brand_in_subdomain"),
    ("paypal-verify.weebly.com", "paypal", "brand_in_subdomain"),
    ("d-h-l-delivery.com", "dhl", "hyphenation"),
    ("dhl-parcel-redeliver.com", "dhl", "combosquat"),
    ("outlook-verify.live", "microsoft", "combosquat"),
    ("lnterac-etransfer.com", "interac", "combosquat"),
    ("secure-appleid-verify.com", "apple", "combosquat"),
])
def test_phishing_hosts_name_their_brand(scorer, host, brand, signal):
    r = scorer.score(host)
    assert r.brand == brand and r.score >= DOMAIN_THRESHOLD, r
    assert signal in [s.name for s in r.result.signals], r
    assert all(s.evidence for s in r.result.signals)
    assert abs(sum(s.contribution for s in r.result.signals) - r.score) < 1e-3


@pytest.mark.parametrize("host", [
    "pineapples.com", "hicloudcam.com", "first-aid.org", "cloud.example.com", "delivery.com", "live.example.org",
    "www.apple.com.edgekey.net", "login.microsoftonline.com.example.net.akadns.net", "example.com", "",
])
def test_benign_names_stay_clear(scorer, host):
    r = scorer.score(host)
    assert r.score < DOMAIN_THRESHOLD, r


def test_official_domains_clear_for_their_brand(scorer):
    r = scorer.score("www.paypal.com")
    assert r.brand == "paypal" and r.score == 0 and r.result.signals[0].name == "official_domain"


def test_context_alone_never_flags(scorer):
    for host in ["secure-login-verify-account.weebly.com", "a.b.c.d.e.account-update.xyz"]:
        r = scorer.score(host)
        assert r.score == 0 and not r.result.signals, r


def test_candidates_come_from_the_index(scorer):
    assert scorer.candidates("paypal-login.com") == {"paypal"}
    assert "paypal" in scorer.candidates("paypql-login.com")      # a typo keeps half the name
    assert scorer.candidates("example.org") == set()


def test_score_domain_command_with_flags_and_directory(tmp_path):
    out = io.StringIO()
    assert score_domain_command(None, ["paypal-login.xyz", "example.com"], official_domains=["paypal.com"],
                                names=["PayPal"], out=out) == 0
    rows = [json.loads(x) for x in out.getvalue().splitlines()]
    assert [(r["brand"], r["verdict"]) for r in rows] == [("paypal", "flagged"), (None, "clear")]
    for p in BRANDS[:2]:
        (tmp_path / f"{p.id}.yaml").write_text(
            f"id: {p.id}\nname: {p.name}\nnames: {p.names}\nofficial_domains: {p.official_domains}\n")
    out = io.StringIO()
    assert score_domain_command(str(tmp_path), ["outlook-login.xyz", "paypal-login.xyz"], out=out) == 0
    assert [json.loads(x)["brand"] for x in out.getvalue().splitlines()] == ["microsoft", "paypal"]
    assert score_domain_command(None, ["x.com"], names=["A"], out=io.StringIO()) == 2
    assert score_domain_command(str(tmp_path / "missing"), ["x.com"], out=io.StringIO()) == 2


def test_a_swap_across_the_middle_of_a_name_is_a_candidate():
    # Two neighbours swapped at the middle break both halves of the name; the swapped forms are indexed too.
    scorer = MultiBrandScorer([DetectionProfile(id="kestrava", name="Kestrava", names=["Kestrava"],
                                                official_domains=["kestrava.com"])])
    assert scorer.candidates("kesrtava.com") == {"kestrava"}
    r = scorer.score("kesrtava.com")
    assert r.brand == "kestrava" and r.score >= DOMAIN_THRESHOLD and r.result.signals[0].name == "typo", r
