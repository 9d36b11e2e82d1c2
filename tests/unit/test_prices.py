"""Prices as shops around the world write them, and the currency each means."""

import pytest

from crawlers.prices import country_currency, currency_code, parse_price, shared_symbol


@pytest.mark.parametrize(
    ("text", "tld", "amount", "currency"),
    [
        ("1.299,00 €", None, 1299.0, "EUR"),
        ("1 299,00 zł", None, 1299.0, "PLN"),
        ("1,299.00 USD", None, 1299.0, "USD"),
        ("R$ 1.759,99", None, 1759.99, "BRL"),
        ("CHF 19.50", None, 19.5, "CHF"),
        ("249 kr", "dk", 249.0, "DKK"),
        ("$24.990", "cl", 24990.0, "CLP"),  # Chilean pesos group thousands with a dot
        ("$3.499", "ar", 3499.0, "ARS"),
        ("34.000 €", "de", 34000.0, "EUR"),  # three digits after one separator: thousands
        ("Rs 23,450", "pk", 23450.0, "PKR"),
        ("44 890 тг.", "kz", 44890.0, "KZT"),
        ("99 ر.س", None, 99.0, "SAR"),
        ("270 Kn", None, 270.0, "HRK"),  # the kuna, withdrawn in 2023, on saved pages
        ("502,20 б.р.", "by", 502.2, "BYN"),
        ("30,000원", None, 30000.0, "KRW"),
        ("$229.99", "ca", 229.99, "CAD"),
        ("$42.50", None, 42.5, "USD"),
    ],
)
def test_locale_aware_prices(text, tld, amount, currency):
    assert parse_price(text, tld=tld) == (amount, currency)


def test_a_letter_symbol_counts_only_as_a_word_of_its_own():
    assert parse_price("Knife set 12") == (12.0, None)


def test_shared_symbols_and_country_currencies():
    assert currency_code("$", tld="co.nz") == "NZD"
    assert currency_code("kr", tld="se") == "SEK"
    assert currency_code("RUR") == "RUB"
    assert (shared_symbol("Precios: $3.340"), shared_symbol("R$ 120"), shared_symbol("US$ 5")) == ("$", None, None)
    assert (country_currency("uk"), country_currency("tw"), country_currency("com")) == ("GBP", "TWD", None)


@pytest.mark.parametrize(
    ("text", "amount", "currency"),
    [
        ("6 300 Р", 6300.0, "RUB"),  # the rouble's plain Cyrillic sign
        ("69 TL", 69.0, "TRY"),
        ("₤1700.", 1700.0, "GBP"),
        ("80,000 تومان", 80000.0, "IRR"),
        ("850,000 ریال", 850000.0, "IRR"),
        ("15 000 FCFA", 15000.0, "XOF"),
        ("3,439.00 درهم", 3439.0, "AED"),
        ("3 Ausgaben für nur 14,85 EUR", 14.85, "EUR"),  # an ISO code beside the number
    ],
)
def test_more_currency_signs(text, amount, currency):
    assert parse_price(text) == (amount, currency)


def test_letters_that_only_look_like_a_sign_are_no_currency():
    # Near misses: a Cyrillic word with "Р" in it, a capital word that is no ISO code.
    assert parse_price("Размер 42") == (42.0, None)
    assert parse_price("NEW 3 pcs") == (3.0, None)
    assert parse_price("TLC 12") == (12.0, None)


def test_a_bare_number_before_a_marked_price_is_a_quantity():
    assert parse_price("50 - $2.00 100 - $2.75 400 - $4.50") == (2.0, "USD")
    assert parse_price("Buy 3 for $10") == (10.0, "USD")
    assert parse_price("2 x 19,99 €") == (19.99, "EUR")


def test_a_range_keeps_its_lower_end_and_a_marked_price_its_own_number():
    # Near misses of the quantity rule: the bare number is the lower end of a range, or has the mark.
    assert parse_price("10 - 20 €") == (10.0, "EUR")
    assert parse_price("USD 10 - 20") == (10.0, "USD")
    assert parse_price(".75 €") == (0.75, "EUR")
    assert parse_price("69 TL 41.90 TL") == (69.0, "TRY")
