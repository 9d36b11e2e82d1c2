"""The multi-brand scorer skips only the candidate brands a host matches nothing of, so its results are unchanged."""

from __future__ import annotations

import random

import pytest

from brandhound.profile import DetectionProfile
from detectors.domain_brands import MultiBrandScorer, _Forms, _rank
from detectors.domain_similarity import _host_of
from evaluation import domains

# Every 7th host of the public domains corpus (phishing, popular and benign): about 3,800 real names.
STEP = 7


def _made_up(n: int) -> list[DetectionProfile]:
    """Pronounceable six- to nine-letter names: their halves are short, so they make many candidates to skip."""
    rng = random.Random(5)
    out: list[DetectionProfile] = []
    while len(out) < n:
        word = "".join(rng.choice("bdfghklmnprstvz") + rng.choice("aeiou") for _ in range(4))[: rng.randint(6, 9)]
        out.append(DetectionProfile(id=f"m{len(out)}-{word}", name=word.title(), names=[word.title()],
                                    official_domains=[f"{word}.com"]))
    return out


@pytest.fixture(scope="module")
def scorer() -> MultiBrandScorer:
    return MultiBrandScorer([*domains.profiles(), *_made_up(60)])


@pytest.fixture(scope="module")
def hosts() -> list[str]:
    # Subdomains of look-alikes too, and a few names that are no domain at all.
    sample = [h.host for h in domains.corpus()[::STEP]]
    return [*sample, *(f"login.{h}" for h in sample[::10]), "localhost", "192.0.2.7", "", "kestrava"]


def test_a_skipped_brand_is_one_the_host_matches_nothing_of(scorer, hosts):
    skipped = 0
    for host in hosts:
        forms = _Forms(host, {}, {})
        for bid in scorer.candidates(_host_of(host)):
            if scorer._score_pair(bid, forms) is None:
                skipped += 1
                result = scorer.scorers[bid].score(host)
                assert (result.score, result.signals) == (0.0, []), (host, bid, result.explanation)
    assert skipped > 1000  # many candidates are skipped, so the check means something


def test_results_are_those_of_every_candidate_brand_scored_in_full(scorer, hosts):
    got = scorer.score_many(hosts)
    for host, result in zip(hosts, got):
        full = [(bid, scorer.scorers[bid].score(host)) for bid in scorer.candidates(_host_of(host))]
        if not full:
            assert result.brand is None and result.score == 0.0
            continue
        best = max(_rank(r) for _, r in full)
        # One of the brands tied at the best wins (which one, the order of the batch decides), with the score
        # and the signals its scorer gives.
        expected = dict(full)[result.brand]
        assert _rank(expected) == best, (host, result.brand)
        assert (result.score, result.result.explanation) == (expected.score, expected.explanation)
        assert [s.evidence for s in result.result.signals] == [s.evidence for s in expected.signals]
