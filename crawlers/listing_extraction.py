"""Product listings out of HTML: structured data first, then what the page shows.

Order of trust: schema.org ``Product`` in JSON-LD, then in microdata, then
OpenGraph product tags, then heuristics over the visible HTML. Each field is
taken from the most trusted source that has it, and the result records which
source supplied the title and price (``extraction``), so an analyst can tell a
seller-declared price from a guessed one.
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable
from urllib.parse import urljoin, urlsplit

import extruct
from lxml import html as lxml_html
from lxml.etree import ParserError

from crawlers.prices import currency_code, parse_price

log = logging.getLogger(__name__)

MAX_TEXT = 20_000
#: Pages longer than this are read up to it: the crawl's download cap (4 MiB) keeps bigger ones out,
#: and a saved page given to ``extract-listing`` must not take minutes.
MAX_HTML = 8 * 1024 * 1024


@dataclass
class ExtractedListing:
    title: str | None = None
    description: str | None = None
    price: float | None = None
    currency: str | None = None
    price_text: str | None = None
    brand: str | None = None
    sku: str | None = None
    seller: str | None = None
    seller_url: str | None = None
    rating: float | None = None
    ratings_count: int | None = None
    ships_from: str | None = None
    quantity: int | None = None
    seller_joined: datetime | None = None
    images: list[str] = field(default_factory=list)
    extraction: str | None = None

    @property
    def is_complete(self) -> bool:
        """Title and price found: a listing, not a shell waiting for JavaScript."""
        return bool(self.title) and self.price is not None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["seller_joined"] = self.seller_joined.isoformat() if self.seller_joined else None
        return data


# --------------------------------------------------------------------------- seller join dates

#: Days per unit of "joined 3 weeks ago", "Member for 2 years", "liittynyt 5 päivää sitten"...
_AGE_UNITS = (
    (1, "days?|päivää?|días?|dias?|dni|dzień|tage?n?|dagar?"),
    (7, "weeks?|viikk?oa?|semanas?|tygodni[ea]?|tydzień|wochen?|veckor?"),
    (30, "months?|kuukau(?:si|tta)|mes(?:es)?|mês|miesiąc[ea]?|miesięcy|monate?n?|månad(?:er)?"),
    (365, "years?|vuo(?:si|tta)|años?|anos?|rok|lata?|jahre?n?|år"),
)
_RELATIVE_AGE = re.compile(r"(\d{1,4})\s*(" + "|".join(f"(?P<u{days}>{words})" for days, words in _AGE_UNITS) + r")\b",
                           re.I)
_ISO_MONTH = re.compile(r"\b((?:19|20)\d{2})-(\d{1,2})(?:-(\d{1,2}))?\b")
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_MONTH_YEAR = re.compile(r"\b(" + "|".join(_MONTHS) + r")[a-z]*\.?\s+((?:19|20)\d{2})\b", re.I)
_YEAR = re.compile(r"\b((?:19|20)\d{2})\b")
_JOINED_HINT = re.compile(r"member since|member for|joined|seller since|selling since|on \S+ since|liittynyt|"
                          r"jäsen(?:enä)? vuodesta|miembro desde|membro desde|vendedor desde|dołączył|na \S+ od|"
                          r"mitglied seit|medlem sedan", re.I)


def parse_joined(text: str | None, now: datetime) -> datetime | None:
    """When a seller joined, from "Member for 3 weeks", "joined 2026-10", "Member since March 2019",
    "liittynyt 5 päivää sitten"... relative to ``now``. A month or a year alone reads as its first
    day: the join date is never made more recent than the page says."""
    if not text:
        return None
    if m := _ISO_MONTH.search(text):
        year, month, day = int(m.group(1)), int(m.group(2)), int(m.group(3) or 1)
        try:
            return datetime(year, month, day, tzinfo=timezone.utc)
        except ValueError:
            return None
    if m := _MONTH_YEAR.search(text):
        return datetime(int(m.group(2)), _MONTHS.index(m.group(1)[:3].lower()) + 1, 1, tzinfo=timezone.utc)
    if m := _RELATIVE_AGE.search(text):
        days = next(int(k[1:]) for k, v in m.groupdict().items() if v)
        return now - timedelta(days=int(m.group(1)) * days)
    if m := _YEAR.search(text):
        return datetime(int(m.group(1)), 1, 1, tzinfo=timezone.utc)
    return None


def _seller_joined(doc: Any, now: datetime) -> datetime | None:
    """The seller's join date from a labelled element ("Member since ...", or a label cell and its value)."""
    for el in doc.xpath("//dt|//th|//td|//span|//li|//p|//dd|//div[not(*)]"):
        text = _el_text(el)
        label = _JOINED_HINT.search(text) if len(text) < 80 else None
        if label is None:
            continue
        joined = parse_joined(text[label.end():], now)
        if joined is None and (sib := el.getnext()) is not None:
            joined = parse_joined(_el_text(sib), now)
        if joined is not None:
            return joined
    return None


