"""Prices with their currency, from the text a page shows."""

from __future__ import annotations

import math
import re

from price_parser import Price as ParsedPrice

from brandhound.currencies import COUNTRY_CURRENCY, HISTORICAL, ISO_4217, NO_MINOR_UNIT, THREE_DECIMALS

#: Symbols and local abbreviations that name one currency, most specific first ("R$" before "$").
_SYMBOLS: tuple[tuple[str, str], ...] = (
    ("R$", "BRL"), ("US$", "USD"), ("C$", "CAD"), ("CA$", "CAD"), ("A$", "AUD"), ("AU$", "AUD"),
    ("NZ$", "NZD"), ("HK$", "HKD"), ("S$", "SGD"), ("MX$", "MXN"), ("NT$", "TWD"), ("zł", "PLN"), ("zl", "PLN"),
    ("€", "EUR"), ("£", "GBP"), ("₹", "INR"), ("₩", "KRW"), ("원", "KRW"), ("₺", "TRY"), ("₴", "UAH"),
    ("грн", "UAH"), ("₽", "RUB"), ("руб", "RUB"), ("₸", "KZT"), ("тг", "KZT"), ("₪", "ILS"), ("ر.س", "SAR"),
    ("د.إ", "AED"), ("б.р", "BYN"), ("лв", "BGN"), ("Kč", "CZK"), ("Ft", "HUF"), ("lei", "RON"), ("Kn", "HRK"),
    ("CHF", "CHF"), ("円", "JPY"), ("₱", "PHP"), ("฿", "THB"), ("₫", "VND"), ("RM", "MYR"), ("Rp", "IDR"),
)
#: Symbols several currencies share: the site's country decides, else the first one.
_SHARED: dict[str, tuple[str, ...]] = {
    "$": ("USD", "CAD", "AUD", "NZD", "MXN", "ARS", "CLP", "COP", "UYU", "SGD", "HKD", "TWD"),
    "kr": ("SEK", "NOK", "DKK", "ISK"), "kr.": ("DKK", "SEK", "NOK", "ISK"), ":-": ("SEK",),
    "¥": ("JPY", "CNY"), "元": ("TWD", "CNY", "HKD"), "rs": ("INR", "PKR", "LKR", "NPR"), "rs.": ("INR", "PKR", "LKR", "NPR"),
    "р.": ("RUB", "BYN"), "r.": ("RUB", "BYN"), "br": ("BYN",), "lei": ("RON", "MDL"), "din": ("RSD",),
}


def country_currency(country: str | None) -> str | None:
    """The currency of a country, from its ISO 3166 code or country-code TLD ("de", "co.uk", "cl")."""
    return COUNTRY_CURRENCY.get((country or "").lower().rsplit(".", 1)[-1])


def currency_code(symbol: str | None, *, tld: str | None = None, hint: str | None = None) -> str | None:
    """ISO 4217 code for a currency symbol or code as written on a page; ``tld`` (a country code or
    the site's top-level domain) decides between the currencies that share "$", "kr" or "¥"."""
    if not symbol:
        return _iso(hint)
    text = " ".join(symbol.split())
    if code := _iso(text):
        return code
    local = country_currency(tld)
    shared = _SHARED.get(text.lower()) or _SHARED.get(text.lower().rstrip("."))
    if shared:
        return local if local in shared else shared[0]
    for sym, code in _SYMBOLS:
        if sym.lower() == text.lower() or (len(sym) > 1 and sym.lower() in text.lower()):
            return local if sym == "lei" and local == "MDL" else code
    if text.endswith("$"):
        return local if local in _SHARED["$"] else "USD"
    return None


_SHARED_SHOWN = re.compile(r"(?<![A-Za-z])(\$|kr\.?|¥|元|rs\.?)(?![A-Za-z])", re.I)


def shared_symbol(text: str | None) -> str | None:
    """The symbol several currencies share ("$", "kr", "¥") when ``text`` shows one, not "US$" or "R$"."""
    m = _SHARED_SHOWN.search(text or "")
    return m.group(1) if m else None


