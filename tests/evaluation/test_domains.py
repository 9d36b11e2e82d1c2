"""Look-alike and phishing domains on the committed real-world corpus: the TEST split's figures stay at or above
their floors (evaluation/domains.py; the corpus is evaluation/corpora/domains, see SOURCES.md).

Issue 16's target is recall >= 0.95 on phishing hosts that name or imitate a protected brand at a
false-positive rate <= 1% on popular domains. Both are met; the per-category floors are just under what was reached."""

from __future__ import annotations

import pytest

from evaluation import domains
from evaluation.corpus import in_split

#: Issue 16's target, met on the test part (recall 0.954 at 0.42% of popular domains).
TARGET_NAMED = 0.95
TARGET_FP_RATE_POPULAR = 0.01
#: Per category, just under what was reached (brand_name 0.968, free_host 0.996, split_brand 0.991,
#: lookalike 0.710). The keyword-only hosts name no brand: what they reach (0.06) is reported, not held.
FLOORS = {"brand_name": 0.96, "free_host": 0.98, "split_brand": 0.97, "lookalike": 0.69}
#: Benign host names (subdomains; CDN and partner names of the brands' own, such as amazon.dev, that a day-one
#: profile does not list): no target; just above the 5.7% reached.
CEILING_FP_RATE_BENIGN = 0.06


@pytest.fixture(scope="module")
def rows():
    return {r.metrics.kind: r for r in domains.evaluate("test", peers=False) if r.system == "brandhound"}


def test_corpus_is_what_sources_md_describes():
    hosts = domains.corpus()
    brands = {p.id for p in domains.profiles()}
    assert len(brands) == 25
    positives = [h for h in hosts if h.positive]
    assert len(positives) >= 5000 and {h.brand for h in positives} == brands
    assert {h.category for h in positives} == set(domains.CATEGORIES)
    assert sum(h.label == "popular" for h in hosts) >= 14000 and sum(h.label == "benign" for h in hosts) >= 5000
    test = [h for h in hosts if in_split(h.host, "test")]
    assert 0.4 < len(test) / len(hosts) < 0.6
    assert len({h.host for h in hosts}) == len(hosts)


def test_named_or_imitated_recall_at_popular_fp_rate(rows):
    named = rows["named_or_imitated"]
    extra = dict(named.extra)
    assert named.metrics.recall >= TARGET_NAMED, named
    assert extra["fp_rate_popular"] <= TARGET_FP_RATE_POPULAR, named
    assert extra["fp_rate_benign"] <= CEILING_FP_RATE_BENIGN, named


@pytest.mark.parametrize("category", list(FLOORS))
def test_each_category(rows, category):
    assert rows[category].metrics.recall >= FLOORS[category], rows[category]


def test_results_name_the_feed_brand(rows):
    assert dict(rows["lookalike_domain"].extra)["brand_correct"] >= 0.98
