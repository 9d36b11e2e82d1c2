"""Every observed domain against every protected brand at once: one token index, then each candidate brand's scorer.

A deployment protecting many brands cannot afford to run every brand's :class:`DomainScorer` on every
name seen in certificate-transparency logs. :class:`MultiBrandScorer` puts the brands' name forms in
one Aho-Corasick automaton: each term as written and as it reads (its skeleton), and, for terms of six
letters or more, their first and last halves (a name one replaced letter away from a term keeps one
half intact), the term with each letter left out and with each two neighbours swapped. A host is read
once through the automaton; only the brands it hits are scored in full, and the best of them
is returned with its signals, so every result names its brand.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import ahocorasick

from brandhound.profile import DetectionProfile
from detectors.domain_similarity import (DOMAIN_THRESHOLD, DomainScore, DomainScorer, _collapse, _host_of, _wire,
                                         fold_domain)


@dataclass
class BrandDomainScore:
    """The score of one host against the brand it resembles most (``brand`` None: none of them)."""

    brand: str | None              # the profile id
    brand_name: str | None         # the profile's display name
    result: DomainScore
    threshold: float = DOMAIN_THRESHOLD

    @property
    def score(self) -> float:
        return self.result.score

    def verdict(self) -> str:
        return self.result.verdict(self.threshold)


class MultiBrandScorer:
    """Scores host names against every brand of a deployment; build once, reuse for every name."""

    def __init__(self, profiles: Iterable[DetectionProfile]):
        self.profiles = {p.id: p for p in profiles}
        if not self.profiles:
            raise ValueError("no brand profiles to score domains against")
        self.scorers = {bid: DomainScorer.from_profile(p) for bid, p in self.profiles.items()}
        self._automaton = ahocorasick.Automaton()
        keys: dict[str, set[str]] = {}
        for bid, scorer in self.scorers.items():
            for term in scorer.terms:
                forms = {term.squashed, term.skeleton}
                n = len(term.squashed)
                if n >= 6:
                    # One replaced letter leaves the first or the last n // 2 letters intact; one left out
                    # leaves one of the n deletion forms.
                    forms |= {term.squashed[: n // 2], term.squashed[-(n // 2):]}
                    forms |= {term.squashed[:i] + term.squashed[i + 1:] for i in range(n)}
                    # Two neighbours swapped across the middle break both halves (kesrtava for kestrava).
                    forms |= {term.squashed[:i] + term.squashed[i + 1] + term.squashed[i] + term.squashed[i + 2:]
                              for i in range(n - 1)}
                for form in forms:
                    if len(form) >= 3:
                        keys.setdefault(form, set()).add(bid)
            for domain in scorer.official:
                keys.setdefault(_squash(fold_domain(domain)), set()).add(bid)
        for key, brands in keys.items():
            self._automaton.add_word(key, tuple(sorted(brands)))
        self._automaton.make_automaton()

    def candidates(self, host: str) -> set[str]:
        """The brands whose name forms occur in ``host`` (as written, or as it reads)."""
        found: set[str] = set()
        squashed = _squash(fold_domain(host))
        for text in {squashed, _collapse(squashed)}:   # _collapse of the squashed fold is the skeleton
            for _, brands in self._automaton.iter(text):
                found.update(brands)
        return found

    def score(self, domain: str) -> BrandDomainScore:
        return self.score_many([domain])[0]

    def score_many(self, domains: list[str]) -> list[BrandDomainScore]:
        """The best brand for each of ``domains`` (hosts or URLs), in order."""
        per_brand: dict[str, list[int]] = {}
        hosts = [_host_of(d) for d in domains]
        for i, host in enumerate(hosts):
            for bid in self.candidates(host):
                per_brand.setdefault(bid, []).append(i)
        best: list[tuple[str, DomainScore] | None] = [None] * len(domains)
        for bid, idx in per_brand.items():
            for i, result in zip(idx, self.scorers[bid].score_many([hosts[i] for i in idx])):
                held = best[i]
                if held is None or _rank(result) > _rank(held[1]):
                    best[i] = (bid, result)
        out: list[BrandDomainScore] = []
        for host, found in zip(hosts, best):
            if found is None:
                puny = _wire(host)
                out.append(BrandDomainScore(None, None, DomainScore(
                    host, puny, None, 0.0, [], None, f"{host or '(empty)'} resembles none of the brands' names")))
                continue
            bid, result = found
            profile = self.profiles[bid]
            out.append(BrandDomainScore(bid, profile.name, result, profile.threshold))
        return out


def _rank(result: DomainScore) -> tuple[float, int]:
    # An official domain of one brand (score 0 with a signal) outranks "no resemblance" to another.
    return result.score, len(result.signals)


def _squash(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text)
