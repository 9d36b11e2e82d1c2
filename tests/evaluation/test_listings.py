"""Listing extraction on the committed real product pages (Zyte's benchmark): the TEST split's figures stay
at or above their floors (evaluation/listings.py; the corpus is evaluation/corpora/listings, see SOURCES.md).

Issue 16's target is a correct price (value and currency) and title on >= 0.95 of real product pages.
Titles meet it; prices do not yet, so the price floors sit just under what the extractor reaches
(0.919 of the test pages with value and currency right, benchmark price F1 0.887 where the extruct +
price-parser baseline gets 0.883): they guard against losing ground. A second check nobody tuned on,
price-parser's real shop price strings, has its own floor (0.986 of the test strings right)."""

from __future__ import annotations

import pytest

from evaluation import listings

TARGET_SHARE = 0.95
#: Just under the figures reached on the test split (the target is not met for these).
PRICE_CURRENCY_FLOOR = 0.91
BENCHMARK_PRICE_F1_FLOOR = 0.88
#: Share of price-parser's test strings (test split) whose amount and currency brandhound reads right.
PRICE_STRINGS_FLOOR = 0.98
SKU_F1_FLOOR = 0.77
OUT_OF_STOCK_F1_FLOOR = 0.7
AVAILABILITY_F1_FLOOR = 0.95


@pytest.fixture(scope="module")
def results():
    return [r for r in listings.evaluate("test", peers=False) if r.system == "brandhound"]


@pytest.fixture(scope="module")
def rows(results):
    return {r.metrics.kind: r for r in results}


def test_corpus_is_what_sources_md_describes():
    labels = listings.labels()
    assert len(labels) == 140
    assert sum(1 for v in labels.values() if v.get("price")) == 134
    assert all(v.get("title") for v in labels.values())
    assert all(v.get("currency_iso") for v in labels.values() if v.get("price"))
    assert sum(1 for k in labels if listings.in_split(k, "test")) >= 60
    assert set(listings.published_outputs()) == {"Zyte", "Diffbot", "extruct"}


def test_price_with_its_currency_stays_above_the_floor(rows):
    row = rows["price_currency"]
    assert dict(row.extra)["share_correct"] >= PRICE_CURRENCY_FLOOR, row
    assert row.metrics.precision >= PRICE_CURRENCY_FLOOR, row


def test_titles_meet_the_target(rows):
    title = rows["title"].metrics
    assert title.true_positives + title.false_negatives >= 60
    assert title.recall >= TARGET_SHARE, title


def test_currency_meets_the_target(rows):
    assert rows["currency"].metrics.recall >= TARGET_SHARE, rows["currency"]


def test_benchmark_questions_stay_above_their_floors(rows):
    assert rows["price"].metrics.f1 >= BENCHMARK_PRICE_F1_FLOOR, rows["price"]
    assert rows["sku"].metrics.f1 >= SKU_F1_FLOOR, rows["sku"]
    assert rows["availability"].metrics.f1 >= AVAILABILITY_F1_FLOOR, rows["availability"]
    assert rows["OutOfStock"].metrics.f1 >= OUT_OF_STOCK_F1_FLOOR, rows["OutOfStock"]


def test_every_price_records_where_it_was_read(rows):
    note = rows["price"].note
    assert note.startswith("price sources: ") and "None" not in note, note


def test_title_matching_is_neither_exact_nor_loose():
    assert listings.title_matches("Angel Teddy Bear | eBay", ["Angel Teddy Bear"])
    assert listings.title_matches("TERREX ADILETTE SLIDES - Pool slides - core black", ["TERREX ADILETTE SLIDES - Pool slides"])
    assert not listings.title_matches("Aggiunta al carrello in corso...", ["Pink Dog Hair Dye 50ml"])
    assert not listings.title_matches("Esprit Chinos - camel - Zalando.ie - free delivery", ["Chinos"])


def test_price_strings_are_what_sources_md_describes():
    strings = listings.price_strings()
    assert len(strings) == 1055
    assert sum(1 for c in strings if listings.in_split(c["string"] or "", "test")) >= 450
    assert all(set(c) >= {"string", "currency_hint", "amount", "currency", "currency_iso"} for c in strings)


def test_price_strings_stay_above_the_floor(rows):
    row = rows["price_strings_both"]
    assert dict(row.extra)["strings"] >= 450, row
    assert dict(row.extra)["share_correct"] >= PRICE_STRINGS_FLOOR, row


def test_benchmark_price_f1_is_not_below_the_plain_baseline(rows):
    # The extruct + price-parser baseline, on the same test pages in the same run.
    baseline = {r.metrics.kind: r for r in listings.score("test", "extruct+price-parser",
                                                          listings.baseline_predictions("test"), asked=("price",))}
    assert rows["price"].metrics.f1 >= baseline["price"].metrics.f1, (rows["price"], baseline["price"])
