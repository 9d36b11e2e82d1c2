"""Product listings out of HTML: structured data first, then what the page shows.

Order of trust: schema.org ``Product`` in JSON-LD, then in microdata, then
OpenGraph product tags, then heuristics over the visible HTML. Each field is
taken from the most trusted source that has it, and the result records which
source supplied the title and price (``extraction``), so an analyst can tell a
seller-declared price from a guessed one.
"""

from __future__ import annotations

import html
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

from crawlers.prices import country_currency, currency_code, currency_marks, declared_country, parse_price, shared_symbol

log = logging.getLogger(__name__)

MAX_TEXT = 20_000
IN_STOCK, OUT_OF_STOCK = "in_stock", "out_of_stock"
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
    #: Where the price was read: jsonld, microdata, opengraph or html (what the page shows).
    price_source: str | None = None
    #: The price before a discount, when the page shows one beside the price asked.
    list_price: float | None = None
    #: The upper end of a price range ("from 10 to 20", variants priced apart); ``price`` is the lower end.
    price_max: float | None = None
    #: ``in_stock`` or ``out_of_stock`` as the page says; None when it does not say.
    availability: str | None = None

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


#: Elements that carry a label and its value ("SKU: ...", "Member since ...", a cell), as one XPath;
#: elements far longer than any label (a whole list, a page section) are left out in lxml itself.
_LABELLED = ("//*[self::dt or self::th or self::td or self::span or self::li or self::p or self::dd or "
             "(self::div and not(*))][string-length(normalize-space()) <= 400]")


def _short_texts(doc: Any) -> list[tuple[Any, str]]:
    """The short labelled-looking elements whose text holds a label the SKU, seller-since, ships-from
    or quantity readers look for, with that text, in document order: each element's text is read
    once per page instead of once per reader, and only the few candidates are kept."""
    out = []
    for el in doc.xpath(_LABELLED):
        text = _el_text(el)
        if len(text) <= 80 and _ANY_LABEL.search(text):
            out.append((el, text))
    return out


def _seller_joined(doc: Any, now: datetime, short: list[tuple[Any, str]] | None = None) -> datetime | None:
    """The seller's join date from a labelled element ("Member since ...", or a label cell and its value)."""
    for el, text in short if short is not None else _short_texts(doc):
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
    # JSON-LD is often written with HTML entities ("Elo&iacute;sa"): a name reads as the page shows it.
    text = " ".join(html.unescape(str(value)).split())
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


#: schema.org availability values (and OpenGraph's) meaning the item cannot be bought now.
_OUT_OF_STOCK = re.compile(r"out.?of.?stock|sold.?out|discontinued|\boos\b|unavailable", re.I)
_IN_STOCK = re.compile(r"in.?stock|limited.?availability|online.?only|in.?store.?only|pre.?order|pre.?sale|\bavailable", re.I)


def _availability(value: Any) -> str | None:
    text = _text(value)
    if not text:
        return None
    if _OUT_OF_STOCK.search(text):
        return OUT_OF_STOCK
    return IN_STOCK if _IN_STOCK.search(text) else None


def _offers(value: Any) -> list[dict]:
    """Every offer under ``offers``: a list, an AggregateOffer and the offers it nests, in order."""
    out: list[dict] = []
    for item in value if isinstance(value, list) else [value]:
        if not isinstance(item, dict):
            continue
        offer = _props(item)
        out.append(offer)
        if offer.get("offers") is not None:
            out.extend(_offers(offer["offers"]))
    return out


def _price_specs(offer: dict) -> list[dict]:
    specs = offer.get("priceSpecification")
    return [_props(s) for s in (specs if isinstance(specs, list) else [specs]) if isinstance(s, dict)]


_LIST_PRICE_TYPE = re.compile(r"ListPrice|StrikethroughPrice|MSRP|SRP|RegularPrice", re.I)


