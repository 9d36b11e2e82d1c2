"""Listing extraction on 140 real product pages (Zyte's product-extraction benchmark), beside its peers.

The corpus (``evaluation/corpora/listings/``, see its SOURCES.md) holds the saved pages, their
labels and the outputs the benchmark published for Zyte, Diffbot and its extruct baseline.

Questions asked, each as one ``Metrics`` row per system:

* ``price``, ``sku``, ``availability``, ``InStock``, ``OutOfStock``: the benchmark's own definitions,
  re-implemented here. Each page has a set of accepted values and at most one predicted value; a
  prediction that matches is a true positive; a wrong one is a false positive and, when the page has
  a value, a false negative too; a missing one is a false negative when the page has a value. Prices
  compare as decimal numbers against the published labels (currency not compared); availability is
  ``InStock`` unless a system says ``OutOfStock``.
* ``price_currency``: the price's value and its ISO 4217 currency both right, against our reading of
  the labels (a few published labels write a thousands separator as a decimal point: SOURCES.md).
* ``currency``: the ISO currency alone, on pages that show a price.
* ``title``: the product's name (see :func:`title_matches`).
* ``price_strings_amount``, ``price_strings_currency``, ``price_strings_both``: a second check nobody
  tuned brandhound on: the real shop price strings of price-parser's test suite
  (``price_strings.json.gz``, SOURCES.md), brandhound's ``parse_price`` beside price-parser's
  ``Price.fromstring`` on the same strings, split by the string. price-parser was written against
  these strings, so its figures are an upper reference, not a blind peer.

Peers in the same run: an extruct + price-parser baseline (re-implemented here: the first schema.org
Product offer, else price-parser over the page's meta and visible price), and the predictions Zyte
and Diffbot published with the benchmark, re-scored on the same split (``split="all"`` reproduces the
README's figures, which :data:`PUBLISHED_F1` quotes).
"""

from __future__ import annotations

import gzip
import json
import re
import tarfile
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from dataclasses import replace
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from evaluation.corpus import corpus_dir, in_split
from evaluation.metrics import Metrics, Result

CORPUS = "listings"
#: When the pages were saved (the benchmark's snapshots date from early 2021).
SNAPSHOT_TIME = datetime(2021, 2, 1, tzinfo=timezone.utc)

#: F1 as published in the benchmark's README (all 140 pages), quoted for the report.
PUBLISHED_F1: dict[str, dict[str, float]] = {
    "Zyte": {"price": 0.918, "sku": 0.841, "availability": 0.957, "InStock": 0.977, "OutOfStock": 0.625},
    "Diffbot": {"price": 0.824, "sku": 0.765, "availability": 0.943, "InStock": 0.970, "OutOfStock": 0.429},
    "extruct": {"price": 0.685, "sku": 0.537, "availability": 0.626, "InStock": 0.954, "OutOfStock": 0.333},
}

#: What a system predicts for one page: field -> value (price as text, availability InStock/OutOfStock).
Prediction = dict[str, Any]


# --------------------------------------------------------------------------- corpus


@lru_cache(maxsize=1)
def labels() -> dict[str, dict[str, Any]]:
    """Page id -> labels (url, price, price_amount, currency_iso, sku, availability, title...)."""
    with gzip.open(corpus_dir(CORPUS) / "labels.json.gz", "rt", encoding="utf-8") as fh:
        return json.load(fh)


@lru_cache(maxsize=1)
def published_outputs() -> dict[str, dict[str, Prediction]]:
    """System name (Zyte, Diffbot, extruct) -> page id -> the prediction published with the benchmark."""
    with gzip.open(corpus_dir(CORPUS) / "published-outputs.json.gz", "rt", encoding="utf-8") as fh:
        return json.load(fh)


