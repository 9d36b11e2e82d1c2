"""Builds the sandbox web for a brand profile: every host's files, the route
table, the sandbox CA and the ground truth.

The output depends only on the profile (and its images), the seed and the
listing count, so a build is reproducible; the CA is made once and kept, so a
client that trusts ``ca.pem`` keeps trusting rebuilt sandboxes.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

from brandhound.profile import BrandProfile, load_profile
from sandbox.web import ground_truth as gt
from sandbox.web import abuse_desks, rdap, tls
from sandbox.web.catalog import Listing, check_wording
from sandbox.web.fileio import write_json
from sandbox.web.images import MediaLibrary
from sandbox.web.market_pages import plan_market, write_market
from sandbox.web.markets import MarketSpec, markets_from_profile
from sandbox.web.money import Rates
from sandbox.web.output import ROUTES_FILE, Output
from sandbox.web.pastes import HOST as PASTE_HOST, plan_pastes, write_pastes
from sandbox.web.surface import COLLECTORS, SiteWriter, plan_sites

#: Bump when a change of the generator changes its output, so stale builds are rebuilt.
GENERATOR_VERSION = 5
BUILD_FILE = "build.json"


def build_key(profile_path: str | Path, listings_per_marketplace: int, seed: int) -> str:
    """Identifies a build's inputs: the profile file, its images, the parameters, the generator."""
    profile_path = Path(profile_path).resolve()
    profile = load_profile(profile_path)
    digest = hashlib.sha256()
    digest.update(json.dumps([GENERATOR_VERSION, listings_per_marketplace, seed]).encode())
    digest.update(profile_path.read_bytes())
    for image in sorted({*profile.logos, *(i for p in profile.products for i in p.images)}):
        digest.update(image.read_bytes())
    return digest.hexdigest()


def build(profile_path: str | Path, out_dir: str | Path, *, listings_per_marketplace: int = 300,
          seed: int = 1337) -> Path:
    """Write the sandbox web for ``profile_path`` into ``out_dir``; returns the ground-truth path."""
    out_dir = Path(out_dir)
    profile = load_profile(profile_path)
    out_dir.mkdir(parents=True, exist_ok=True)
    # Previous content goes; the CA stays (see the module docstring).
    for stale in ("hosts", "certs"):
        shutil.rmtree(out_dir / stale, ignore_errors=True)
    tls.ensure_ca(out_dir)

    out = Output(out_dir)
    media = MediaLibrary(profile, seed)
    rates = Rates(profile)
    markets = markets_from_profile(profile)
    placed: list[tuple[MarketSpec, list[Listing]]] = []
    for i, market in enumerate(markets):
        listings = plan_market(profile, market, (i, len(markets)), listings_per_marketplace, media, rates, seed)
        check_wording(listings, profile)
        write_market(out, market, listings)
        placed.append((market, listings))

    sites = plan_sites(profile)
    SiteWriter(out, profile, media, rates, seed).write(sites)
    pastes = plan_pastes(profile, seed)
    write_pastes(out, pastes)
    # Every domain above is registered: look-alikes and their collectors recently, the rest long ago.
    young = [s.host for s in sites if s.label in ("fake_store", "phishing")] + [h for h, _ in COLLECTORS.values()]
    established = [h for h in out.hosts if h not in young and h != rdap.HOST]
    records = rdap.write_registry(out, young, established, seed)
    # Their abuse desks, and what each does with a notice (sandbox.web.abuse_desks).
    desks = abuse_desks.plan_desks(placed, sites, records, rdap.plan_hosting(records, seed), rdap.NETWORKS, seed)
    abuse_desks.write_desks(out, desks)
    # ... and so were their certificates.
    certificate_ages = tls.write_certificate_ages(out_dir, young, [*established, rdap.HOST], seed)
    out.save()

    truth: dict[str, Any] = {
        "brand": profile.id,
        "seed": seed,
        "listings_per_marketplace": listings_per_marketplace,
        "proxy_hosts": sorted(out.hosts),
        "rdap": {"server": rdap.BASE_URL, "bootstrap": rdap.BOOTSTRAP_URL},
        "takedown": desks,
        "seeds": {
            "marketplace": _market_seeds(profile, placed),
            "surface": [s.root for s in sites],
            "paste": [gt.paste_seed()],
        },
        "pages": [
            *(gt.listing_entry(m, x) for m, listings in placed for x in listings if not x.fault),
            *(gt.listing_entry(m, x) for m, listings in placed for x in listings if x.fault),
            *(gt.site_entry(s, certificate_ages) for s in sites),
            *(gt.paste_entry(p) for p in pastes),
        ],
    }
    truth_path = out_dir / gt.GROUND_TRUTH_FILE
    write_json(truth_path, truth)
    write_json(out_dir / BUILD_FILE, {
        "key": build_key(profile_path, listings_per_marketplace, seed),
        "profile": str(Path(profile_path).resolve()), "seed": seed,
        "listings_per_marketplace": listings_per_marketplace, "routes": ROUTES_FILE, "paste_host": PASTE_HOST,
        "rdap_bootstrap": rdap.BOOTSTRAP_URL,
    })
    return truth_path


def _market_seeds(profile: BrandProfile, placed: list[tuple[MarketSpec, list[Listing]]]) -> list[str]:
    """Searches for the brand's names and products, and every category's first page."""
    queries = [*profile.names, *(p.name for p in profile.products)]
    seeds = []
    for market, listings in placed:
        seeds += [market.url(market.style.search_path(q)) for q in queries]
        seeds += [market.url(market.style.category_path(c)) for c in sorted({x.category for x in listings})]
    return seeds