def _offer_prices(offers: list[dict]) -> dict[str, Any]:
    """Price, list price, range and availability that a product's offers declare together.

    Offers that are in stock set the price when there are any (a sold-out variant's price is not
    what the buyer pays); several prices make a range whose lower end is the price."""
    priced: list[tuple[float, str | None, str | None]] = []
    high: list[float] = []
    list_prices: list[float] = []
    currency = None
    for offer in offers:
        specs = _price_specs(offer)
        currency = currency or _text(offer.get("priceCurrency")) or next(
            (_text(s.get("priceCurrency")) for s in specs if s.get("priceCurrency")), None)
        availability = _availability(offer.get("availability"))
        amount = _positive(_number(offer.get("price") if offer.get("price") not in (None, "") else offer.get("lowPrice")))
        for spec in specs:
            spec_amount = _positive(_number(spec.get("price")))
            if spec_amount is None:
                continue
            if _LIST_PRICE_TYPE.search(_text(spec.get("priceType")) or ""):
                list_prices.append(spec_amount)
            elif amount is None:
                amount = spec_amount
        if amount is not None:
            priced.append((amount, _text(offer.get("priceCurrency")), availability))
        if (top := _positive(_number(offer.get("highPrice")))) is not None:
            high.append(top)
    buyable = [p for p in priced if p[2] != OUT_OF_STOCK] or priced
    amounts = [p[0] for p in buyable]
    states = {p[2] for p in priced} | {_availability(o.get("availability")) for o in offers}
    price = min(amounts) if amounts else None
    top = max(amounts + high) if amounts else None
    list_price = max(list_prices) if list_prices else None
    return {
        "price": price,
        "price_max": top if top is not None and price is not None and top > price else None,
        "list_price": list_price if list_price is not None and price is not None and list_price > price else None,
        "currency": currency,
        "availability": IN_STOCK if IN_STOCK in states else OUT_OF_STOCK if OUT_OF_STOCK in states else None,
    }


def _positive(amount: float | None) -> float | None:
    """A price the buyer pays: a zero (a placeholder, a free sample) or negative one is none."""
    return amount if amount is not None and amount > 0 else None


def _identifier(p: dict, offers: list[dict]) -> str | None:
    """The shop's own id of the product: its SKU, else its product id, else a GTIN; not an MPN,
    which names the model across shops (the MPN is the last resort)."""
    for key in ("sku", "productID", "gtin13", "gtin", "gtin12", "gtin14", "gtin8"):
        for source in [p, *offers]:
            value = (_text(source.get(key)) or "").removeprefix("sku:").strip()
            if _CODE.fullmatch(value):
                return value
    return None


#: A product code: one token with a digit in it ("B07FW264WL", "466/7999"); not a model name with
#: spaces ("OPTIPLEX 9010 TOWER") nor a category word ("Civil") that some shops put there.
_CODE = re.compile(r"(?=[^\s]*\d)[\w\-/.:#]{2,64}")


def _from_product(node: dict, base: str, into: ExtractedListing, source: str, tld: str | None) -> None:
    p = _props(node)
    offers = _offers(p.get("offers"))
    offered = _offer_prices(offers)
    rating = _first(p.get("aggregateRating"))
    rating = _props(rating) if isinstance(rating, dict) else {}
    seller = _first(next((o.get("seller") for o in offers if o.get("seller")), None) or p.get("seller"))
    candidates = {
        "title": _text(p.get("name")),
        "description": _text(p.get("description")),
        "brand": _text(p.get("brand")),
        "sku": _identifier(p, offers),
        "seller": _text(seller),
        "seller_url": _text(_props(seller).get("url")) if isinstance(seller, dict) else None,
        "seller_joined": _date(_props(seller).get("foundingDate")) if isinstance(seller, dict) else None,
        "rating": _number(rating.get("ratingValue")),
        "ratings_count": _int(rating.get("reviewCount") or rating.get("ratingCount")),
        "quantity": _int(next((o.get("inventoryLevel") or o.get("eligibleQuantity") for o in offers
                               if o.get("inventoryLevel") or o.get("eligibleQuantity")), None)),
        "availability": offered["availability"],
    }
    _fill(into, candidates, source)
    _fill_price(into, offered, source, tld)
    if not into.images:
        into.images = _image_urls(p.get("image"), base)


def _fill_price(into: ExtractedListing, offered: dict[str, Any], source: str, tld: str | None) -> None:
    """The price and what goes with it (currency, list price, range), all from one source."""
    if into.price is not None or offered.get("price") is None:
        return
    into.price, into.price_source = offered["price"], source
    into.price_max, into.list_price = offered.get("price_max"), offered.get("list_price")
    into.currency = currency_code(_text(offered.get("currency")), tld=tld) or into.currency
    if into.extraction is None:
        into.extraction = source


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
_WORDS = re.compile(r"\w+")
_SYNTAX_MARKERS = (("json-ld", "ld+json"), ("microdata", "itemscope"), ("opengraph", "og:"))
_PRODUCT_TYPES = {"Product", "IndividualProduct", "ProductModel", "ProductGroup", "Vehicle", "Car", "Book"}


