"""Listing extraction on the committed real product pages (Zyte's benchmark): the TEST split's figures stay
at or above their floors (evaluation/listings.py; the corpus is evaluation/corpora/listings, see SOURCES.md).

Issue 16's target is a correct price (value and currency) and title on >= 0.95 of real product pages.
Titles meet it; prices do not yet, so the price floors sit just under what the extractor reaches
(0.903 of the test pages with value and currency right): they guard against losing ground."""

from __future__ import annotations

import pytest

from evaluation import listings

TARGET_SHARE = 0.95
#: Just under the figures reached on the test split (the target is not met for these).
PRICE_CURRENCY_FLOOR = 0.89
BENCHMARK_PRICE_F1_FLOOR = 0.87
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
