"""Prices with their currency, from the text a page shows."""

from __future__ import annotations

import math
import re

from price_parser import Price as ParsedPrice

from brandhound.currencies import ISO_4217

#: Symbols and local abbreviations, most specific first ("R$" before "$").
_SYMBOLS: tuple[tuple[str, str], ...] = (
    ("R$", "BRL"), ("US$", "USD"), ("C$", "CAD"), ("CA$", "CAD"), ("A$", "AUD"), ("AU$", "AUD"),
    ("NZ$", "NZD"), ("HK$", "HKD"), ("S$", "SGD"), ("MX$", "MXN"), ("zł", "PLN"), ("zl", "PLN"),
    ("€", "EUR"), ("£", "GBP"), ("¥", "JPY"), ("₹", "INR"), ("₩", "KRW"), ("₺", "TRY"), ("₴", "UAH"),
    ("₽", "RUB"), ("Kč", "CZK"), ("Ft", "HUF"), ("lei", "RON"), ("CHF", "CHF"), ("$", "USD"),
)
#: "kr" is Swedish, Norwegian or Danish crowns: the site's country decides.
_KRONA_BY_TLD = {"se": "SEK", "no": "NOK", "dk": "DKK", "is": "ISK"}


def currency_code(symbol: str | None, *, tld: str | None = None, hint: str | None = None) -> str | None:
    """ISO 4217 code for a currency symbol or code as written on a page."""
    if not symbol:
        return hint.upper() if hint and hint.upper() in ISO_4217 else None
    text = symbol.strip()
    if text.upper() in ISO_4217:
        return text.upper()
    for sym, code in _SYMBOLS:
        if sym.lower() == text.lower() or (len(sym) > 1 and sym.lower() in text.lower()):
            return code
    if text.lower() in {"kr", "kr.", ":-"}:
        return _KRONA_BY_TLD.get((tld or "").rsplit(".", 1)[-1])
    if text == "$" or text.endswith("$"):
        return "USD"
    return None


_CRYPTO_AMOUNT = re.compile(r"(?:₿\s*)?\d[\d.,]*\s*(?:BTC|XBT|XMR|ETH|LTC|USDT|sats?)\b|₿\s*\d[\d.,]*", re.I)
_DIGIT = re.compile(r"\d")


def parse_price(text: str | None, *, currency_hint: str | None = None, tld: str | None = None) -> tuple[float | None, str | None]:
    """``(amount, ISO currency)`` from shown text such as ``"1 299,00 zł"`` or ``"R$ 120,00"``."""
    if not text:
        return None, None
    # Dark-web markets show a crypto amount beside (or before) the fiat price: the fiat one is the price.
    fiat = _CRYPTO_AMOUNT.sub(" ", text[:200])
    parsed = ParsedPrice.fromstring(fiat if _DIGIT.search(fiat) else text[:200], currency_hint=currency_hint)
    amount = float(parsed.amount) if parsed.amount is not None else None
    if amount is not None and not math.isfinite(amount):
        amount = None  # "999...9" overflows a float: not a price
    return amount, currency_code(parsed.currency, tld=tld, hint=currency_hint)