_ISO_SHOWN = re.compile(r"(?<![A-Za-z])[A-Z]{3}(?![A-Za-z])")


def _mark(symbol: str) -> str:
    return re.escape(symbol) if not symbol[0].isalpha() else rf"(?<![^\W\d_]){re.escape(symbol)}(?![^\W\d_])"


#: Each symbol and how it is found in text; a symbol in letters ("Kn", "RM") only as a word of its own.
_SYMBOL_MARKS = tuple((sym, re.compile(_mark(sym), re.I)) for sym, _ in _SYMBOLS)
#: Every symbol, longest first so that "R$" is one mark and not "R$" and "$".
_MARKS = re.compile("|".join(_mark(sym) for sym in sorted({s for s, _ in _SYMBOLS} | set(_SHARED), key=len, reverse=True)
                             if not (sym.isalpha() and len(sym) == 3 and sym.isupper())), re.I)


def currency_marks(text: str) -> int:
    """How many currency symbols or codes ``text`` shows: two make a block of prices ("was 49 890 тг.,
    now 44 890 тг."), not one price."""
    codes = sum(1 for m in _ISO_SHOWN.finditer(text) if _iso(m.group()))
    return codes + len(_MARKS.findall(_ISO_SHOWN.sub(" ", text)))


def declared_country(currency: str) -> str | None:
    """A country whose currency is ``currency`` (for reading a shared symbol as that currency)."""
    return next((country for country, code in COUNTRY_CURRENCY.items() if code == currency), None)


def _iso(text: str | None) -> str | None:
    code = (text or "").strip().upper()
    return code if code in ISO_4217 else HISTORICAL.get(code)


_CRYPTO_AMOUNT = re.compile(r"(?:₿\s*)?\d[\d.,]*\s*(?:BTC|XBT|XMR|ETH|LTC|USDT|sats?)\b|₿\s*\d[\d.,]*", re.I)
_DIGIT = re.compile(r"\d")
#: One group of exactly three digits after a single separator: "24.990", "2,449", "34.000".
_THOUSANDS_ONLY = re.compile(r"(?<![\d.,])[1-9]\d{0,2}[.,]\d{3}(?![\d.,])")


def parse_price(text: str | None, *, currency_hint: str | None = None, tld: str | None = None) -> tuple[float | None, str | None]:
    """``(amount, ISO currency)`` from shown text such as ``"1 299,00 zł"``, ``"R$ 120,00"`` or ``"$24.990"``
    (Chilean pesos: ``tld="cl"``)."""
    if not text:
        return None, None
    # Dark-web markets show a crypto amount beside (or before) the fiat price: the fiat one is the price.
    fiat = _CRYPTO_AMOUNT.sub(" ", text[:200])
    shown = fiat if _DIGIT.search(fiat) else text[:200]
    parsed = ParsedPrice.fromstring(shown, currency_hint=currency_hint)
    amount = float(parsed.amount) if parsed.amount is not None else None
    if amount is not None and not math.isfinite(amount):
        amount = None  # "999...9" overflows a float: not a price
    currency = currency_code(parsed.currency, tld=tld, hint=currency_hint)
    if currency is None:
        # price-parser knows neither "тг." nor "ر.س" nor "Kn": look for our own symbols in the text.
        currency = next((currency_code(sym, tld=tld) for sym, pattern in _SYMBOL_MARKS if pattern.search(shown)), None)
        currency = currency or _iso(currency_hint)
    if amount is not None and amount != int(amount) and currency not in THREE_DECIMALS:
        # A shown price never has three decimals outside the dinar currencies: "24.990" and "2,449"
        # group thousands (price-parser reads "2,449" as such but "24.990" as a fraction).
        if (m := _THOUSANDS_ONLY.search(shown)) and abs(float(re.sub(r"[.,]", ".", m.group())) - amount) < 1e-9:
            amount = float(re.sub(r"[.,]", "", m.group()))
    return amount, currency


def minor_units(currency: str | None) -> int:
    """Decimals a price in ``currency`` is written with in practice."""
    return 0 if currency in NO_MINOR_UNIT else 3 if currency in THREE_DECIMALS else 2
