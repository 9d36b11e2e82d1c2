"""The marketplaces: their URL schemes, page styles and search.

Two styles imitate two kinds of real marketplace. ``bazaar`` is an
international, English, server-rendered site with JSON-LD on every listing;
``tori`` is a Finnish classifieds site with Finnish paths, locally formatted
prices, microdata on some listings only and JavaScript-only rendering on
others. The profile's first marketplace gets ``bazaar``, the second ``tori``,
and so on alternately.

Search and category pages are rendered at request time from an index the
build writes (``_index.json`` in the host's folder), because the crawler may
search for any word, misspellings included.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Callable
from urllib.parse import parse_qs, quote, unquote, urlencode, urlsplit

from brandhound.profile import BrandProfile
from sandbox.web.money import format_en, format_local
from sandbox.web.render import render

PER_PAGE = 24

CATEGORY_NAMES = {
    "en": {"kitchen": "Kitchen & Dining", "textiles": "Home Textiles", "art": "Art & Posters",
           "electronics": "Electronics", "home-decor": "Home Decor"},
    "fi": {"kitchen": "Keittiö", "textiles": "Kodintekstiilit", "art": "Taide ja julisteet",
           "electronics": "Elektroniikka", "home-decor": "Sisustus"},
}


#: Finnish time units, singular and partitive plural ("3 viikkoa sitten").
FINNISH_UNITS = {"day": ("päivä", "päivää"), "week": ("viikko", "viikkoa"), "month": ("kuukausi", "kuukautta"),
                 "year": ("vuosi", "vuotta")}


def age_in_units(days: int) -> tuple[int, str]:
    """An age in the largest whole unit a marketplace shows: days, weeks, months (30 days) or years."""
    if days < 14:
        return max(days, 1), "day"
    if days < 60:
        return days // 7, "week"
    if days < 365:
        return days // 30, "month"
    return days // 365, "year"


@dataclass(frozen=True)
class ResultsRequest:
    kind: str   # search | category
    term: str   # the query, or the category slug
    page: int


class MarketStyle:
    """How one kind of marketplace lays out its URLs and pages."""

    key: str
    locale: str
    id_base: int
    # Shares of its listings per (structured data, rendering); the first is its ordinary page.
    mix: tuple[tuple[float, str, str], ...]
    currencies: tuple[tuple[str, int], ...]
    price_text: Callable[[float, str], str]

    def listing_path(self, listing_id: str, slug: str) -> str:
        raise NotImplementedError

    def seller_joined(self, days: int) -> str:
        """How long ago the seller joined, as the marketplace words it."""
        raise NotImplementedError

    def image_path(self, listing_id: str, n: int, ext: str) -> str:
        raise NotImplementedError

    def media_host(self, host: str) -> str:
        """Where the marketplace at ``host`` serves its listing photos. Real marketplaces use an
        image host of their own (i.ebayimg.com, i.etsystatic.com, a.allegroimg.com), which a
        polite crawler counts as a host of its own, apart from the listing pages."""
        raise NotImplementedError

    def api_path(self, listing_id: str) -> str | None:
        return None

    def search_path(self, query: str, page: int = 1) -> str:
        raise NotImplementedError

    def category_path(self, slug: str, page: int = 1) -> str:
        raise NotImplementedError

    def parse_results(self, path: str, query: str) -> ResultsRequest | None:
        raise NotImplementedError

    @property
    def structured_default(self) -> str:
        """The structured data of its ordinary server-rendered listings."""
        return self.mix[0][1]

    def category_name(self, slug: str) -> str:
        return CATEGORY_NAMES[self.locale].get(slug, slug.replace("-", " ").title())

    @staticmethod
    def _page(value: str | None) -> int:
        try:
            return max(1, int(value or 1))
        except ValueError:
            return 1


class BazaarStyle(MarketStyle):
    key = "bazaar"
    locale = "en"
    mix = ((1.0, "jsonld", "static"),)
    id_base = 4_100_000
    currencies = (("EUR", 50), ("USD", 25), ("GBP", 15), ("PLN", 10))
    price_text = staticmethod(format_en)

    def listing_path(self, listing_id: str, slug: str) -> str:
        return f"/item/{listing_id}-{slug}"

    def seller_joined(self, days: int) -> str:
        n, unit = age_in_units(days)
        return f"Member for {n} {unit}{'s' if n != 1 else ''}"

    def image_path(self, listing_id: str, n: int, ext: str) -> str:
        return f"/img/{listing_id}/{n}.{ext}"

    def media_host(self, host: str) -> str:
        return "i." + host.removeprefix("www.")

    def search_path(self, query: str, page: int = 1) -> str:
        params = {"q": query} | ({"page": str(page)} if page > 1 else {})
        return "/search?" + urlencode(params)

    def category_path(self, slug: str, page: int = 1) -> str:
        return f"/c/{slug}" + (f"?page={page}" if page > 1 else "")

    def parse_results(self, path: str, query: str) -> ResultsRequest | None:
        params = parse_qs(query)
        page = self._page(params.get("page", [None])[0])
        if path == "/search":
            return ResultsRequest("search", params.get("q", [""])[0], page)
        if path.startswith("/c/") and path.count("/") == 2:
            return ResultsRequest("category", path[3:], page)
        return None


class ToriStyle(MarketStyle):
    key = "tori"
    locale = "fi"
    mix = ((0.4, "microdata", "static"), (0.4, "none", "static"), (0.2, "none", "js"))
    id_base = 27_000_000
    currencies = (("EUR", 50), ("PLN", 15), ("BRL", 15), ("USD", 10), ("GBP", 10))
    price_text = staticmethod(format_local)

    def listing_path(self, listing_id: str, slug: str) -> str:
        return f"/ilmoitus/{listing_id}"

    def seller_joined(self, days: int) -> str:
        n, unit = age_in_units(days)
        return f"{n} {FINNISH_UNITS[unit][n != 1]} sitten"

    def image_path(self, listing_id: str, n: int, ext: str) -> str:
        return f"/kuvat/{listing_id}_{n}.{ext}"

    def media_host(self, host: str) -> str:
        return "kuvat." + host

    def api_path(self, listing_id: str) -> str | None:
        return f"/api/ilmoitus/{listing_id}.json"

    def search_path(self, query: str, page: int = 1) -> str:
        return f"/haku/{quote(query, safe='')}" + (f"?sivu={page}" if page > 1 else "")

    def category_path(self, slug: str, page: int = 1) -> str:
        return f"/osasto/{slug}" + (f"?sivu={page}" if page > 1 else "")

    def parse_results(self, path: str, query: str) -> ResultsRequest | None:
        params = parse_qs(query)
        page = self._page(params.get("sivu", [None])[0])
        if path == "/haku" and "q" in params:  # the search form without JavaScript
            return ResultsRequest("search", params["q"][0], page)
        for prefix, kind in (("/haku/", "search"), ("/osasto/", "category")):
            if path.startswith(prefix) and "/" not in path[len(prefix):]:
                return ResultsRequest(kind, unquote(path[len(prefix):]), page)
        return None


STYLES: dict[str, MarketStyle] = {s.key: s for s in (BazaarStyle(), ToriStyle())}

# Used when a profile lists no marketplaces: the sandbox still has two to crawl.
DEFAULT_MARKETS = (("BazaarHub", "www.bazaarhub.com"), ("Tori Market", "torimarket.fi"))


@dataclass(frozen=True)
class MarketSpec:
    name: str
    host: str
    style: MarketStyle
    report_path: str | None = None  # the IP-infringement report form, when the profile names one

    def url(self, path: str) -> str:
        return f"https://{self.host}{path}"

    @property
    def media_host(self) -> str:
        return self.style.media_host(self.host)

    def media_url(self, path: str) -> str:
        """The URL of a listing photo (``path`` from ``style.image_path``)."""
        return f"https://{self.media_host}{path}"


def markets_from_profile(profile: BrandProfile) -> list[MarketSpec]:
    """The profile's marketplaces; a search URL's host wins over the bare domain (www.)."""
    styles = list(STYLES.values())
    if not profile.marketplaces:
        return [MarketSpec(name, host, styles[i % len(styles)]) for i, (name, host) in enumerate(DEFAULT_MARKETS)]
    out = []
    for i, m in enumerate(profile.marketplaces):
        host = (urlsplit(m.search_url).hostname if m.search_url else None) or m.domain
        report = urlsplit(m.report_form_url) if m.report_form_url else None
        out.append(MarketSpec(m.name, host, styles[i % len(styles)],
                              report.path if report and report.hostname == host else None))
    return out


# --------------------------------------------------------------------------- results pages


def results_page(market: dict, style: MarketStyle, request: ResultsRequest, cards: list[dict],
                 categories: list[dict]) -> str:
    """One page of search or category results, with the style's "next" link."""
    pages = max(1, -(-len(cards) // PER_PAGE))
    start = (request.page - 1) * PER_PAGE
    if request.kind == "search":
        link, heading = partial(style.search_path, request.term), request.term
    else:
        link, heading = partial(style.category_path, request.term), style.category_name(request.term)
    return render(
        f"{style.key}/results.html", market=market, request=request, heading=heading,
        cards=cards[start:start + PER_PAGE], total=len(cards), page=request.page, pages=pages,
        next_url=link(request.page + 1) if request.page < pages else None,
        prev_url=link(request.page - 1) if request.page > 1 else None,
        categories=categories, query=request.term if request.kind == "search" else "",
    )


def matches(title: str, query: str) -> bool:
    """Every word of the query appears in the title, case-insensitively (no fuzzy matching)."""
    low = title.casefold()
    terms = query.casefold().split()
    return bool(terms) and all(t in low for t in terms)


class MarketApp:
    """Serves a marketplace's search and category pages from its build index."""

    def __init__(self, index_path: Path):
        index = json.loads(index_path.read_text(encoding="utf-8"))
        self.market = index["market"]
        self.style = STYLES[index["style"]]
        self.cards: list[dict] = index["cards"]
        self.categories: list[dict] = index["categories"]
        self._slugs = {c["slug"] for c in self.categories}
        self._cache: dict[ResultsRequest, str] = {}
        self._lock = threading.Lock()

    def handle(self, path: str, query: str) -> tuple[int, bytes] | None:
        """(status, HTML) for a results URL, or None when the path is not one."""
        request = self.style.parse_results(path, query)
        if request is None:
            return None
        if request.kind == "category" and request.term not in self._slugs:
            return 404, render(f"{self.style.key}/not_found.html", market=self.market,
                               categories=self.categories, query="").encode()
        with self._lock:
            html = self._cache.get(request)
        if html is None:
            if request.kind == "search":
                cards = [c for c in self.cards if matches(c["title"], request.term)]
            else:
                cards = [c for c in self.cards if c["category"] == request.term]
            html = results_page(self.market, self.style, request, cards, self.categories)
            with self._lock:
                if len(self._cache) > 4096:  # crawlers can ask for endless queries
                    self._cache.clear()
                self._cache[request] = html
        return 200, html.encode()