def _overlap(name: str | None, shown: list[str]) -> float:
    """Share of a product name's words that the page's headings or title show."""
    words = set(_WORDS.findall((name or "").casefold()))
    if not words:
        return 0.0
    return max((len(words & set(_WORDS.findall(s.casefold()))) / len(words) for s in shown), default=0.0)


def _structured(text: str, doc: Any, base: str, into: ExtractedListing, shown: list[str], tld: str | None) -> None:
    syntaxes = [syntax for syntax, marker in _SYNTAX_MARKERS if marker in text]
    if not syntaxes:
        return
    try:
        data = extruct.extract(doc, base_url=base, syntaxes=syntaxes, errors="ignore")
    except Exception as exc:  # noqa: BLE001 - extruct raises whatever its parsers raise on hostile input
        log.info("structured data unreadable on %s: %s", base, exc)
        return
    products: list[tuple[str, dict]] = []
    offers: list[tuple[str, dict]] = []
    for syntax, source in (("json-ld", "jsonld"), ("microdata", "microdata")):
        for node in _walk(data.get(syntax, [])):
            types = _types(node)
            if types & _PRODUCT_TYPES:
                products.append((source, node))
            elif types & {"Offer", "AggregateOffer"}:
                offers.append((source, node))
    if products:
        # Related products and recommendations carry markup too: the page's product is the one
        # whose name its headings show; the first one wins ties.
        scores = [_overlap(_text(_props(n).get("name")), shown) for _, n in products]
        best = max(scores)
        main_name = _text(_props(products[scores.index(best)][1]).get("name"))
        ordered = [products[scores.index(best)]] + [
            pn for pn, sc in zip(products, scores)
            # A product split over several blocks (or a group and its variants) keeps its other parts.
            if pn is not products[scores.index(best)] and (sc >= best or _text(_props(pn[1]).get("name")) in (None, main_name))]
        for source, node in ordered:
            _from_product(node, base, into, source, tld)
    for source, node in offers:
        # An offer outside any product (JSON-LD split over several blocks) prices the page's product.
        offered = _offer_prices(_offers(node))
        _fill(into, {"availability": offered["availability"]}, source)
        _fill_price(into, offered, source, tld)
    for og in data.get("opengraph", []):
        props = dict(og.get("properties", []))
        # og:title usually carries the shop's name: the visible page's heading is read for the title.
        _fill(into, {
            "description": _text(props.get("og:description")),
            "availability": _availability(props.get("product:availability") or props.get("og:availability")),
        }, "opengraph")
        _fill_price(into, {
            "price": _positive(_number(props.get("product:price:amount") or props.get("og:price:amount"))),
            "currency": props.get("product:price:currency") or props.get("og:price:currency"),
        }, "opengraph", tld)
        if not into.images and props.get("og:image"):
            into.images = _image_urls(props.get("og:image"), base)


# --------------------------------------------------------------------------- visible HTML

_PRICE_HINT = re.compile(r"price|hinta|precio|preço|preco|cena|prix|preis|amount", re.I)
_SELLER_HINT = re.compile(r"seller|vendor|myyj|vendedor|sprzedaw|shop-name|store-name", re.I)
_SHIPS_HINT = re.compile(r"ships from|shipped from|lähetetään|envío desde|enviado de|wysyłka z", re.I)
_QTY_HINT = re.compile(r"quantity|available|määrä|cantidad|quantidade|ilość|stock", re.I)
_TITLE_HINT = re.compile(r"title|name|otsikko|titulo|tytul", re.I)
_SKIP_IMG = re.compile(r"logo|icon|sprite|avatar|badge|pixel|tracking|banner|flag", re.I)


def _attr_text(el: Any) -> str:
    return " ".join(filter(None, [el.get("class"), el.get("id"), el.get("itemprop"), el.get("data-testid")]))


def _el_text(el: Any) -> str:
    return " ".join(el.text_content().split())[:MAX_TEXT]


def _spaced_text(el: Any) -> str:
    """An element's text with its children's texts apart: IKEA's ``<span>MÖCKELBY</span><span>Table</span>``
    reads "MÖCKELBY Table", not "MÖCKELBYTable"."""
    return " ".join(" ".join(el.itertext()).split())[:MAX_TEXT]


