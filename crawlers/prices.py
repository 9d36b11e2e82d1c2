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
    # The rouble's Cyrillic "Р" (its sign's plain form), the lira's "TL", the old pound sign, the toman and rial.
    ("Р", "RUB"), ("TL", "TRY"), ("₤", "GBP"), ("تومان", "IRR"), ("ریال", "IRR"),
)
#: Symbols several currencies share: the site's country decides, else the first one.
_SHARED: dict[str, tuple[str, ...]] = {
    "$": ("USD", "CAD", "AUD", "NZD", "MXN", "ARS", "CLP", "COP", "UYU", "SGD", "HKD", "TWD"),
    "kr": ("SEK", "NOK", "DKK", "ISK"), "kr.": ("DKK", "SEK", "NOK", "ISK"), ":-": ("SEK",),
    "¥": ("JPY", "CNY"), "元": ("TWD", "CNY", "HKD"), "rs": ("INR", "PKR", "LKR", "NPR"), "rs.": ("INR", "PKR", "LKR", "NPR"),
    "р.": ("RUB", "BYN"), "r.": ("RUB", "BYN"), "br": ("BYN",), "lei": ("RON", "MDL"), "din": ("RSD",),
    "cfa": ("XOF", "XAF"), "fcfa": ("XOF", "XAF"), "درهم": ("AED", "MAD"),
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
#: An amount as shops write it: digits, thousands groups (", . ' or a space before three digits), decimals.
_AMOUNT = r"\d+(?:[.,' ]\d{3})*(?:[.,]\d{1,2})?"
#: A currency mark: a symbol, or an ISO code in capitals ("EUR", not the word "Buy").
_MARK = rf"(?:{_MARKS.pattern}|(?<![A-Za-z])(?-i:{'|'.join(sorted(ISO_4217))})(?![A-Za-z]))"
#: A number with a currency mark right before or after it: "$2.00", "1 890 Р", "14,85 EUR".
_MARKED = re.compile(rf"(?P<before>{_MARK})\s?(?P<a>{_AMOUNT})|(?P<b>{_AMOUNT})\s?(?P<after>{_MARK})", re.I)
_RANGE_BETWEEN = re.compile(r"\s*(?:-|–|—|~|to|bis|à|a|до)\s*\S{0,4}\s*", re.I)


def _marked_amount(shown: str, parsed: ParsedPrice, hint: str | None) -> ParsedPrice:
    """The amount a currency mark stands beside, when price-parser took a bare number before it: in
    "50 - $2.00 100 - $2.75" or "Buy 3 for $10" the bare number is a quantity. A range's lower end
    ("10 - 20 €") stays the price."""
    bare = shown.find(parsed.amount_text or "\0")
    if bare < 0:
        return parsed
    for m in _MARKED.finditer(shown):
        start = m.start("a") if m.group("a") else m.start("b")
        if start <= bare < m.end("a" if m.group("a") else "b"):
            return parsed  # the number price-parser took has its mark
        if start >= bare + len(parsed.amount_text or ""):
            marked = ParsedPrice.fromstring(m.group(), currency_hint=hint)
            between = shown[bare + len(parsed.amount_text or ""):m.start()]
            if marked.amount is None or (_RANGE_BETWEEN.fullmatch(between) and parsed.amount is not None
                                         and parsed.amount < marked.amount):
                return parsed
            return marked
    return parsed


def _code_beside_amount(shown: str) -> str | None:
    """An ISO code written right beside a number ("14,85 EUR"), which price-parser does not always read."""
    for m in _MARKED.finditer(shown):
        if code := _iso(m.group("before") or m.group("after")):
            return code
    return None


def _sign_shown(sign: str, text: str) -> bool:
    """Whether a sign in letters stands in ``text`` as a word: a short or capital one ("Р", "TL") only
    alone ("TLC" is no lira), a longer one also as a word's start ("руб" of "рублей")."""
    pattern = _mark(sign) if len(sign) < 3 or sign.isupper() else rf"(?<![^\W\d_]){re.escape(sign)}"
    return re.search(pattern, text, re.I) is not None


def parse_price(text: str | None, *, currency_hint: str | None = None, tld: str | None = None) -> tuple[float | None, str | None]:
    """``(amount, ISO currency)`` from shown text such as ``"1 299,00 zł"``, ``"R$ 120,00"`` or ``"$24.990"``
    (Chilean pesos: ``tld="cl"``)."""
    if not text:
        return None, None
    # Dark-web markets show a crypto amount beside (or before) the fiat price: the fiat one is the price.
    fiat = _CRYPTO_AMOUNT.sub(" ", text[:200])
    shown = fiat if _DIGIT.search(fiat) else text[:200]
    parsed = ParsedPrice.fromstring(shown, currency_hint=currency_hint)
    if parsed.amount is not None and parsed.amount_text:
        parsed = _marked_amount(shown, parsed, currency_hint)
    amount = float(parsed.amount) if parsed.amount is not None else None
    if amount is not None and not math.isfinite(amount):
        amount = None  # "999...9" overflows a float: not a price
    said = parsed.currency
    if said and said[0].isalpha() and not _sign_shown(said, f"{shown} {currency_hint or ''}"):
        said = None  # price-parser reads the "Р" of "Размер" as roubles
    currency = currency_code(said, tld=tld, hint=currency_hint)
    if currency is None:
        # price-parser knows neither "тг." nor "ر.س" nor "Kn": look for our own symbols in the text.
        currency = next((currency_code(sym, tld=tld) for sym, pattern in _SYMBOL_MARKS if pattern.search(shown)), None)
        currency = currency or _code_beside_amount(shown) or _iso(currency_hint)
    if amount is not None and amount != int(amount) and currency not in THREE_DECIMALS:
        # A shown price never has three decimals outside the dinar currencies: "24.990" and "2,449"
        # group thousands (price-parser reads "2,449" as such but "24.990" as a fraction).
        if (m := _THOUSANDS_ONLY.search(shown)) and abs(float(re.sub(r"[.,]", ".", m.group())) - amount) < 1e-9:
            amount = float(re.sub(r"[.,]", "", m.group()))
    return amount, currency


def minor_units(currency: str | None) -> int:
    """Decimals a price in ``currency`` is written with in practice."""
    return 0 if currency in NO_MINOR_UNIT else 3 if currency in THREE_DECIMALS else 2
