"""Discovery's multi-brand index flags what scoring every name against every brand flags, minus some false alarms."""

from __future__ import annotations

import pytest

from detectors.discovery import multi_brand_scorer, per_brand_scorer
from evaluation import domains

# Every 15th host of the public domains corpus (phishing, popular and benign, all splits): about 1,500
# real names, enough for each kind of look-alike and of benign name, small enough for the per-brand loop.
STEP = 15


@pytest.fixture(scope="module")
def hosts() -> list[domains.Host]:
    return list(domains.corpus()[::STEP])


def _flagged(results, names, thresholds) -> dict[str, str]:
    return {n: brand for n, (brand, r) in zip(names, results) if brand and r.score >= thresholds[brand]}


def test_the_index_flags_what_the_per_brand_reference_flags(hosts):
    names = [h.host for h in hosts]
    phishing = {h.host for h in hosts if h.positive}
    profiles = list(domains.profiles())
    thresholds = {p.id: p.threshold for p in profiles}
    reference = _flagged(per_brand_scorer(profiles)(names), names, thresholds)
    indexed = _flagged(multi_brand_scorer(profiles)(names), names, thresholds)
    assert len(reference) > 50  # the sample holds look-alikes, so the comparison means something
    # The index never flags a name the reference does not, and puts each on the same brand ...
    assert set(indexed) <= set(reference), sorted(set(indexed) - set(reference))[:20]
    assert all(indexed[n] == reference[n] for n in indexed)
    # ... and misses no phishing host the reference catches. What it drops are names that are no candidate
    # of any brand's index, such as popular three-letter domains one letter from a three-letter brand
    # (dji.com for dhl, ina.fr for irs), which the reference flags.
    dropped = set(reference) - set(indexed)
    assert sorted(dropped & phishing) == []
    assert len(dropped) <= len(reference) // 20