# --------------------------------------------------------------------------- structured data


def _types(node: dict) -> set[str]:
    t = node.get("@type") or node.get("type") or []
    values = t if isinstance(t, list) else [t]
    return {str(v).rsplit("/", 1)[-1] for v in values}


def _walk(node: Any) -> Iterable[dict]:
    if isinstance(node, dict):
        yield node
        for key in ("@graph", "properties", "mainEntity", "itemListElement", "item"):
            if key in node:
                yield from _walk(node[key])
    elif isinstance(node, list):
        for child in node:
            yield from _walk(child)


def _first(value: Any) -> Any:
    while isinstance(value, list):
        if not value:
            return None
        value = value[0]
    return value


def _text(value: Any) -> str | None:
    value = _first(value)
    if isinstance(value, dict):
        value = value.get("name") or value.get("@value") or value.get("properties", {}).get("name")
        value = _first(value)
    if value is None:
        return None
    text = " ".join(str(value).split())
    return text[:MAX_TEXT] or None


def _number(value: Any) -> float | None:
    value = _first(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        # JSON-LD may say NaN or 1e999; Elasticsearch refuses them and no price is that.
        return float(value) if math.isfinite(value) else None
    if isinstance(value, str):
        amount, _ = parse_price(value)
        return amount
    return None


def _image_urls(value: Any, base: str) -> list[str]:
    out = []
    for v in value if isinstance(value, list) else [value]:
        if isinstance(v, dict):
            v = v.get("url") or v.get("contentUrl") or v.get("properties", {}).get("url")
            v = _first(v)
        if isinstance(v, str) and v.strip():
            out.append(urljoin(base, v.strip()))
    return out


def _props(node: dict) -> dict:
    return node.get("properties", node)


def _from_product(node: dict, base: str, into: ExtractedListing, source: str) -> None:
    p = _props(node)
    offers = _first(p.get("offers"))
    offer = _props(offers) if isinstance(offers, dict) else {}
    if isinstance(offer.get("priceSpecification"), dict):
        offer = {**_props(offer["priceSpecification"]), **offer}
    rating = _first(p.get("aggregateRating"))
    rating = _props(rating) if isinstance(rating, dict) else {}
    seller = _first(offer.get("seller") or p.get("seller"))
    candidates = {
        "title": _text(p.get("name")),
        "description": _text(p.get("description")),
        "price": _number(offer.get("price") or offer.get("lowPrice")),
        "currency": currency_code(_text(offer.get("priceCurrency"))),
        "brand": _text(p.get("brand")),
        "sku": _text(p.get("sku") or p.get("mpn") or p.get("productID")),
        "seller": _text(seller),
        "seller_url": _text(_props(seller).get("url")) if isinstance(seller, dict) else None,
        "seller_joined": _date(_props(seller).get("foundingDate")) if isinstance(seller, dict) else None,
        "rating": _number(rating.get("ratingValue")),
        "ratings_count": _int(rating.get("reviewCount") or rating.get("ratingCount")),
        "quantity": _int(offer.get("inventoryLevel") or offer.get("eligibleQuantity")),
    }
    _fill(into, candidates, source)
    if not into.images:
        into.images = _image_urls(p.get("image"), base)


def _date(value: Any) -> datetime | None:
    """An ISO 8601 date or date-time (schema.org ``Date``/``DateTime``) as an aware datetime."""
    text = _text(value)
    try:
        parsed = datetime.fromisoformat(text) if text else None
    except ValueError:
        return None
    return parsed.replace(tzinfo=timezone.utc) if parsed and parsed.tzinfo is None else parsed


def _int(value: Any) -> int | None:
    number = _number(_props(value).get("value") if isinstance(value, dict) else value)
    return int(number) if number is not None else None


def _fill(into: ExtractedListing, candidates: dict[str, Any], source: str) -> None:
    for name, value in candidates.items():
        if value is not None and getattr(into, name) in (None, ""):
            setattr(into, name, value)
            if name in {"title", "price"} and into.extraction is None:
                into.extraction = source


#: Markers without which a syntax cannot be on the page: its extractor is not run.
_SYNTAX_MARKERS = (("json-ld", "ld+json"), ("microdata", "itemscope"), ("opengraph", "og:"))


def _structured(text: str, doc: Any, base: str, into: ExtractedListing) -> None:
    syntaxes = [syntax for syntax, marker in _SYNTAX_MARKERS if marker in text]
    if not syntaxes:
        return
    try:
        data = extruct.extract(doc, base_url=base, syntaxes=syntaxes, errors="ignore")
    except Exception as exc:  # extruct raises whatever its parsers raise on hostile input
        log.info("structured data unreadable on %s: %s", base, exc)
        return
    for syntax, source in (("json-ld", "jsonld"), ("microdata", "microdata")):
        for node in _walk(data.get(syntax, [])):
            if "Product" in _types(node) or "IndividualProduct" in _types(node):
                _from_product(node, base, into, source)
    for og in data.get("opengraph", []):
        props = dict(og.get("properties", []))
        _fill(into, {
            "title": _text(props.get("og:title")),
            "price": _number(props.get("product:price:amount") or props.get("og:price:amount")),
            "currency": currency_code(_text(props.get("product:price:currency") or props.get("og:price:currency"))),
            "description": _text(props.get("og:description")),
        }, "opengraph")
        if not into.images and props.get("og:image"):
            into.images = _image_urls(props.get("og:image"), base)


# --------------------------------------------------------------------------- visible HTML

_PRICE_HINT = re.compile(r"price|hinta|precio|preço|preco|cena|prix|preis|amount", re.I)
_SELLER_HINT = re.compile(r"seller|vendor|myyj|vendedor|sprzedaw|shop-name|store-name", re.I)
_SHIPS_HINT = re.compile(r"ships from|shipped from|lähetetään|envío desde|enviado de|wysyłka z", re.I)
_QTY_HINT = re.compile(r"quantity|available|määrä|cantidad|quantidade|ilość|stock", re.I)
_TITLE_HINT = re.compile(r"title|name|otsikko|titulo|tytul", re.I)
_TITLE_SUFFIX = re.compile(r"\s+(?:\||–|—|::|·|-)\s+")
_SKIP_IMG = re.compile(r"logo|icon|sprite|avatar|badge|pixel|tracking|banner|flag", re.I)


def _attr_text(el: Any) -> str:
    return " ".join(filter(None, [el.get("class"), el.get("id"), el.get("itemprop"), el.get("data-testid")]))


def _el_text(el: Any) -> str:
    return " ".join(el.text_content().split())[:MAX_TEXT]


def _visible(doc: Any, base: str, into: ExtractedListing, now: datetime) -> None:
    tld = (urlsplit(base).hostname or "").rsplit(".", 1)[-1]
    if not into.title:
        h1 = doc.xpath("//h1")
        title = _el_text(h1[0]) if h1 else None
        if not title:
            # A heading marked as the item's title or name; failing that the document title, without
            # the " | Site" / " :: Market" suffix sites append to it.
            named = [el for el in doc.xpath("//h2|//h3|//*[@itemprop='name']") if _TITLE_HINT.search(_attr_text(el))]
            title = _el_text(named[0]) if named else None
        if not title:
            t = doc.xpath("//title")
            title = _TITLE_SUFFIX.split(_el_text(t[0]))[0].strip() if t else None
        _fill(into, {"title": title or None}, "html")
    if into.price is None:
        for el in doc.xpath("//*[@itemprop or @data-price or @class or @id]"):
            if not _PRICE_HINT.search(_attr_text(el)) and el.get("data-price") is None:
                continue
            raw = el.get("content") or el.get("data-price") or _el_text(el)
            amount, currency = parse_price(raw, tld=tld)
            if amount is None:
                continue
            if currency is None:
                sibling = el.xpath("../*[@itemprop='priceCurrency']")
                currency = currency_code(sibling[0].get("content") or _el_text(sibling[0])) if sibling else None
            _fill(into, {"price": amount}, "html")
            into.currency = into.currency or currency
            into.price_text = _el_text(el)[:100] or raw[:100]
            break
    if not into.seller:
        for el in doc.xpath("//*[@class or @id or @itemprop]"):
            if _SELLER_HINT.search(_attr_text(el)):
                text = _el_text(el)
                if 0 < len(text) < 200:
                    into.seller = re.sub(r"^(seller|myyjä|vendedor|sprzedawca)\s*:?\s*", "", text, flags=re.I)
                    break
    if not into.description:
        meta = doc.xpath("//meta[@name='description']/@content")
        desc = doc.xpath("//*[@itemprop='description' or contains(@class,'description') or contains(@class,'desc')]")
        into.description = (_el_text(desc[0]) if desc else None) or (" ".join(meta[0].split()) if meta else None)
    if into.seller_joined is None:
        into.seller_joined = _seller_joined(doc, now)
    for label_re, attr in ((_SHIPS_HINT, "ships_from"), (_QTY_HINT, "quantity")):
        if getattr(into, attr) is not None:
            continue
        for el in doc.xpath("//dt|//th|//span|//li|//p|//div[not(*)]"):
            text = _el_text(el)
            if len(text) < 80 and label_re.search(text):
                value = text.split(":", 1)[1].strip() if ":" in text else None
                if value is None:
                    sib = el.getnext()
                    value = _el_text(sib) if sib is not None else None
                if value:
                    if attr == "quantity":
                        m = re.search(r"\d+", value)
                        value = int(m.group()) if m else None
                    setattr(into, attr, value)
                    break
    if not into.images:
        seen: list[str] = []
        for img in doc.xpath("//img[@src or @data-src]"):
            src = img.get("data-src") or img.get("src")
            if not src or src.startswith("data:") or _SKIP_IMG.search(src + " " + _attr_text(img)):
                continue
            url = urljoin(base, src)
            if url not in seen:
                seen.append(url)
        into.images = seen[:20]


def _parse(text: str) -> Any:
    try:
        return lxml_html.document_fromstring(text)
    except ValueError:
        # lxml refuses a str that carries an XML encoding declaration: give it the bytes it describes.
        parser = lxml_html.HTMLParser(encoding="utf-8")
        return lxml_html.document_fromstring(text.encode("utf-8"), parser=parser)


def extract_listing(text: str, url: str, now: datetime | None = None) -> ExtractedListing:
    """The listing that ``text`` (decoded HTML) at ``url`` shows; fields it lacks stay None.
    ``now`` (default: the current time) is when the page was fetched: "joined 3 weeks ago" counts from it."""
    into = ExtractedListing()
    if not text.strip():
        return into
    if len(text) > MAX_HTML:
        log.warning("page %s is %d characters long; only its first %d are read", url, len(text), MAX_HTML)
        text = text[:MAX_HTML]
    try:
        # Parsed once, for the structured data and for the visible HTML alike.
        doc = _parse(text)
    except (ParserError, ValueError) as exc:
        log.info("unparseable HTML at %s: %s", url, exc)
        return into
    _structured(text, doc, url, into)
    # The seller context (join date, origin) is rarely in structured data: the page is read for it too.
    if into.is_complete and into.currency and into.images and into.seller and into.seller_joined and into.ships_from:
        return into
    _visible(doc, url, into, now or datetime.now(timezone.utc))
    return into