@dataclass
class _Page:
    """What the visible page says once, for every field that needs it."""

    headings: list[str]
    titles: list[str]
    site: str
    country: str | None

    @property
    def shown(self) -> list[str]:
        return self.headings + self.titles

    @property
    def main_heading(self) -> str | None:
        """The heading the document title agrees with most (the first one on a tie)."""
        # On a tie the longer heading: "Health services" above the product's own long name.
        return max(self.headings, key=lambda h: (_overlap(h, self.titles), len(_WORDS.findall(h))), default=None)


#: Generic top-level domains that happen to be country codes: they say nothing of the shop's country.
_GENERIC_CC = frozenset("io tv me ai fm ly to cc ws co gg".split())
_LOCALE_REGION = re.compile(r"^[a-z]{2,3}[-_]([a-z]{2})\b", re.I)


def _page(doc: Any, base: str) -> _Page:
    host = (urlsplit(base).hostname or "").lower().removeprefix("www.")
    labels = host.split(".")
    tld = labels[-1] if len(labels) > 1 else ""
    country = tld if len(tld) == 2 and tld not in _GENERIC_CC and country_currency(tld) else None
    if country is None:
        # A shop on a .com says its country in its language tag ("es-CL") or OpenGraph locale.
        for locale in doc.xpath("/html/@lang") + doc.xpath("//meta[@property='og:locale']/@content"):
            if (m := _LOCALE_REGION.match(locale.strip())) and country_currency(m.group(1)):
                country = m.group(1).lower()
                break
    site = max((label for label in labels[:-1] if label not in {"shop", "store", "co", "com"}), key=len, default="")
    site = site if len(site) >= 3 else ""
    headings = [t for t in (_spaced_text(h) for h in doc.xpath("//h1")[:8]) if t]
    titles = [" ".join(t.split()) for t in doc.xpath("//meta[@property='og:title']/@content") + doc.xpath("//title/text()")]
    return _Page(headings=headings, titles=[t for t in titles if t], site=site, country=country)


def _without_site(title: str, site: str) -> str:
    """A document title without the parts that name the shop ("… | eBay", "Amazon.it: …: Casa")."""
    parts = [p.strip() for p in _TITLE_PARTS.split(title) if p.strip()]
    kept = [p for p in parts if not (site and site in p.casefold().replace(" ", "").replace("-", ""))]
    return (" - ".join(kept) if kept and len(kept) < len(parts) else parts[0] if parts else title).strip()


_TITLE_PARTS = re.compile(r"\s+(?:\||–|—|::|·|-)\s+|｜|\s*\|\s*|:\s+(?=amazon)|(?<=\w):\s+(?=[A-Z][\w &]+$)", re.I)


def _title(doc: Any, page: _Page) -> str | None:
    """The product's name from the visible page: the main heading that the document title agrees
    with (a cart pop-up's or a menu's heading comes first on some shops), else a heading marked as
    the title, else the document title without the shop's name."""
    heading = page.main_heading
    if heading and (not page.titles or _overlap(heading, page.titles) >= 0.5):
        return heading
    titled = _without_site(page.titles[0], page.site) if page.titles else ""
    if heading and (_overlap(heading, page.titles) > 0 or len(_WORDS.findall(titled)) < 3):
        # No heading agrees with a document title that says next to nothing ("Myydään | Tori").
        return heading
    named = [el for el in doc.xpath("//h2|//h3|//*[@itemprop='name']") if _TITLE_HINT.search(_attr_text(el))]
    if named and (title := _spaced_text(named[0])):
        return title
    return _without_site(page.titles[0], page.site) if page.titles else (page.headings[0] if page.headings else None)


_OLD_PRICE = re.compile(r"(?<![a-z])(?:old|was|rrp|uvp|msrp|srp)(?![a-z])|before|list-?price|regular|original|strike|"
                        r"crossed|compare|previous|"
                        r"vorher|statt|ancien|barr|prezzo-?pieno|antes|tachad|przekre|dawn|instead", re.I)
_NOT_MAIN = re.compile(r"related|recommend|similar|upsell|cross-?sell|carousel|also|viewed|suggest|"
                       r"sponsor|footer|header|nav|menu|mini-?cart|mini-?basket|shipping|delivery|installment|"
                       r"per-?unit|unit-?price|ratenzahlung|cuotas", re.I)
