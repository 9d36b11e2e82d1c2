"""Counterfeit listing scores, measured on the sandbox's labelled listings (text, price and photos)."""

from __future__ import annotations

import pytest

from brandhound.items import Listing, Price, Seller, Url
from brandhound.profile import load_profile
from detectors.counterfeit_listing import ListingScorer
from evaluation.sandbox import SandboxBuild, evaluate_listings
from detectors.official_images import OfficialImages, is_degenerate
from detectors.scoring import Evidence, combine
from sandbox.web import build
from tests.support.paths import EXAMPLE_BRAND

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


# --------------------------------------------------------------------------- seller context


def _listing(**seller) -> Listing:
    return Listing(url=Url(full="https://www.bazaarhub.com/item/2"), title="Kestrava Aalto Espresso Cup",
                   price=Price(amount=36.0, currency="EUR"), seller=Seller(name="someone", **seller))


def test_a_new_seller_is_a_signal_counted_from_the_capture_time(scorer):
    from datetime import datetime, timedelta, timezone

    now = datetime(2026, 11, 24, tzinfo=timezone.utc)
    fresh = scorer.score(_listing(joined=now - timedelta(days=12)), now=now).finding
    signal = next(s for s in fresh.signals if s.name == "new_seller")
    assert signal.value == "12 days" and "2026-11-12" in signal.evidence
    nearing = next(s for s in scorer.score(_listing(joined=now - timedelta(days=80)), now=now).finding.signals
                   if s.name == "new_seller")
    assert nearing.contribution < signal.contribution
    for established in (_listing(joined=now - timedelta(days=90)), _listing(joined=now - timedelta(days=900)),
                        _listing()):
        assert "new_seller" not in {s.name for s in scorer.score(established, now=now).finding.signals}
    # The profile sets the limit; alone the signal never flags a listing.
    strict = ListingScorer(PROFILE.model_copy(update={"new_seller_days": 7}))
    assert "new_seller" not in {s.name for s in strict.score(_listing(joined=now - timedelta(days=12)), now=now)
                                .finding.signals}
    assert fresh.verdict == "clear"


def test_unexpected_origin_is_context_only_and_needs_the_profile_field(scorer):
    names = lambda s, listing: {x.name for x in s.score(listing).finding.signals}  # noqa: E731
    assert "unexpected_origin" in names(scorer, _listing(ships_from="Shenzhen, CN"))
    for origin in ("Helsinki, FI", "Tallinn, EE"):
        assert "unexpected_origin" not in names(scorer, _listing(ships_from=origin)), origin
    # "de" is a word, not Germany.
    assert "unexpected_origin" in names(scorer, _listing(ships_from="Ciudad de México, MX"))
    by_name = ListingScorer(PROFILE.model_copy(update={"expected_ships_from": ["Finland"]}))
    assert "unexpected_origin" not in names(by_name, _listing(ships_from="Espoo, Finland"))
    assert "unexpected_origin" not in names(ListingScorer(PROFILE.model_copy(update={"expected_ships_from": []})),
                                            _listing(ships_from="Shenzhen, CN"))
    finding = scorer.score(_listing(ships_from="Yiwu, CN")).finding
    assert finding.verdict == "clear" and "FI, SE, DE, EE" in next(
        s.evidence for s in finding.signals if s.name == "unexpected_origin")


def test_sandbox_counterfeit_sellers_are_mostly_new_and_new_genuine_sellers_stay_clear(scorer, sandbox_listings):
    from collections import Counter

    new = Counter()
    for truth, listing in sandbox_listings:
        finding = scorer.score(listing).finding
        if finding is None or listing.seller.name in PROFILE.allowlist.sellers:
            continue
        is_new = "new_seller" in {s.name for s in finding.signals}
        assert is_new == (truth["seller_joined_days"] < PROFILE.new_seller_days)
        new[truth["label"], is_new] += 1
        if truth["label"] == "genuine":
            assert finding.verdict == "clear", finding.explanation
    assert new["counterfeit", True] > 2 * new["counterfeit", False]
    assert new["genuine", True] > 0  # some honest sellers are new too, and stay clear
