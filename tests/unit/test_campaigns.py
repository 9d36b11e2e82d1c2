"""Findings that share a seller, a host or a photo of their own form one campaign."""

from __future__ import annotations

import random

from brandhound.profile import load_profile
from detectors.campaigns import Member, _near_pairs, group, member_of
from detectors.official_images import OfficialImages
from tests.support.paths import EXAMPLE_BRAND


def flip_bits(h: str, n: int, rng: random.Random) -> str:
    v = int(h, 16)
    for bit in rng.sample(range(64), n):
        v ^= 1 << bit
    return f"{v:016x}"


def test_links_are_transitive_and_singletons_get_no_campaign():
    members = [
        Member("a", {("seller", "m|x")}), Member("b", {("seller", "m|x"), ("host", "h1")}),
        Member("c", {("host", "h1")}), Member("d", {("seller", "m|y")}),
    ]
    ids = group(members)
    assert ids["a"] == ids["b"] == ids["c"]
    assert "d" not in ids
    assert group(list(reversed(members))) == ids  # stable across runs and orders


def test_near_duplicate_photos_link_and_distant_ones_do_not():
    rng = random.Random(7)
    base = f"{rng.getrandbits(64):016x}"
    near, far = flip_bits(base, 5, rng), flip_bits(base, 20, rng)
    ids = group([Member("a", phashes={base}), Member("b", phashes={near}), Member("c", phashes={far})])
    assert ids["a"] == ids["b"] and "c" not in ids


def test_bucketed_pair_search_finds_exactly_the_brute_force_pairs():
    rng = random.Random(3)
    hashes = [f"{rng.getrandbits(64):016x}" for _ in range(300)]
    hashes += [flip_bits(h, rng.randint(0, 8), rng) for h in hashes[:100]]
    table = {h: [h] for h in hashes}
    brute = {tuple(sorted((a, b))) for i, a in enumerate(hashes) for b in hashes[i + 1:]
             if a != b and bin(int(a, 16) ^ int(b, 16)).count("1") <= 6}
    assert set(_near_pairs(table, 6)) == brute


def test_official_photos_are_not_links():
    profile = load_profile(EXAMPLE_BRAND)
    official = OfficialImages.from_profile(profile)
    official_hash = str(official.entries[0][2])
    finding = {"subject": {"id": "l1"}, "kind": "counterfeit_listing", "url": {}}
    m = member_of(finding, {"images": [{"phash": official_hash}, {"phash": "0f0f0f0f33cc33cc"}],
                            "seller": {"name": "Shop"}, "marketplace": "BazaarHub"}, official)
    assert m.phashes == {"0f0f0f0f33cc33cc"}
    assert m.links == {("seller", "BazaarHub|shop")}