_MONEY = re.compile(r"\d")
_RANGE = re.compile(r"\d\s*\S{0,4}\s*(?:-|–|—|~|～|\bto\b|\bbis\b|\ba\b|\bà\b|\bdo\b|\bдо\b)\s*(\S{0,4}\s*\d[\d.,\s]*\d?\s*\S{0,4})",
                    re.I)
_NUMBER = re.compile(r"\d(?:[\d.,\s]*\d)?")


@dataclass
class _Shown:
    amount: float
    currency: str | None
    text: str
    old: bool
    #: Elements between this price and the page's main heading (negative: before it).
    distance: int
    #: The element shows several prices: it is taken only when no single price is shown.
    block: bool = False
    element: Any = None


def _shown_prices(doc: Any, page: _Page) -> list[_Shown]:
    """Prices the page shows in elements marked as prices, in document order, each marked as an old
    (struck-through, "was") price or not; prices inside recommendations, carts or menus are left out."""
    # Prices are measured from the product's heading; a heading the document title does not echo at
    # all may be a related item's, and the page's start is the better anchor then.
    anchored = page.main_heading if not page.titles or _overlap(page.main_heading, page.titles) > 0 else None
    heading = next((h for h in doc.xpath("//h1") if _spaced_text(h) == anchored), None) if anchored else None
    elements = list(doc.iter())
    at = elements.index(heading) if heading is not None else 0
    out: list[_Shown] = []
    for position, el in enumerate(elements):
        if not isinstance(el.tag, str) or el.tag in ("script", "style", "noscript", "option", "select", "head"):
            continue
        struck_tag = el.tag in ("del", "s", "strike")
        if not el.attrib and not struck_tag:
            continue
        attrs = _attr_text(el)
        if not (_PRICE_HINT.search(attrs) or el.get("data-price") is not None or struck_tag) or len(out) > 200:
            continue
        raw = el.get("content") if el.tag == "meta" else el.get("data-price") or _el_text(el)
        if not raw or len(raw) > 60 or not _MONEY.search(raw):
            continue
        # A block of prices (old and new, with and without tax) is read after the prices in it.
        block = raw is not el.get("content") and currency_marks(raw) > 1 and len(set(_NUMBER.findall(raw))) > 1
        amount, currency = parse_price(raw, tld=page.country)
        if amount is None or _positive(amount) is None:
            continue
        chain = [el, *el.iterancestors()][:8]
        if any(_NOT_MAIN.search(_attr_text(a)) for a in chain):
            continue
        old = any(a.tag in ("del", "s", "strike") or _OLD_PRICE.search(_attr_text(a)) for a in chain[:3]) or \
            "line-through" in (el.get("style") or "")
        if struck_tag and currency is None and not _PRICE_HINT.search(attrs):
            continue  # struck-through text that is no price
        out.append(_Shown(amount, currency, _el_text(el)[:100] or raw[:100], old, position - at, block, el))
    return out


#: A buy button or an add-to-cart form, by its class, id or name, in the languages of the shops we read.
_BUY = re.compile(r"(?<![a-z])buy|add-?to-?(?:cart|bag|basket)|addtocart|cart-?(?:button|btn)|btn-?cart|purchase|"
                  r"warenkorb|in-?den-?korb|kaufen|comprar|acheter|ajout-?panier|carrello|koszyk|do-?koszyka", re.I)


def _price_by_buy_button(doc: Any, page: _Page) -> tuple[float, str | None, str] | None:
    """The one priced text just before the product's buy button, for shops without price markup: the
    price asked stands next to the button that buys at it. A text with several numbers (a price
    block, a quantity ladder) is no single price."""
    elements = [el for el in doc.iter() if isinstance(el.tag, str) and el.tag not in ("script", "style", "noscript")]
    for at, el in enumerate(elements):
        if el.tag in ("a", "button", "input", "form", "div", "span") and _BUY.search(_attr_text(el) + " " + (el.get("name") or "")):
            break
    else:
        return None
    for el in reversed(elements[max(0, at - 12):at]):
        raw = _el_text(el)
        if not raw or len(raw) > 60 or any(_OLD_PRICE.search(_attr_text(a)) or a.tag in ("del", "s", "strike")
                                           for a in [el, *el.iterancestors()][:3]):
            continue
        if currency_marks(raw) >= 1 and len(set(_NUMBER.findall(raw))) == 1:
            amount, currency = parse_price(raw, tld=page.country)
            if amount is not None and _positive(amount) is not None:
                return amount, currency, raw
    return None


