"""Counterfeit listing scores, measured on the sandbox's labelled listings (text, price and photos)."""

from __future__ import annotations

import pytest

from brandhound.items import Listing, Price, Seller, Url
from brandhound.profile import load_profile
from detectors.counterfeit_listing import ListingScorer
from detectors.evaluation import SandboxBuild, evaluate_listings
from detectors.official_images import OfficialImages, is_degenerate
from detectors.scoring import Evidence, combine
from sandbox.web import build
from tests.conftest import EXAMPLE_BRAND

PROFILE = load_profile(EXAMPLE_BRAND)


@pytest.fixture(scope="module")
def scorer() -> ListingScorer:
    return ListingScorer(PROFILE, OfficialImages.from_profile(PROFILE))


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory) -> SandboxBuild:
    out = tmp_path_factory.mktemp("sandbox")
    build(EXAMPLE_BRAND, out, listings_per_marketplace=150)
    return SandboxBuild(out)


@pytest.fixture(scope="module")
def sandbox_listings(sandbox) -> list[tuple[dict, Listing]]:
    return sandbox.listings()


def test_noisy_or_contributions_sum_to_the_score():
    score, signals = combine([Evidence("a", "x", 0.8), Evidence("b", "y", 0.5, strength=0.5), Evidence("c", "z", 0.0)])
    assert score == pytest.approx(1 - 0.2 * 0.75)
    assert sum(s.contribution for s in signals) == pytest.approx(score, abs=1e-3)
    assert [s.name for s in signals] == ["a", "b", "c"]


def test_blank_images_never_match():
    assert is_degenerate("0000000000000000") and is_degenerate("ffffffffffffffff")
    assert OfficialImages.from_profile(PROFILE).match("8000000000000000") is None


def test_sandbox_counterfeits_are_flagged_with_precision_and_recall_of_at_least_95_percent(sandbox):
    metrics = evaluate_listings(PROFILE, sandbox)
    assert metrics.true_positives > 100
    assert metrics.precision >= 0.95 and metrics.recall >= 0.95, metrics


def test_a_flagged_listing_explains_itself(scorer, sandbox_listings):
    truth, listing = next((t, lst) for t, lst in sandbox_listings
                          if t["label"] == "counterfeit" and "low_price" in t["signals"] and "homoglyph" in t["signals"])
    finding = scorer.score(listing).finding
    names = {s.name for s in finding.signals}
    assert {"disguised_brand_name", "price_ratio"} <= names
    assert "homoglyphs" in next(s.evidence for s in finding.signals if s.name == "disguised_brand_name")
    assert finding.explanation.startswith("counterfeit listing flagged")
    assert finding.subject.index == "listings" and finding.subject.url == truth["url"]


def test_official_photos_are_recognised_in_listings(scorer, sandbox_listings):
    with_images = [(t, lst) for t, lst in sandbox_listings if t["label"] in ("genuine", "counterfeit")]
    matched = sum(1 for _, lst in with_images if scorer._image_evidence(lst))
    assert matched >= 0.9 * len(with_images)
    unrelated = [lst for t, lst in sandbox_listings if t["label"] == "unrelated"]
    assert sum(1 for lst in unrelated if scorer._image_evidence(lst)) == 0


def test_allowlisted_sellers_and_unrelated_listings_are_never_flagged(scorer):
    base = dict(url=Url(full="https://www.bazaarhub.com/item/1"), price=Price(amount=5.0, currency="EUR"))
    allowlisted = Listing(title="Kestrava Aalto Espresso Cup replica", seller=Seller(name="Kestrava Official Store"), **base)
    assert scorer.score(allowlisted).finding.verdict == "clear"
    unrelated = Listing(title="Tessera Porcelain Espresso Cup Set replica", seller=Seller(name="x"), **base)
    assert scorer.score(unrelated).finding is None
