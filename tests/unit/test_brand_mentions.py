"""Brand and product mentions through misspellings, homoglyphs and leetspeak."""

from __future__ import annotations

import json

import pytest

from brandhound.profile import load_profile
from detectors.brand_mentions import BrandMatcher, fold
from sandbox.web import build
from tests.support.paths import EXAMPLE_BRAND

MATCHER = BrandMatcher.from_profile(load_profile(EXAMPLE_BRAND))


def brand_terms(text: str) -> list[tuple[str, str]]:
    return [(m.term, m.found) for m in MATCHER.mentions(text) if m.kind == "brand"]


def test_fold_maps_other_scripts_digits_and_accents_to_latin():
    assert fold("Kеstrаvа") == "kestrava"  # Cyrillic e and a
    assert fold("Κestrava") == "kestrava"  # Greek capital kappa
    assert fold("K3str4va") == "kestrava"
    assert fold("Tähti") == "tahti"


@pytest.mark.parametrize("title, found", [
    ("Kestrava Aalto espresso cup", "Kestrava"),
    ("KЕSTRAVA cup", "KЕSTRAVA"),              # Cyrillic capital Ie
    ("Kes-trava espresso cup", "Kes-trava"),   # split name: neighbours joined
    ("Kes trava poster", "Kes trava"),
    ("Kesrtava cushion", "Kesrtava"),          # transposition
    ("Ke5trava print 1:1", "Ke5trava"),
    ("kestrava0 official", "kestrava0"),
])
def test_disguised_brand_names_are_found_with_the_text_as_written(title, found):
    terms = brand_terms(title)
    assert terms, title
    assert terms[0][1] == found


@pytest.mark.parametrize("title", [
    "Kestrel bird feeder", "Korpi Stainless Steel Water Bottle 750 ml", "Tessera Botanical Art Print 30x40",
    "Nordlys Glass Vase 20 cm", "", "Mountain Lake Poster 50x70",
])
def test_other_brands_and_plain_products_are_not_the_brand(title):
    assert brand_terms(title) == []


def test_product_aliases_are_product_mentions_not_brand_mentions():
    mentions = MATCHER.mentions("Espresso cup, no box, 1:1 quality")
    assert [m.kind for m in mentions] == ["product"]
    assert mentions[0].term.lower() == "espresso cup"


def test_sandbox_listings_of_the_brand_are_recognised_and_unrelated_ones_are_not(tmp_path):
    truth = json.loads(build(EXAMPLE_BRAND, tmp_path, listings_per_marketplace=150).read_text(encoding="utf-8"))
    listings = [p for p in truth["pages"] if p["kind"] == "listing" and p.get("title")]
    brand = [p for p in listings if p["label"] in ("genuine", "counterfeit")]
    unrelated = [p for p in listings if p["label"] == "unrelated"]
    assert len(brand) > 100 and len(unrelated) > 30
    missed = [p["title"] for p in brand if not brand_terms(f"{p['title']} {p.get('brand_text') or ''}")]
    assert len(missed) <= 0.01 * len(brand), missed[:10]
    confused = [p["title"] for p in unrelated if brand_terms(f"{p['title']} {p.get('brand_text') or ''}")]
    assert confused == []
