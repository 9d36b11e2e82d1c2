"""Builds price_strings.json.gz from price-parser's test suite (read as data with ``ast``, never run).

Usage: ``python evaluation/corpora/listings/build_price_strings.py test_price_parsing.py`` (the file from
``git show <commit>:tests/test_price_parsing.py`` of scrapinghub/price-parser; see SOURCES.md)."""

from __future__ import annotations

import ast
import gzip
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

#: The lists of real-world strings taken (the synthetic "1 <symbol>" list and the decimal-separator
#: examples, which need an argument brandhound's parser has no counterpart for, are left out).
LISTS = ("PRICE_PARSING_EXAMPLES_BUGS_CAUGHT", "PRICE_PARSING_EXAMPLES_NEW", "PRICE_PARSING_EXAMPLES",
         "PRICE_PARSING_EXAMPLES_2", "PRICE_PARSING_EXAMPLES_3", "PRICE_PARSING_EXAMPLES_NO_PRICE",
         "PRICE_PARSING_EXAMPLES_NO_CURRENCY", "PRICE_PARSING_EXAMPLES_XFAIL")

_DOLLARS = ["USD", "CAD", "AUD", "NZD", "MXN", "ARS", "CLP", "COP", "UYU", "SGD", "HKD", "TWD"]
#: Our labelling of the currency text price-parser expects, as the ISO 4217 codes it can mean; a shared
#: symbol accepts every currency it names ("$" alone does not say which dollar). Symbols not listed
#: (withdrawn currencies, rare ones) are not asked.
ISO_OF: dict[str, list[str]] = {
    "€": ["EUR"], "eur": ["EUR"], "euro": ["EUR"], "$": _DOLLARS, "us$": ["USD"], "usd": ["USD"],
    "£": ["GBP"], "₤": ["GBP"], "gbp": ["GBP"], "kč": ["CZK"], "руб.": ["RUB", "BYN"], "руб": ["RUB", "BYN"],
    "р": ["RUB"], "₽": ["RUB"], "р.": ["RUB", "BYN"], "zł": ["PLN"], "pln": ["PLN"], "r$": ["BRL"],
    "грн.": ["UAH"], "грн": ["UAH"], "₴": ["UAH"], "dkk": ["DKK"], "rp": ["IDR"], "تومان": ["IRR"], "ریال": ["IRR"],
    "lei": ["RON", "MDL"], "ron": ["RON"], "₫": ["VND"], "đ": ["VND"], "ft": ["HUF"], "huf": ["HUF"],
    "tl": ["TRY"], "₺": ["TRY"], "sgd": ["SGD"], "kr": ["SEK", "NOK", "DKK", "ISK"], "chf": ["CHF"],
    "fr.": ["CHF"], "₪": ["ILS"], "rs": ["INR", "PKR", "LKR", "NPR"], "₹": ["INR"], "nok": ["NOK"],
    "c$": ["CAD"], "ca$": ["CAD"], "br": ["BYN"], "лв.": ["BGN"], "лв": ["BGN"], "kd": ["KWD"], "aed": ["AED"],
    "درهم": ["AED", "MAD"], "rm": ["MYR"], "nt$": ["TWD"], "a$": ["AUD"], "au$": ["AUD"], "aud": ["AUD"],
    "nzd": ["NZD"], "mx$": ["MXN"], "omr": ["OMR"], "원": ["KRW"], "円": ["JPY"], "฿": ["THB"], "₱": ["PHP"],
    "kn": ["HRK"], "gel": ["GEL"], "r": ["ZAR"], "jp¥": ["JPY"], "¥": ["JPY", "CNY"],
}


def _code(currency: str) -> list[str] | None:
    # A current ISO 4217 code ("KMF") stands for itself; "CFA" or a withdrawn "DEM" is not asked.
    from brandhound.currencies import ISO_4217

    return [currency] if currency in ISO_4217 else None


def _value(node: ast.expr) -> object:
    # Decimal("...") in the source stays text; everything else is a literal.
    if isinstance(node, ast.Call):
        return str(ast.literal_eval(node.args[0]))
    return ast.literal_eval(node)


def cases(source: str) -> list[dict[str, object]]:
    out = []
    for node in ast.parse(source).body:
        if not (isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name) and node.targets[0].id in LISTS):
            continue
        for call in node.value.elts:  # type: ignore[attr-defined]
            if call.keywords:
                continue  # a decimal separator passed as an argument: no counterpart in brandhound
            hint, text, currency, _amount_text, amount = (_value(a) for a in call.args)
            key = str(currency).strip().casefold() if currency is not None else None
            out.append({
                "list": node.targets[0].id, "string": text, "currency_hint": hint,
                "amount": None if amount is None else str(amount), "currency": currency,
                "currency_iso": [] if key is None else ISO_OF.get(key) or _code(str(currency)),
            })
    return out


if __name__ == "__main__":
    rows = cases(Path(sys.argv[1]).read_text(encoding="utf-8"))
    target = Path(__file__).with_name("price_strings.json.gz")
    with gzip.open(target, "wt", encoding="utf-8", compresslevel=9) as fh:
        json.dump(rows, fh, ensure_ascii=False, indent=0)
    print(f"{len(rows)} cases -> {target}")