def pages(split: str) -> Iterator[tuple[str, str]]:
    """``(page id, decoded HTML)`` of every page in ``split``, read from the committed archive."""
    from brandhound.html_text import decode_html

    with tarfile.open(corpus_dir(CORPUS) / "pages.tar.xz", "r:xz") as archive:
        for member in archive:
            page_id = member.name.rsplit("/", 1)[-1].removesuffix(".html")
            if not member.isfile() or page_id not in labels() or not in_split(page_id, split):
                continue
            body = archive.extractfile(member).read()  # type: ignore[union-attr]
            yield page_id, decode_html(body)[0]


# --------------------------------------------------------------------------- matching


def _decimal(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value).strip()) if value not in (None, "") else None
    except InvalidOperation:
        return None


def _count(truth: set[Any], predicted: Any) -> tuple[int, int, int]:
    """The benchmark's counting for one page: ``(tp, fp, fn)``."""
    if predicted is None:
        return 0, 0, int(bool(truth))
    if predicted in truth:
        return 1, 0, 0
    return 0, 1, int(bool(truth))


_WORD = re.compile(r"\w+")


def _words(text: str) -> list[str]:
    return _WORD.findall(text.casefold())


def title_matches(predicted: str, accepted: list[str]) -> bool:
    """Whether a predicted title names the labelled product: it holds at least 80% of the words of
    one accepted title, and at least half of its own words are that title's. A shop's suffix
    ("| eBay") or a colour passes; a cart button, a breadcrumb or a related product does not."""
    said = _words(predicted)
    if not said:
        return False
    for title in accepted:
        wanted = _words(title)
        if not wanted:
            continue
        covered = sum(1 for w in set(wanted) if w in said) / len(set(wanted))
        relevant = sum(1 for w in said if w in wanted) / len(said)
        if covered >= 0.8 and relevant >= 0.5:
            return True
    return False


def _scores(label: dict[str, Any], pred: Prediction) -> dict[str, tuple[int, int, int]]:
    """Confusion counts of one page, per question."""
    availability = pred.get("availability") or "InStock"
    price = _decimal(pred.get("price"))
    truth_amount = {_decimal(p) for p in label.get("price_amount", [])}
    currency = pred.get("currency_iso")
    truth_currency = {label["currency_iso"]} if label.get("currency_iso") else set()
    title = pred.get("title")
    title_ok = bool(title) and title_matches(title, label.get("title", []))
    return {
        "price": _count({_decimal(p) for p in label.get("price", [])}, price),
        "sku": _count(set(label.get("sku", [])), pred.get("sku") or None),
        "availability": _count({label["availability"]}, availability),
        "InStock": _count({"InStock"} if label["availability"] == "InStock" else set(),
                          "InStock" if availability == "InStock" else None),
        "OutOfStock": _count({"OutOfStock"} if label["availability"] == "OutOfStock" else set(),
                             "OutOfStock" if availability == "OutOfStock" else None),
        "price_currency": _count({(a, c) for a in truth_amount for c in truth_currency} or set(truth_amount),
                                 (price, currency) if price is not None else None),
        # Currency asked only where the page shows a price.
        "currency": _count(truth_currency, currency) if truth_amount else (0, 0, 0),
        "title": (1, 0, 0) if title_ok else (0, int(bool(title)), 1),
    }


QUESTIONS = ("price", "price_currency", "currency", "title", "sku", "availability", "InStock", "OutOfStock")


def score(split: str, system: str, predictions: dict[str, Prediction], *, note: str = "",
          asked: tuple[str, ...] = QUESTIONS, extra: tuple[tuple[str, float], ...] = ()) -> list[Result]:
    """One Result per question for ``system``'s predictions on the pages of ``split``."""
    totals = {q: [0, 0, 0] for q in asked}
    for page_id, label in labels().items():
        if not in_split(page_id, split):
            continue
        for question, counts in _scores(label, predictions.get(page_id, {})).items():
            if question in totals:
                totals[question] = [a + b for a, b in zip(totals[question], counts)]
    pages_with_price = sum(1 for k, v in labels().items() if in_split(k, split) and v.get("price_amount"))
    results = []
    for question, (tp, fp, fn) in totals.items():
        figures = extra
        if question == "price_currency" and pages_with_price:
            figures = (("share_correct", round(tp / pages_with_price, 4)),) + extra
        if system in PUBLISHED_F1 and question in PUBLISHED_F1[system]:
            figures = figures + (("published_f1_all_pages", PUBLISHED_F1[system][question]),)
        results.append(Result(CORPUS, split, system, Metrics.of(question, tp, fp, fn), note=note, extra=figures))
    return results


