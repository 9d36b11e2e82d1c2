"""Prices: conversion between currencies and the way each market writes them."""

from __future__ import annotations

import random

from brandhound.profile import BrandProfile

# Used when the profile has no exchange rates (or lacks one we need): units per 1 EUR.
FALLBACK_EUR_RATES = {"EUR": 1.0, "USD": 1.08, "GBP": 0.85, "PLN": 4.3, "BRL": 5.9, "SEK": 11.4, "NOK": 11.7}


class Rates:
    """Converts amounts with the profile's rates, so detectors can redo the same arithmetic."""

    def __init__(self, profile: BrandProfile):
        ex = profile.exchange_rates
        base = ex.base if ex else "EUR"
        # Units per one unit of ``base``; currencies the profile omits are bridged
        # through the fallback table.
        bridge = FALLBACK_EUR_RATES.get(base, 1.0)
        self._per_base = {cur: rate / bridge for cur, rate in FALLBACK_EUR_RATES.items()}
        if ex:
            self._per_base.update(ex.rates)
        self._per_base[base] = 1.0

    def convert(self, amount: float, source: str, target: str) -> float:
        return amount / self._per_base[source] * self._per_base[target]


def nice_price(value: float, rng: random.Random) -> float:
    """Round like a seller would: 39.00, 38.99 or 39.50 (whole units above 1,000)."""
    if value >= 1000:
        return float(round(value / 10) * 10)
    whole = max(1, int(value))
    return round(whole + rng.choice((0.0, 0.0, 0.99, 0.5)), 2) if whole > 1 else round(value, 2)


def _group(whole: int, sep: str) -> str:
    return f"{whole:,}".replace(",", sep)


def _split(amount: float) -> tuple[int, str]:
    cents = round(amount * 100)
    return cents // 100, f"{cents % 100:02d}"


def format_en(amount: float, currency: str) -> str:
    """International English storefront style: €39.00, $1,299.00, PLN 129.00."""
    whole, cents = _split(amount)
    number = f"{_group(whole, ',')}.{cents}"
    symbol = {"EUR": "€", "USD": "$", "GBP": "£", "BRL": "R$"}.get(currency)
    return f"{symbol}{number}" if symbol else f"{currency} {number}"


def format_local(amount: float, currency: str) -> str:
    """Each currency in its home style: 39,00 €, 1 299,00 zł, R$ 120,00, $42.50, £35."""
    whole, cents = _split(amount)
    if currency == "EUR":
        return f"{_group(whole, ' ')},{cents} €"
    if currency == "PLN":
        return f"{_group(whole, ' ')},{cents} zł"
    if currency == "BRL":
        return f"R$ {_group(whole, '.')},{cents}"
    if currency == "USD":
        return f"${_group(whole, ',')}.{cents}"
    if currency == "GBP":
        return f"£{_group(whole, ',')}" + ("" if cents == "00" else f".{cents}")
    return f"{_group(whole, ' ')},{cents} {currency}"