def _visible_price(into: ExtractedListing, shown: list[_Shown], page: _Page, doc: Any = None) -> None:
    """The price from what the page shows when structured data gave none; a sale price over the
    structured one when the page shows the structured price struck through beside a lower one."""
    current = [s for s in shown if not s.old and not s.block] or [s for s in shown if not s.old]
    if into.price is None and doc is not None and all(s.block for s in current) and \
            (by_button := _price_by_buy_button(doc, page)):
        into.price, into.currency, into.price_text = by_button
        into.price_source, into.extraction = "html", into.extraction or "html"
        return
    if into.price is None:
        if not current:
            _after_struck_price(into, shown)
            return
        # The product's price is shown next to its name; one above the name counts as twice as far
        # (breadcrumbs, banners and mini-carts come before it).
        chosen = min(current, key=lambda s: s.distance if s.distance >= 0 else -2 * s.distance)
        into.price, into.price_source, into.price_text = chosen.amount, "html", chosen.text
        if (m := _RANGE.search(chosen.text)) and "%" not in m.group(1):
            # "502,20 – 558,00 б.р.", "from £10 to £20": the price is the lower end, the range kept.
            top, _ = parse_price(m.group(1), tld=page.country)
            into.price_max = top if top is not None and top > chosen.amount else None
        into.currency = into.currency or chosen.currency
        olds = [s.amount for s in shown if s.old and s.amount > chosen.amount]
        into.list_price = into.list_price or (olds[0] if olds else None)
        if into.extraction is None:
            into.extraction = "html"
        return
    # The struck-through price nearest the product's name is the product's (related items show theirs).
    struck = min((i for i, s in enumerate(shown) if s.old and abs(s.amount - into.price) < 0.005),
                 key=lambda i: abs(shown[i].distance), default=None)
    if struck is not None:
        # The sale price is the one shown right after the struck-through one, in the same price block.
        lower = [s for s in shown[struck + 1:struck + 4]
                 if not s.old and _plausible_sale(s.amount, into.price) and s.currency in (None, into.currency)]
        if lower:
            into.list_price, into.price, into.price_text = into.price, lower[0].amount, lower[0].text
    if into.price_text is None:
        into.price_text = next((s.text for s in current if abs(s.amount - into.price) < 0.005), None)


#: The lowest share of the list price a sale price is believed at: below it the number is a discount
#: ("7折", "-20%"), a rating or a quantity shown beside the struck price, not what the shop asks.
SALE_FLOOR = 0.2


def _plausible_sale(amount: float, list_price: float) -> bool:
    """Whether ``amount`` can be the sale price of an item listed at ``list_price``."""
    return list_price * SALE_FLOOR <= amount < list_price


def _after_struck_price(into: ExtractedListing, shown: list[_Shown]) -> None:
    """A struck-through price and, just after it in reading order, a bare lower number that is a
    plausible part of it (``<del>$420</del> 7折 <b>294</b>``, also in the next table row): the number
    is the price asked, the struck one the list price."""
    for old in sorted((s for s in shown if s.old and s.element is not None), key=lambda s: abs(s.distance)):
        for el in old.element.xpath("following::*[position() <= 12]"):
            amount, _ = parse_price((el.text or "").strip()[:40]) if isinstance(el.tag, str) else (None, None)
            if amount is not None and _plausible_sale(amount, old.amount):
                into.price, into.list_price, into.price_source = amount, old.amount, "html"
                into.price_text, into.currency = _el_text(el)[:100], into.currency or old.currency
                into.extraction = into.extraction or "html"
                return


