"""Realistic sample findings with their subjects, pages and evidence files, for demos and tests.

:func:`sample_cases` stores small PNG screenshots and HTML bodies in an evidence store and
returns one case per recipient kind: counterfeit listings of one campaign on a marketplace
from the profile, a phishing site (registrar, host, search engines) and a fake store (host and
search engines: not DNS abuse, so not its registrar), a
listing on an onion market (intelligence report) and a leaked credential (internal). The
leaked password is protected as the leak detector does; its clear text is returned apart,
only so tests can assert that no export ever contains it.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from PIL import Image as PILImage

from brandhound.config import HmacKey
from brandhound.evidence import EvidenceStore
from brandhound.items import (
    BrandRef,
    Campaign,
    Crawl,
    Finding,
    Image,
    Leak,
    Listing,
    Page,
    Price,
    Rdap,
    Seller,
    Site,
    Subject,
    Url,
    User,
)
from brandhound.profile import BrandProfile
from brandhound.urls import registered_domain
from detectors.secret_masking import protect
from takedown.recipients import Case

SAMPLE_TIME = datetime(2026, 11, 20, 8, 30, 15, tzinfo=timezone.utc)
SAMPLE_PASSWORD = "Kestrava!Summer2026"


@dataclass
class Samples:
    cases: list[Case]
    clear_secrets: list[str]


def _png(colour: tuple[int, int, int]) -> bytes:
    buffer = io.BytesIO()
    PILImage.new("RGB", (64, 40), colour).save(buffer, format="PNG")
    return buffer.getvalue()


def _page(store: EvidenceStore, url: str, title: str, colour: tuple[int, int, int], fetched_at: datetime,
          source_type: str, brand: BrandRef, html: bytes | None = None) -> Page:
    if html is None:
        html = f"<!doctype html><title>{title}</title><h1>{title}</h1>".encode()
    else:
        # A page as served: its screenshot differs with its HTML, as two different pages' would.
        colour = tuple(hashlib.sha256(html).digest()[:3])  # type: ignore[assignment]
    return Page(brand=brand, url=Url(full=url, domain=_host(url)), title=title,
                crawl=Crawl(source_type=source_type, fetched_at=fetched_at, renderer="browser"),
                file=store.put(html, suffix=".html", mime_type="text/html"),
                screenshot=store.put(_png(colour), suffix=".png", mime_type="image/png"))


def _host(url: str) -> str:
    return url.split("/")[2]


def _finding(kind: str, subject_index: str, subject_id: str, url: str, brand: BrandRef, source_type: str,
             campaign: str | None, fetched_at: datetime, first_seen: datetime | None = None) -> Finding:
    finding = Finding(brand=brand, kind=kind, score=0.92, threshold=0.7, verdict="flagged", status="confirmed",
                      subject=Subject(index=subject_index, id=subject_id, url=url),
                      url=Url(full=url, domain=_host(url), registered_domain=registered_domain(_host(url))),
                      campaign=Campaign(id=campaign), crawl=Crawl(source_type=source_type, fetched_at=fetched_at))
    finding.threat.indicator.first_seen = first_seen
    return finding


def listing_case(store: EvidenceStore, profile: BrandProfile, url: str, title: str, *, seller: str = "nordic_deals_88",
                 marketplace: str | None = None, campaign: str | None = None, source_type: str = "marketplace",
                 at: datetime = SAMPLE_TIME, html: bytes | None = None, first_seen: datetime | None = None) -> Case:
    """A counterfeit listing's case; with ``html`` (the page as served) its page is that and it has no photo."""
    brand = BrandRef(id=profile.id, name=profile.name)
    page = _page(store, url, title, (200, 40, 40), at, source_type, brand, html)
    photos = [] if html is not None else [
        Image(url=url.rstrip("/") + "/photo.png", file=store.put(_png((240, 200, 20)), suffix=".png",
                                                                 mime_type="image/png"))]
    listing = Listing(brand=brand, url=Url(full=url, domain=_host(url)), marketplace=marketplace, title=title,
                      price=Price(amount=9.9, currency="EUR"), seller=Seller(name=seller), images=photos,
                      crawl=Crawl(source_type=source_type, fetched_at=at), page_id=page.doc_id())
    finding = _finding("counterfeit_listing", Listing.INDEX, listing.doc_id(), url, brand, source_type, campaign, at,
                       first_seen)
    return Case(finding, listing, page)


def site_case(store: EvidenceStore, profile: BrandProfile, url: str, kind: str, *, rdap: Rdap | None = None,
              at: datetime = SAMPLE_TIME, html: bytes | None = None, first_seen: datetime | None = None) -> Case:
    brand = BrandRef(id=profile.id, name=profile.name)
    title = f"{profile.name} Official Outlet" if kind == "fake_store" else f"Sign in to {profile.name}"
    page = _page(store, url, title, (40, 40, 200), at, "surface", brand, html)
    site = Site(brand=brand, url=Url(full=url, domain=_host(url)), title=title, rdap=rdap,
                crawl=Crawl(source_type="surface", fetched_at=at), page_id=page.doc_id())
    return Case(_finding(kind, Site.INDEX, site.doc_id(), url, brand, "surface", None, at, first_seen), site, page)


def leak_case(profile: BrandProfile, email: str, password: str, source: str, at: datetime = SAMPLE_TIME) -> Case:
    brand = BrandRef(id=profile.id, name=profile.name)
    key = HmacKey(key=b"sample-key-not-secret", id="sample")
    leak = Leak(brand=brand, kind="credential", user=User(email=email, domain=email.split("@")[1]),
                secret=protect(password, key), url=Url(full=source, domain=_host(source)), sources=[source],
                crawl=Crawl(source_type="paste", fetched_at=at))
    finding = _finding("credential_leak", Leak.INDEX, leak.doc_id(), source, brand, "paste", None, at)
    return Case(finding, leak, None)


def sample_cases(store: EvidenceStore, profile: BrandProfile) -> Samples:
    """One case (or a campaign of two) for every recipient kind."""
    market = profile.marketplaces[0]
    base = f"https://www.{market.domain}/item"
    cases = [
        listing_case(store, profile, f"{base}/1001", "Kestrava Aalto espresso cup 1:1 replica", marketplace=market.name,
                     campaign="cmp-aalto-replicas"),
        listing_case(store, profile, f"{base}/1002", "Aalto cup KESTRAVA mirror quality", marketplace=market.name,
                     campaign="cmp-aalto-replicas", at=SAMPLE_TIME + timedelta(minutes=7)),
        site_case(store, profile, "https://kestrava-outlet.com/", "fake_store",
                  rdap=Rdap(registrar="QuickCheap Domains Ltd", registrar_abuse_email="abuse@quickcheap-domains.example",
                            created=SAMPLE_TIME - timedelta(days=9))),
        site_case(store, profile, "https://kestrava-login.net/account", "phishing"),
        listing_case(store, profile, "http://darkmarketxyz.onion/listing/77", "Kestrava posters wholesale (copies)",
                     marketplace="darkmarket", source_type="onion"),
        leak_case(profile, "mikko.lahti@kestrava.com", SAMPLE_PASSWORD, "https://pastebin.example/raw/abc123"),
    ]
    return Samples(cases, [SAMPLE_PASSWORD])
