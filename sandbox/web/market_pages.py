"""Writes a marketplace: its listings (plus their images and, for JavaScript
listings, their JSON), its home page and the index its search runs on."""

from __future__ import annotations

import json
import random
from functools import partial
from typing import Any

from brandhound.profile import BrandProfile
from sandbox.web import faults
from sandbox.web.catalog import Listing, ListingFactory, assign_ids, label_plan
from sandbox.web.images import MediaLibrary
from sandbox.web.markets import MarketSpec, MarketStyle
from sandbox.web.money import Rates
from sandbox.web.output import Output
from sandbox.web.render import render

def plan_market(profile: BrandProfile, market: MarketSpec, position: tuple[int, int], count: int,
                media: MediaLibrary, rates: Rates, seed: int) -> list[Listing]:
    """``count`` ordinary listings plus the faults this market shows, ids assigned, URLs placed.

    ``position`` is (index of this market, number of markets): it decides which faults it shows."""
    rng = random.Random(f"{seed}:market:{market.host}")
    factory = ListingFactory(profile, market.host, market.style.currencies, media, rates)
    listings = [factory.make(label, rng) for label in label_plan(count, rng)]
    _assign_rendering(listings, market.style, rng)
    index, n_markets = position
    for fault in faults.FAULTS:
        if fault.market % n_markets == index:
            listing = factory.make(fault.label, rng)
            faults.prepare(listing, fault, media)
            listing.structured = market.style.structured_default
            listings.insert(rng.randrange(len(listings) + 1), listing)
    assign_ids(listings, market.style.id_base, rng)
    for listing in listings:
        place(market.style, listing)
    return listings


def _assign_rendering(listings: list[Listing], style: MarketStyle, rng: random.Random) -> None:
    """Spread the style's mix of structured data and rendering randomly over ``listings``."""
    order = list(range(len(listings)))
    rng.shuffle(order)
    start = 0
    for n, (share, structured, rendering) in enumerate(style.mix):
        # The last group takes what rounding left over.
        end = len(order) if n == len(style.mix) - 1 else start + round(share * len(order))
        for i in order[start:end]:
            listings[i].structured, listings[i].rendering = structured, rendering
        start = end


def place(style: MarketStyle, listing: Listing) -> None:
    listing.path = style.listing_path(listing.id, listing.slug)
    listing.image_paths = [style.image_path(listing.id, n, m.name.rsplit(".", 1)[1])
                           for n, m in enumerate(listing.images, start=1)]
    listing.api_path = style.api_path(listing.id) if listing.rendering == "js" else None


# --------------------------------------------------------------------------- rendering


def _market_context(market: MarketSpec, categories: list[dict]) -> dict[str, Any]:
    return {"market": {"name": market.name, "host": market.host}, "categories": categories, "query": ""}


def jsonld(market: MarketSpec, listing: Listing) -> dict[str, Any]:
    """schema.org Product as the bazaar style embeds it."""
    offer: dict[str, Any] = {
        "@type": "Offer", "price": f"{listing.price:.2f}", "priceCurrency": listing.currency,
        "availability": "https://schema.org/InStock", "url": market.url(listing.path),
        "seller": {"@type": "Organization", "name": listing.seller},
    }
    data: dict[str, Any] = {
        "@context": "https://schema.org", "@type": "Product", "name": listing.title,
        "description": listing.description, "image": [market.media_url(p) for p in listing.image_paths],
        "offers": offer,
    }
    if listing.sku:
        data["sku"] = listing.sku
    if listing.brand_text:
        data["brand"] = {"@type": "Brand", "name": listing.brand_text}
    if listing.rating is not None:
        data["aggregateRating"] = {"@type": "AggregateRating", "ratingValue": listing.rating,
                                   "reviewCount": listing.reviews}
    return data


def api_document(market: MarketSpec, listing: Listing) -> dict[str, Any]:
    """What a JavaScript-rendered listing fetches: Finnish keys, price as text and as a number."""
    return {
        "id": listing.id, "otsikko": listing.title, "kuvaus": listing.description,
        "hinta": market.style.price_text(listing.price, listing.currency),
        "hinta_arvo": listing.price, "valuutta": listing.currency, "myyja": listing.seller,
        "sijainti": listing.ships_from, "maara": listing.quantity,
        "liittynyt": market.style.seller_joined(listing.seller_joined_days),
        "kuvat": [market.media_url(p) for p in listing.image_paths],
    }


def listing_html(market: MarketSpec, listing: Listing, categories: list[dict]) -> str:
    style = market.style
    template = f"{style.key}/listing_js.html" if listing.rendering == "js" else f"{style.key}/listing.html"
    return render(
        template, **_market_context(market, categories), listing=listing,
        price_text=style.price_text(listing.price, listing.currency),
        seller_joined=style.seller_joined(listing.seller_joined_days),
        images=[market.media_url(p) for p in listing.image_paths],
        category={"slug": listing.category, "name": style.category_name(listing.category),
                  "url": style.category_path(listing.category)},
        jsonld=jsonld(market, listing) if listing.structured == "jsonld" else None,
    )


def write_market(out: Output, market: MarketSpec, listings: list[Listing]) -> None:
    style, host = market.style, market.host
    slugs = sorted({listing.category for listing in listings})
    categories = [{"slug": s, "name": style.category_name(s), "url": style.category_path(s)} for s in slugs]
    for listing in listings:
        for path, media in zip(listing.image_paths, listing.images):
            out.media(market.media_host, path, media)
        if listing.api_path:
            out.page(host, listing.api_path, json.dumps(api_document(market, listing), ensure_ascii=False),
                     content_type="application/json; charset=utf-8")
        html = listing_html(market, listing, categories)
        if listing.fault:
            faults.write(out, host, listing, html)
        else:
            out.page(host, listing.path, html)
    out.page(host, "/", render(f"{style.key}/home.html", **_market_context(market, categories),
                               latest=[_card(market, x) for x in listings[-12:]]))
    if market.report_path:
        # Where takedown requests go; it accepts a POST and thanks the reporter.
        report = partial(render, "report.html", **_market_context(market, categories),
                         layout=f"{style.key}/base.html", action=market.report_path)
        out.page(host, market.report_path, report(sent=False), on_post=report(sent=True))
    index = {"market": {"name": market.name, "host": host}, "style": style.key, "categories": categories,
             "cards": [_card(market, x) for x in listings]}
    rel = out.write_file(host, "_index.json", json.dumps(index, ensure_ascii=False).encode())
    out.app(host, "market", index=rel)


def _card(market: MarketSpec, listing: Listing) -> dict[str, Any]:
    """What a results page shows of a listing."""
    return {"url": listing.path, "title": listing.title, "category": listing.category,
            "price_text": market.style.price_text(listing.price, listing.currency),
            "thumb": market.media_url(listing.image_paths[0]) if listing.image_paths else None, "seller": listing.seller}