def _visible(doc: Any, text: str, base: str, into: ExtractedListing, now: datetime, page: _Page) -> None:
    if not into.title:
        _fill(into, {"title": _title(doc, page)}, "html")
    elif (heading := page.main_heading) and _overlap(into.title, [heading]) == 1 and \
            len(_WORDS.findall(heading)) > len(_WORDS.findall(into.title)):
        # Structured data often shortens the name the page shows ("OFLEKI" under "Tommy Jeans OFLEKI").
        into.title = heading
    shown = _shown_prices(doc, page)
    _visible_price(into, shown, page, doc)
    if into.price_source == "html" and into.currency and shared_symbol(into.price_text):
        # "$3.340" on a .com: the currency the page declares says which dollar (or crown) it is.
        declared = _declared_currency(doc, text, page)
        if declared and currency_code(shared_symbol(into.price_text), tld=declared_country(declared)) == declared:
            into.currency = declared
    if into.price is not None and into.currency is None:
        into.currency = _page_currency(doc, text, shown, page)
    if into.availability is None:
        into.availability = _shown_availability(doc)
    short = _short_texts(doc)
    if into.sku is None:
        into.sku = _shown_sku(doc, short) or _script_sku(text) or _url_sku(base)
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
        into.seller_joined = _seller_joined(doc, now, short)
    for label_re, attr in ((_SHIPS_HINT, "ships_from"), (_QTY_HINT, "quantity")):
        if getattr(into, attr) is not None:
            continue
        for el, text in short:
            if el.tag not in ("td", "dd") and len(text) < 80 and label_re.search(text):
                value = text.split(":", 1)[1].strip() if ":" in text else None
                if value is None:
                    sib = el.getnext()
                    value = _el_text(sib) if sib is not None else None
                if value:
                    parsed: str | int | None = value
                    if attr == "quantity":
                        m = re.search(r"\d+", value)
                        parsed = int(m.group()) if m else None
                    setattr(into, attr, parsed)
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


_CURRENCY_KEY = re.compile(r"""["']?(?:priceCurrency|currencyCode|currency_code|currency)["']?\s*[:=]\s*["']([A-Z]{3})["']""")


def _declared_currency(doc: Any, text: str, page: _Page) -> str | None:
    """The currency the page's markup or scripts declare, the most frequent one."""
    declared = doc.xpath("//*[@itemprop='priceCurrency']/@content|//meta[contains(@property,'price:currency')]/@content")
    codes = [c for c in (currency_code(d.strip(), tld=page.country) for d in declared) if c]
    if not codes:
        codes = [c for c in (currency_code(m, tld=page.country) for m in _CURRENCY_KEY.findall(text[:MAX_HTML])) if c]
    return max(set(codes), key=codes.count) if codes else None


def _page_currency(doc: Any, text: str, shown: list[_Shown], page: _Page) -> str | None:
    """The page's currency when the price came without one: a symbol beside a shown price, a
    currency the page declares, else the country's."""
    if code := next((s.currency for s in shown if s.currency), None):
        return code
    return _declared_currency(doc, text, page) or country_currency(page.country)


_AVAILABILITY_HINT = re.compile(r"availab|stock|inventory|lager|disponib|verf[uü]g|dost[eę]p|sklad|наличи|saatav|varast", re.I)
_SHOWN_OUT = re.compile(
    r"out of stock|sold out|currently unavailable|no longer available|not available|unavailable|temporarily out|"
    r"ausverkauft|nicht verf[uü]gbar|nicht lieferbar|nicht auf lager|[ée]puis[ée]|rupture de stock|indisponible|"
    r"plus disponible|esaurit[oa]|non disponibile|agotad[oa]|sin stock|no disponible|esgotad[oa]|indispon[ií]vel|"
    r"sem estoque|uitverkocht|niet leverbaar|niet beschikbaar|niedost[eę]pn|wyprzedan|brak w magazynie|brak towaru|"
    r"slut i lager|slutsåld|udsolgt|utsolgt|loppu varastosta|loppuunmyyty|ei saatavilla|vyprodáno|vypredan|"
    r"nedostupn|není skladem|nie je skladom|нет в наличии|распродан|otsas|laos pole|nav pieejams|stoc epuizat|"
    r"indisponibil|nincs raktáron|elfogyott|tükendi|stokta yok|在庫切れ|売り切れ|缺貨|缺货|售完|품절|אזל|غير متوفر|نفذ",
    re.I)
_SHOWN_IN = re.compile(r"in stock|available|auf lager|lieferbar|en stock|disponib|in magazzino|em estoque|na stanie|"
                       r"dost[eę]pn|i lager|på lager|varastossa|skladem|skladom|в наличии|laos|pieejams|în stoc|"
                       r"raktáron|stokta|在庫あり|有貨|有货|재고", re.I)


_STATE_TEMPLATE = re.compile(r"unavailab|out-?of-?stock|sold-?out|not-?available|oos", re.I)
_HIDDEN_CLASS = re.compile(r"(?<![\w-])(?:hidden|hide|d-none|a-hidden|is-hidden|invisible|visually-hidden)(?![\w-])", re.I)


def _hidden(el: Any) -> bool:
    """Whether the element or a near ancestor is hidden by its markup (not by a style sheet we do not read)."""
    for node in [el, *el.iterancestors()][:4]:
        style = (node.get("style") or "").replace(" ", "").lower()
        if node.get("hidden") is not None or "display:none" in style or _HIDDEN_CLASS.search(node.get("class") or ""):
            return True
    return False


