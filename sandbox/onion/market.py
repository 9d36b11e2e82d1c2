"""The onion marketplace ("DarkBazaar"): counterfeits of the brand, some genuine-looking goods and
unrelated items, on plain server-rendered pages without JavaScript.

Listings come from the sandbox web's :class:`sandbox.web.catalog.ListingFactory` (names,
misspellings, homoglyphs, counterfeit wording, prices, transformed official photos); this module
only places them on the onion site, adds crypto prices and vendors, and renders its own look.
Paths only: the onion address is known when the Tor network runs, not at build time.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from brandhound.profile import BrandProfile
from sandbox.onion.render import render
from sandbox.web.catalog import Listing, ListingFactory, assign_ids, check_wording
from sandbox.web.images import MediaLibrary
from sandbox.web.money import Rates, format_en
from sandbox.web.output import Output

SITE = "market"
NAME = "DarkBazaar"
PER_PAGE = 20
LISTING_COUNT = 150
MAX_IMAGES = 3
# A dark market sells mostly fakes; genuine items are resold (or stolen) stock.
LABEL_SHARES = {"counterfeit": 0.55, "genuine": 0.2, "unrelated": 0.25}
JSONLD_SHARE = 0.4
CURRENCIES = (("EUR", 3), ("USD", 2))
# EUR per coin; fixed, so the ground truth's crypto amounts can be recomputed.
EUR_PER_COIN = {"BTC": 58_500.0, "XMR": 152.0}
COIN_DECIMALS = {"BTC": 5, "XMR": 3}
VENDORS = {
    "counterfeit": ("ReplicaKingdom", "nordic_mirror", "AAA-homeware", "copycat_cartel", "xX_designhaus_Xx",
                    "mirrorgrade_eu"),
    "genuine": ("liquidation_lars", "fell_off_a_truck", "warehouse_ghost", "boxdrop_nordic"),
    "unrelated": ("candle_cartel", "printshop_anon", "gadget_drop", "hemp_and_home"),
}
CATEGORY_NAMES = {"kitchen": "Kitchen & Tableware", "textiles": "Textiles", "art": "Art & Prints",
                  "electronics": "Electronics", "home-decor": "Home Decor"}
SLOW_DELAY_S = 8            # the slow listing answers after this long
UNAVAILABLE_REQUESTS = 2    # the flaky listing answers 503 this many times first (per server process)
RETRY_AFTER_S = 1
FAULTS = (("slow", "counterfeit"), ("http_503", "genuine"))


@dataclass
class MarketItem:
    """A catalog listing as the onion market shows it."""

    listing: Listing
    coin: str
    coin_amount: str          # as shown, e.g. "0.00041"
    crypto_first: bool        # "0.00041 BTC (≈ €24.00)" instead of "€24.00 (0.00041 BTC)"
    fault: str | None = None  # slow | http_503

    @property
    def path(self) -> str:
        return f"/listing/{self.listing.id}"

    @property
    def image_paths(self) -> list[str]:
        return [f"/img/{self.listing.id}/{n}.{m.name.rsplit('.', 1)[1]}"
                for n, m in enumerate(self.listing.images, start=1)]

    @property
    def fiat_text(self) -> str:
        return format_en(self.listing.price, self.listing.currency)

    @property
    def price_text(self) -> str:
        if self.crypto_first:
            return f"{self.coin_amount} {self.coin} (≈ {self.fiat_text})"
        return f"{self.fiat_text} ({self.coin_amount} {self.coin})"


def index_path(page: int) -> str:
    return "/" if page == 1 else f"/?page={page}"


def category_path(slug: str, page: int = 1) -> str:
    return f"/category/{slug}" if page == 1 else f"/category/{slug}?page={page}"


def _label_plan(count: int, rng: random.Random) -> list[str]:
    labels: list[str] = []
    for label, share in LABEL_SHARES.items():
        labels += [label] * round(count * share)
    labels = labels[:count] + ["counterfeit"] * (count - len(labels))
    rng.shuffle(labels)
    return labels


def _item(listing: Listing, rates: Rates, rng: random.Random) -> MarketItem:
    listing.images = listing.images[:MAX_IMAGES]
    listing.seller = rng.choice(VENDORS[listing.label])
    listing.description += rng.choice((" Stealth shipping, vacuum sealed.", " Escrow only. No refunds after finalize.",
                                       " Ships worldwide in plain packaging.", ""))
    coin = rng.choice(("BTC", "BTC", "XMR"))
    eur = rates.convert(listing.price, listing.currency, "EUR")
    amount = f"{eur / EUR_PER_COIN[coin]:.{COIN_DECIMALS[coin]}f}"
    return MarketItem(listing, coin, amount, crypto_first=rng.random() < 0.3)


def plan_market(profile: BrandProfile, media: MediaLibrary, rates: Rates, seed: int,
                count: int = LISTING_COUNT) -> list[MarketItem]:
    """``count`` ordinary listings plus one per fault, ids assigned, newest (highest id) last."""
    rng = random.Random(f"{seed}:onion:market")
    factory = ListingFactory(profile, SITE, CURRENCIES, media, rates)
    items = [_item(factory.make(label, rng), rates, rng) for label in _label_plan(count, rng)]
    for fault, label in FAULTS:
        item = _item(factory.make(label, rng), rates, rng)
        item.fault = fault
        items.insert(rng.randrange(len(items) + 1), item)
    check_wording([i.listing for i in items], profile)
    assign_ids([i.listing for i in items], 40_000, rng)
    order = list(range(len(items)))
    rng.shuffle(order)
    with_jsonld = set(order[:round(len(items) * JSONLD_SHARE)])
    for n, item in enumerate(items):
        item.listing.structured = "jsonld" if n in with_jsonld else "none"
        item.listing.path = item.path
        item.listing.image_paths = item.image_paths
    return items


def jsonld(item: MarketItem) -> dict[str, Any]:
    """schema.org Product with relative URLs (the site does not know its own onion address)."""
    x = item.listing
    data: dict[str, Any] = {
        "@context": "https://schema.org", "@type": "Product", "name": x.title, "description": x.description,
        "image": item.image_paths, "category": CATEGORY_NAMES[x.category],
        "offers": {"@type": "Offer", "price": f"{x.price:.2f}", "priceCurrency": x.currency, "url": item.path,
                   "availability": "https://schema.org/InStock",
                   "seller": {"@type": "Person", "name": x.seller}},
    }
    if x.sku:
        data["sku"] = x.sku
    if x.brand_text:
        data["brand"] = {"@type": "Brand", "name": x.brand_text}
    return data


def _pages(items: list[MarketItem]) -> list[list[MarketItem]]:
    return [items[i:i + PER_PAGE] for i in range(0, len(items), PER_PAGE)] or [[]]


def write_market(out: Output, items: list[MarketItem]) -> list[dict[str, Any]]:
    """Write every page of the market; returns the ground-truth entries of all its pages."""
    slugs = sorted({i.listing.category for i in items})
    categories = [{"slug": s, "name": CATEGORY_NAMES[s], "url": category_path(s)} for s in slugs]
    ctx = {"site_name": NAME, "categories": categories}
    truth: list[dict[str, Any]] = []
    newest_first = sorted(items, key=lambda i: int(i.listing.id), reverse=True)

    def results(pages: list[list[MarketItem]], path_of, heading: str, category: str | None) -> None:
        for n, chunk in enumerate(pages, start=1):
            path = path_of(n)
            nxt = path_of(n + 1) if n < len(pages) else None
            prev = path_of(n - 1) if n > 1 else None
            title = heading if n == 1 else f"{heading} (page {n})"
            out.page(SITE, path, render("market/results.html", **ctx, title=title, heading=heading, items=chunk,
                                        page=n, pages=len(pages), next_url=nxt, prev_url=prev))
            truth.append({"site": SITE, "path": path, "kind": "results", "title": title, "category": category,
                          "page": n, "pages": len(pages), "next": nxt,
                          "listings": [i.path for i in chunk]})

    results(_pages(newest_first), index_path, "Latest listings", None)
    for cat in categories:
        chunk = [i for i in newest_first if i.listing.category == cat["slug"]]
        results(_pages(chunk), lambda n, s=cat["slug"]: category_path(s, n), cat["name"], cat["slug"])

    for item in items:
        x = item.listing
        for path, m in zip(item.image_paths, x.images):
            out.media(SITE, path, m)
        html = render("market/listing.html", **ctx, item=item, x=x,
                      category=next(c for c in categories if c["slug"] == x.category),
                      jsonld=jsonld(item) if x.structured == "jsonld" else None)
        out.page(SITE, item.path, html)
        route = out.hosts[SITE]["routes"][item.path]
        entry = listing_entry(item)
        if item.fault == "slow":
            route["delay"] = SLOW_DELAY_S
            entry["delay_seconds"] = SLOW_DELAY_S
        elif item.fault == "http_503":
            route |= {"unavailable": UNAVAILABLE_REQUESTS, "retry_after": RETRY_AFTER_S}
            entry |= {"unavailable_requests": UNAVAILABLE_REQUESTS, "retry_after": RETRY_AFTER_S}
        truth.append(entry)

    login_form = render("market/login.html", **ctx, failed=False)
    out.page(SITE, "/login", login_form, on_post=render("market/login.html", **ctx, failed=True))
    truth.append({"site": SITE, "path": "/login", "kind": "other", "role": "login", "title": "Login",
                  "parse": False})
    out.page(SITE, "/rules", render("market/rules.html", **ctx))
    truth.append({"site": SITE, "path": "/rules", "kind": "other", "role": "rules", "title": "Market rules & PGP",
                  "parse": False})
    return truth


def listing_entry(item: MarketItem) -> dict[str, Any]:
    x = item.listing
    return {
        "site": SITE, "path": item.path, "kind": "listing", "listing_id": x.id, "label": x.label,
        "title": x.title, "price": x.price, "currency": x.currency, "price_text": item.price_text,
        "crypto_price": float(item.coin_amount), "crypto_currency": item.coin, "seller": x.seller,
        "description": x.description, "category": x.category, "sku": x.sku, "product_sku": x.product_sku,
        "brand_text": x.brand_text, "images": item.image_paths, "image_transforms": [m.kind for m in x.images],
        "structured": x.structured, "signals": list(x.signals), "fault": item.fault,
    }