# --------------------------------------------------------------------------- systems


def brandhound_predictions(split: str) -> tuple[dict[str, Prediction], float]:
    """brandhound's extractor on every page of ``split``, and its median seconds per page."""
    from crawlers.listing_extraction import extract_listing

    out: dict[str, Prediction] = {}
    costs: list[float] = []
    for page_id, text in pages(split):
        t0 = time.perf_counter()
        listing = extract_listing(text, labels()[page_id]["url"], SNAPSHOT_TIME)
        costs.append(time.perf_counter() - t0)
        out[page_id] = {
            "title": listing.title,
            "price": _price_text(listing.price),
            "currency_iso": listing.currency,
            "sku": listing.sku,
            "availability": _availability(listing),
            "price_source": listing.price_source,
        }
    costs.sort()
    return out, costs[len(costs) // 2] if costs else 0.0


def _availability(listing: Any) -> str | None:
    value = getattr(listing, "availability", None)
    return {"in_stock": "InStock", "out_of_stock": "OutOfStock"}.get(value or "", None)


def _price_text(amount: float | None) -> str | None:
    # The float goes through repr so that 19.9 compares as Decimal("19.9"), not its binary expansion.
    return repr(amount) if amount is not None else None


def baseline_predictions(split: str) -> dict[str, Prediction]:
    """The extruct + price-parser baseline: the first schema.org Product (JSON-LD, microdata or RDFa)
    and its first offer; failing a price there, price-parser over the page's price meta tags and
    then the first element whose class or id says price. Re-implemented in our words."""
    import extruct
    from lxml import etree as lxml_etree, html as lxml_html
    from price_parser import Price

    out: dict[str, Prediction] = {}
    for page_id, text in pages(split):
        pred: Prediction = {}
        try:
            data = extruct.extract(text, base_url=labels()[page_id]["url"],
                                   syntaxes=["json-ld", "microdata", "rdfa", "opengraph"], uniform=True, errors="ignore")
        except Exception:  # noqa: BLE001 - a page extruct cannot read leaves the baseline its visible-HTML fallback
            data = {}
        product = next((n for syntax in ("json-ld", "microdata", "rdfa") for n in _nodes(data.get(syntax, []))
                        if "Product" in str(n.get("@type"))), None)
        if product:
            offer = _first_of(product.get("offers"))
            offer = offer if isinstance(offer, dict) else {}
            pred["title"] = _plain(product.get("name"))
            pred["sku"] = _plain(product.get("sku"))
            if (price := _plain(offer.get("price") or offer.get("lowPrice"))) is not None:
                parsed = Price.fromstring(price)
                pred["price"] = str(parsed.amount) if parsed.amount is not None else None
            pred["currency_iso"] = _plain(offer.get("priceCurrency"))
            if "OutOfStock" in str(offer.get("availability") or ""):
                pred["availability"] = "OutOfStock"
        try:
            doc = lxml_html.document_fromstring(text)
        except (ValueError, lxml_etree.ParserError):
            doc = None
        if doc is not None and not pred.get("price"):
            metas = doc.xpath("//meta[contains(@property,'price:amount') or @itemprop='price']/@content")
            shown = [" ".join(e.text_content().split())[:80]
                     for e in doc.xpath("//*[contains(@class,'price') or contains(@id,'price')]")[:1]]
            for raw in metas + shown:
                parsed = Price.fromstring(raw)
                if parsed.amount is not None:
                    pred["price"] = str(parsed.amount)
                    pred["currency_iso"] = pred.get("currency_iso") or parsed.currency
                    break
        # The baseline reads a symbol with the plainest table there is (no country, no shared "$").
        currency = (pred.get("currency_iso") or "").strip()
        pred["currency_iso"] = BASELINE_SYMBOLS.get(currency, currency.upper() if re.fullmatch(r"[A-Za-z]{3}", currency) else None)
        if doc is not None and not pred.get("title"):
            og = doc.xpath("//meta[@property='og:title']/@content") or doc.xpath("//title/text()")
            pred["title"] = " ".join(og[0].split()) if og else None
        out[page_id] = pred
    return out


BASELINE_SYMBOLS = {"€": "EUR", "£": "GBP", "$": "USD", "US$": "USD", "¥": "JPY", "₹": "INR", "₽": "RUB", "zł": "PLN",
                    "R$": "BRL", "₩": "KRW", "kr": "SEK", "Kč": "CZK", "₺": "TRY"}


def _nodes(node: Any) -> Iterator[dict]:
    if isinstance(node, dict):
        yield node
        for child in node.values():
            yield from _nodes(child)
    elif isinstance(node, list):
        for child in node:
            yield from _nodes(child)


def _first_of(value: Any) -> Any:
    return value[0] if isinstance(value, list) and value else value


def _plain(value: Any) -> str | None:
    value = _first_of(value)
    if isinstance(value, dict):
        value = value.get("name") or value.get("@value")
    return " ".join(str(value).split()) or None if value is not None else None


def published_predictions(system: str) -> dict[str, Prediction]:
    """A peer's published predictions, with its currency symbol read as an ISO code where it is one."""
    out = {}
    for page_id, pred in published_outputs()[system].items():
        currency = (pred.get("currency") or "").strip().upper()
        out[page_id] = {**pred, "currency_iso": currency if re.fullmatch(r"[A-Z]{3}", currency) else None}
    return out


def evaluate(split: str = "test", *, peers: bool = True) -> list[Result]:
    """brandhound's figures on ``split`` (and, with ``peers``, the baseline's and the published ones)."""
    predictions, per_page = brandhound_predictions(split)
    sources: dict[str, int] = {}
    for pred in predictions.values():
        if pred.get("price") is not None:
            sources[str(pred.get("price_source"))] = sources.get(str(pred.get("price_source")), 0) + 1
    note = "price sources: " + ", ".join(f"{k} {v}" for k, v in sorted(sources.items()))
    results = [replace(r, note=note if r.metrics.kind in ("price", "price_currency") else "")
               for r in score(split, "brandhound", predictions, extra=(("median_s_per_page", round(per_page, 4)),))]
    results += score_price_strings(split, "brandhound")
    if peers:
        results += score_price_strings(split, "price-parser")
        results += score(split, "extruct+price-parser", baseline_predictions(split),
                         note="baseline re-implemented in evaluation/listings.py")
        for system in ("Zyte", "Diffbot"):
            # Their currency comes as a symbol more often than a code: only price, SKU and availability compare.
            results += score(split, system, published_predictions(system), note="published predictions, re-scored",
                             asked=("price", "sku", "availability", "InStock", "OutOfStock"))
    return results


# --------------------------------------------------------------------------- price strings


@lru_cache(maxsize=1)
def price_strings() -> list[dict[str, Any]]:
    """price-parser's test strings: ``string``, ``currency_hint``, ``amount`` (text or None), ``currency``
    (the text price-parser expects) and ``currency_iso`` (the ISO codes it can mean; None: not asked)."""
    with gzip.open(corpus_dir(CORPUS) / "price_strings.json.gz", "rt", encoding="utf-8") as fh:
        return json.load(fh)


def _price_string_counts(case: dict[str, Any], amount: Decimal | None, currency_ok: bool | None,
                         said_currency: bool) -> dict[str, tuple[int, int, int]]:
    """Confusion counts of one string: amount, currency (when asked) and both."""
    truth = _decimal(case["amount"])
    amount_counts = _count({truth} if truth is not None else set(), amount)
    if currency_ok is None:
        currency_counts = (0, 0, 0)
    elif case["currency_iso"]:
        currency_counts = (1, 0, 0) if currency_ok else (0, int(said_currency), 1)
    else:
        currency_counts = (0, int(said_currency), 0)
    right = amount == truth and currency_ok is not False
    both = (1, 0, 0) if right and truth is not None else (0, 0, 0) if right else (
        0, int(amount is not None), int(truth is not None))
    return {"price_strings_amount": amount_counts, "price_strings_currency": currency_counts, "price_strings_both": both}


def price_string_predictions(system: str, split: str) -> list[tuple[dict[str, Any], Decimal | None, bool | None, bool]]:
    """Each string of ``split`` with ``system``'s amount, whether its currency is right (None: not asked)
    and whether it named one."""
    from crawlers.prices import parse_price
    from price_parser import Price

    out = []
    for case in price_strings():
        if not in_split(case["string"] or "", split):
            continue
        if system == "brandhound":
            value, code = parse_price(case["string"], currency_hint=case["currency_hint"])
            amount = _decimal(repr(value)) if value is not None else None
            asked = case["currency_iso"]
            ok = None if asked is None else (code in asked if asked else code is None)
            out.append((case, amount, ok, code is not None))
        else:
            parsed = Price.fromstring(case["string"], currency_hint=case["currency_hint"])
            said = (parsed.currency or "").strip().casefold() or None
            wanted = (case["currency"] or "").strip().casefold() or None
            ok = None if case["currency_iso"] is None else said == wanted
            out.append((case, parsed.amount, ok, said is not None))
    return out


def score_price_strings(split: str, system: str) -> list[Result]:
    """One Result per price-string question for ``system`` (``brandhound`` or ``price-parser``)."""
    totals: dict[str, list[int]] = {}
    right = 0
    predictions = price_string_predictions(system, split)
    for case, amount, ok, said in predictions:
        counts = _price_string_counts(case, amount, ok, said)
        right += amount == _decimal(case["amount"]) and ok is not False
        for question, c in counts.items():
            totals[question] = [a + b for a, b in zip(totals.get(question, [0, 0, 0]), c)]
    share = (("share_correct", round(right / len(predictions), 4)), ("strings", len(predictions))) if predictions else ()
    note = "price-parser's own test strings (it was written against them)" if system == "price-parser" else ""
    return [Result(CORPUS, split, system, Metrics.of(q, *t), note=note, extra=share if q == "price_strings_both" else ())
            for q, t in totals.items()]


def price_string_errors(split: str = "dev") -> list[tuple[str, Any, Any, Any, Any]]:
    """brandhound's mistakes on the price strings of ``split``: ``(string, hint, expected amount,
    expected currencies, (amount, currency) said)``."""
    from crawlers.prices import parse_price

    out = []
    for case, amount, ok, _ in price_string_predictions("brandhound", split):
        if amount != _decimal(case["amount"]) or ok is False:
            out.append((case["string"], case["currency_hint"], case["amount"], case["currency_iso"],
                        parse_price(case["string"], currency_hint=case["currency_hint"])))
    return out


def errors(split: str = "dev", question: str = "price_currency") -> list[tuple[str, Any, Any]]:
    """brandhound's mistakes on one question, for tuning on the dev split: ``(page id, label, predicted)``."""
    predictions, _ = brandhound_predictions(split)
    out = []
    for page_id, pred in predictions.items():
        tp, fp, fn = _scores(labels()[page_id], pred)[question]
        if fp or fn:
            out.append((page_id, {k: labels()[page_id].get(k) for k in ("url", "price_amount", "currency_iso", "title", "sku",
                                                                        "availability")}, pred))
    return out