def _shown_availability(doc: Any) -> str | None:
    """In or out of stock, from the first element marked as the availability that says either."""
    for value in doc.xpath("//*[@itemprop='availability']/@href|//*[@itemprop='availability']/@content"):
        if state := _availability(value):
            return state
    for el in doc.xpath("//*[@class or @id or @data-testid]"):
        attrs = _attr_text(el)
        if el.tag in ("script", "style", "option") or not _AVAILABILITY_HINT.search(attrs):
            continue
        if _STATE_TEMPLATE.search(attrs) or _hidden(el):
            # "unavailable-label", "variationUnavailable": a message kept in the page for when the
            # item (or a variant's photo) is unavailable, usually hidden; it says nothing yet.
            continue
        text = _el_text(el)
        if not text or len(text) > 150:
            continue
        if _SHOWN_OUT.search(text):
            return OUT_OF_STOCK
        if _SHOWN_IN.search(text):
            return IN_STOCK
    return None


_SKU_LABEL = re.compile(
    r"(?:\bSKU|item number|item no\.?|article number|art\.?\s?-?\s?nr\.?|artikelnummer|artikel-nr\.?|product code|"
    r"produktnummer|product id|item #|kód(?: produktu)?|код(?: товара)?|código|referencia|référence|réf\.|codice|"
    r"numer katalogowy|produkta kods|tootekood|cod produs|numéro d'article|número de artículo|varenummer|tuotenumero)"
    r"\s*[:#.]?\s*([A-Z0-9][\w\-/.]{2,30})", re.I)


def _shown_sku(doc: Any, short: list[tuple[Any, str]] | None = None) -> str | None:
    """The shop's product code: an element marked ``itemprop="sku"``, else a labelled "SKU: …" text."""
    for el in doc.xpath("//*[@itemprop='sku' or @itemprop='productID']"):
        if _CODE.fullmatch(value := (el.get("content") or _el_text(el)).strip()):
            return value
    for el, text in short if short is not None else _short_texts(doc):
        if el.tag == "dd":
            continue
        if (m := _SKU_LABEL.search(text)) and _CODE.fullmatch(code := m.group(1).rstrip(".")):
            return code
    return None


_SCRIPT_SKU = re.compile(r"""["'](?:sku|productSku|product_sku|skuId)["']\s*:\s*["']([^"']{2,64})["']""")


def _script_sku(text: str) -> str | None:
    """The SKU a shop's scripts carry for its data layer or cart (``"sku":"1236291"``), the most frequent."""
    codes = [c for c in _SCRIPT_SKU.findall(text[:MAX_HTML]) if _CODE.fullmatch(c)]
    return max(codes, key=codes.count) if codes else None


_URL_ID = (
    re.compile(r"/(?:dp|gp/product|gp/aw/d)/([A-Z0-9]{10})(?:[/?]|$)"),  # an Amazon ASIN
    re.compile(r"/itm/(?:[^/]+/)?(\d{9,15})(?:[/?]|$)"),  # an eBay item number
    re.compile(r"[?&](?:sku|skuId|productId|product_id|itemId|item_id|pid)=([\w-]{4,40})", re.I),
    re.compile(r"[-_/.]p?(\d{6,20})(?:\.html?|\.php|\.aspx?|/)?(?:[?#]|$)", re.I),
)


def _url_sku(url: str) -> str | None:
    """A product id the URL carries (an ASIN, an eBay item number, ``?sku=``, a long trailing number)."""
    for pattern in _URL_ID:
        if m := pattern.search(url):
            return m.group(1)
    return None


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
    page = _page(doc, url)
    _structured(text, doc, url, into, page.shown, page.country)
    # The visible page checks the structured price (a sale shown beside it) and tells what structured
    # data rarely does: the seller's context, the availability, the product code.
    _visible(doc, text, url, into, now or datetime.now(timezone.utc), page)
    return into


#: Any of the labels the SKU, seller-since, ships-from and quantity readers look for, as one pattern
#: (all four are case-insensitive), so that a page's short texts are searched once.
_ANY_LABEL = re.compile("|".join(f"(?:{p.pattern})" for p in (_SKU_LABEL, _JOINED_HINT, _SHIPS_HINT, _QTY_HINT)), re.I)
