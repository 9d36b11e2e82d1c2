"""The ground truth of a build: every page the crawler should meet and what it is.

Titles and prices are what a careful human reads on the rendered page (the
title without the site's suffix, the price as a number, the currency as an
ISO code), so a crawler's extraction can be scored field by field.
"""

from __future__ import annotations

from typing import Any

from sandbox.web.catalog import Listing
from sandbox.web.faults import IMAGE_FAULTS, RETRY_AFTER_S, THROTTLED_REQUESTS
from sandbox.web.markets import MarketSpec
from sandbox.web.names import to_unicode_host
from sandbox.web.pastes import HOST as PASTE_HOST, Paste, recent_path
from sandbox.web.surface import Site

GROUND_TRUTH_FILE = "ground_truth.json"


def listing_fields(market: MarketSpec, listing: Listing) -> dict[str, Any]:
    return {
        "url": market.url(listing.path),
        "site": market.name,
        "listing_id": listing.id,
        "label": listing.label,
        "title": listing.title,
        "price": listing.price,
        "currency": listing.currency,
        "seller": listing.seller,
        "seller_joined_days": listing.seller_joined_days,
        "ships_from": listing.ships_from,
        "quantity": listing.quantity,
        "seller_ratings": listing.reviews,
        "sku": listing.sku,
        "product_sku": listing.product_sku,
        "brand_text": listing.brand_text,
        "category": listing.category,
        "description": listing.description,
        "images": [market.media_url(p) for p in listing.image_paths],
        "image_transforms": [m.kind for m in listing.images],
        "rendering": listing.rendering,
        "structured": listing.structured,
        "api_url": market.url(listing.api_path) if listing.api_path else None,
        "signals": list(listing.signals),
        "fault": listing.fault.kind if listing.fault else None,
    }


def listing_entry(market: MarketSpec, listing: Listing) -> dict[str, Any]:
    fault = listing.fault
    if fault is None:
        return {"kind": "listing", **listing_fields(market, listing)}
    url = market.url(listing.path)
    entry: dict[str, Any] = {
        "url": url, "kind": "bad", "fault": fault.kind, "expect": fault.expect, "site": market.name,
        # Where the fault is: the page itself, or the image it shows.
        "fault_url": market.media_url(listing.image_paths[0]) if fault.kind in IMAGE_FAULTS else url,
    }
    if fault.variant:
        entry["encoding_variant"] = fault.variant
    if fault.kind == "redirect_loop":
        entry["loop"] = [url, url + "/"]
    if fault.kind == "http_429":
        entry |= {"retry_after": RETRY_AFTER_S, "throttled_requests": THROTTLED_REQUESTS}
    if fault.extractable:
        entry |= {k: v for k, v in listing_fields(market, listing).items() if k not in entry}
    return entry


def site_entry(site: Site, certificate_ages: dict[str, int]) -> dict[str, Any]:
    return {
        "url": site.root, "kind": "site", "label": site.label, "role": site.role,
        "domain": site.host, "domain_unicode": to_unicode_host(site.host),
        "permutation": site.permutation, "technique": site.technique, "rendering": site.rendering,
        "form_actions": list(site.form_actions), "uses_official_logo": site.uses_official_logo,
        "pages": [site.url(p) for p in site.pages],
        # Days between the issue of the site's TLS certificate and the moment the server issues it.
        "certificate_age_days": certificate_ages[site.host],
    }


def paste_entry(paste: Paste) -> dict[str, Any]:
    return {
        "url": f"https://{PASTE_HOST}{paste.raw_path}", "kind": "paste",
        "html_url": f"https://{PASTE_HOST}{paste.html_path}", "paste_id": paste.id, "title": paste.title,
        "credentials": paste.credentials, "cards": paste.cards, "secrets": paste.secrets,
    }


def paste_seed() -> str:
    return f"https://{PASTE_HOST}{recent_path(1)}"
