"""Every observed domain against every protected brand at once: one token index, then each candidate brand's scorer.

A deployment protecting many brands cannot afford to run every brand's :class:`DomainScorer` on every
name seen in certificate-transparency logs. :class:`MultiBrandScorer` puts the brands' name forms in
one Aho-Corasick automaton: each term as written and as it reads (its skeleton), and, for terms of six
letters or more, their first and last halves (a name one replaced letter away from a term keeps one
half intact), the term with each letter left out and with each two neighbours swapped. A host is read
once through the automaton; of the brands it hits, only those the host can match at all (:func:`_may_match`,
the cheap tests in front of each of :class:`DomainScorer`'s signals) are scored in full, and the best of them
is returned with its signals, so every result names its brand.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import ahocorasick
import numpy as np

from brandhound.profile import DetectionProfile
from rapidfuzz import distance, fuzz, process

from detectors.domain_similarity import (_ASCII_COLLAPSE, DOMAIN_THRESHOLD, DomainScore, DomainScorer, _host_of,
                                         _same_start, _Term, _typo_strength, _wire, fold_domain,
                                         typo_distance)


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
        self._gates = {bid: _gates(scorer) for bid, scorer in self.scorers.items()}
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
        squashed = _fold_squash(host)
        for text in {squashed, _read_as(squashed)}:   # _collapse of the squashed fold is the skeleton
            for _, brands in self._automaton.iter(text):
                found.update(brands)
        return found

    def score(self, domain: str) -> BrandDomainScore:
        return self.score_many([domain])[0]

    def score_many(self, domains: list[str]) -> list[BrandDomainScore]:
        """The best brand for each of ``domains`` (hosts or URLs), in order."""
        per_brand: dict[str, list[int]] = {}
        hosts = [_host_of(d) for d in domains]
        scan = self._automaton.iter
        for i, host in enumerate(hosts):
            # candidates(host), inline: this loop runs for every name of a CT log.
            hit: set[str] = set()
            squashed = _fold_squash(host)
            for text in {squashed, _read_as(squashed)}:
                for _, brands in scan(text):
                    hit.update(brands)
            for bid in hit:
                if bid in per_brand:
                    per_brand[bid].append(i)
                else:
                    per_brand[bid] = [i]
        forms: dict[int, _Forms] = {}
        typos: dict[tuple[str, str], bool] = {}
        labels: dict[tuple[DomainScorer, str], bool] = {}
        # A candidate brand the host cannot match scores 0 with no signal, as DomainScorer would say (the
        # brand's id is kept, so that ties between brands fall as they did when each was scored in full).
        best: list[tuple[str, DomainScore | None] | None] = [None] * len(domains)
        score_pair = self._score_pair
        for bid, idx in per_brand.items():
            for i in idx:
                seen = forms.get(i)
                if seen is None:
                    seen = forms[i] = _Forms(hosts[i], typos, labels)
                result = score_pair(bid, seen)
                held = best[i]
                if held is None or (result is not None and _rank(result) > _rank(held[1])):
                    best[i] = (bid, result)
        out: list[BrandDomainScore] = []
        for i, (host, found) in enumerate(zip(hosts, best)):
            if found is None:
                puny = _wire(host)
                out.append(BrandDomainScore(None, None, DomainScore(
                    host, puny, None, 0.0, [], None, f"{host or '(empty)'} resembles none of the brands' names")))
                continue
            bid, result = found
            if result is None:
                f = forms[i]
                result = DomainScore(f.host, _wire(f.host), f.parts[3], 0.0, [], None,
                                     f"{f.host} does not resemble the brand's domains")
            profile = self.profiles[bid]
            out.append(BrandDomainScore(bid, profile.name, result, profile.threshold))
        return out

    def _score_pair(self, bid: str, f: _Forms) -> DomainScore | None:
        """Brand ``bid``'s result for the host of ``f``, None for one that matches none of its signals."""
        scorer = self.scorers[bid]
        parts = f.parts
        # Official and allowlisted hosts, and names under no public suffix, are the scorer's to answer.
        if (parts[3] and f.zones.isdisjoint(scorer.official_zones) and f.zones.isdisjoint(scorer.allow_zones)
                and not _may_match(scorer, self._gates[bid], f)):
            return None
        dist = process.cdist([f.squashed], scorer._squashed, scorer=distance.OSA.distance, dtype=np.int32, workers=1)
        inside = process.cdist([f.squashed], scorer._squashed, scorer=fuzz.partial_ratio, dtype=np.uint8, workers=1)
        return scorer._score_one(f.host, parts, dist[0], inside[0])


class _Forms:
    """What :func:`_may_match` reads of one host, worked out once for all of its candidate brands."""

    def __init__(self, host: str, typos: dict[tuple[str, str], bool], labels: dict[tuple[DomainScorer, str], bool]):
        self.typos = typos           # (part of a label, term) -> close enough for a combosquat, for the batch
        self.labels = labels         # (brand's scorer, label) -> whether the label may match it, for the batch
        # As DomainScorer.score_many reads it: _host_of gives back a plain ASCII name it made as it is.
        plain = host.isascii() and "xn--" not in host and host == host.strip() and not host.endswith(".")
        self.host = host = host if plain else _host_of(host)
        # The host and each name it is under: one of them in a set of zones is what _is_under finds.
        names = host.split(".")
        self.zones = {".".join(names[i:]) for i in range(len(names))}
        self.parts = DomainScorer._parts(None, host)  # type: ignore[arg-type]  # uses no scorer state
        sub, label = self.parts[0], self.parts[1]
        self.plain = label.lower()
        self.squashed = _fold_squash(self.plain)
        self.skeleton = _read_as(self.squashed)
        self.dehyphenated = _squash(self.plain) if "-" in self.plain else None
        self.sub = sub
        self._sub_forms: tuple[str, str, list[str]] | None = None

    def sub_forms(self) -> tuple[str, str, list[str]]:
        """The subdomain's labels as DomainScorer._subdomain_hits reads them: each one's skeleton, and the last
        one joined to the label, then its words between hyphens as written, then as they read (each string
        of texts joined by a character no term holds, so that one ``in`` looks through them all)."""
        if self._sub_forms is None:
            labels = self.sub.split(".")
            texts, words, parts = [], [], []
            for lb in labels:
                # Folding keeps an ASCII label's hyphens where they are, and makes none.
                pieces = [_fold_squash(p) for p in lb.split("-") if p] if lb.isascii() else \
                    [_squash(p) for p in fold_domain(lb).split("-") if p]
                words += pieces
                parts += [_read_as(w) for w in pieces if w]
                texts.append(_read_as(_fold_squash(_squash(lb))))
            texts += parts
            texts.append(_read_as(_fold_squash(_squash(labels[-1] + self.parts[1]))))
            self._sub_forms = " ".join(texts), " ".join(words), parts
        return self._sub_forms


#: What the gate reads of a term: the term, its length, and its text as written, lower-cased and squashed.
_Gate = tuple[_Term, int, str]


def _gates(scorer: DomainScorer) -> list[_Gate]:
    return [(t, len(t.squashed), _squash(t.text.lower())) for t in scorer.terms]


def _may_match(scorer: DomainScorer, gates: list[_Gate], f: _Forms) -> bool:
    """Whether any signal of ``scorer`` can fire on the host of ``f``: the first, cheap tests of each of
    DomainScorer._label_hits's and _subdomain_hits's branches, so a False means a score of 0 with no signal.
    (tests/unit/test_domain_brands_gate.py holds this to what the scorer finds.)"""
    if f.parts[1]:
        # A batch holds many names of one registered domain (harbor-raven.io and its subdomains): what the
        # label can match of a brand is worked out once for all of them.
        key = (scorer, f.plain)
        label = f.labels.get(key)
        if label is None:
            label = f.labels[key] = any(_label_may_match(gate, f) for gate in gates)
        if label:
            return True
    sub = f.sub
    if not sub:
        return False
    dotted = f".{sub}."
    for d in scorer.official:
        if f".{d}." in dotted or sub == d:
            return True
    for t, n, _ in gates:
        if (t.source == "misspelling" and n < 5) or t.source == "secondary":
            continue
        texts, words, parts = f.sub_forms()
        if t.skeleton in texts or t.squashed in words:
            return True
        if n >= 6:
            for p in parts:
                if p[0] == t.skeleton[:1] and distance.OSA.distance(p, t.skeleton, score_cutoff=1) <= 1:
                    return True
    return False


def _label_may_match(gate: _Gate, f: _Forms) -> bool:
    t, n, written = gate
    squashed = f.squashed
    if t.source == "secondary":
        if f.plain == t.squashed or n < 5:
            return False
        return f.skeleton == t.skeleton or (
            n >= 6 and abs(len(squashed) - n) <= 1 and _same_start(squashed, t)
            and 0 < distance.OSA.distance(squashed, t.squashed, score_cutoff=2) <= 2)
    if f.plain == t.squashed or f.plain == written or f.dehyphenated == t.squashed or f.skeleton == t.skeleton:
        return True
    if t.source == "misspelling":
        return n >= 6 and t.squashed in squashed
    if (abs(len(squashed) - n) <= 2 and _same_start(squashed, t)
            and 0 < distance.OSA.distance(squashed, t.squashed, score_cutoff=3) <= 3):
        return True
    if len(squashed) <= n:
        return False
    if t.squashed in f.plain or t.squashed in squashed or (n >= 4 and t.skeleton in f.skeleton):
        return True
    # The scorer's test is cdist's partial_ratio as a whole number >= 80 (79 and up keeps every such name),
    # then a typo strength of 0.8 of the part aligned with the term: the same parts recur in a batch
    # (harbor-raven.io and its subdomains), so their strengths are kept for it.
    if n < 6 or not fuzz.partial_ratio(squashed, t.squashed, score_cutoff=79):
        return False
    align = fuzz.partial_ratio_alignment(t.squashed, squashed)
    found = squashed[align.dest_start:align.dest_end] if align else ""
    if not found:
        return False
    key = (found, t.squashed)
    close = f.typos.get(key)
    if close is None:
        close = f.typos[key] = _typo_strength(typo_distance(found, t.squashed)[0], t.squashed) >= 0.8
    return close


def _rank(result: DomainScore | None) -> tuple[float, int]:
    # An official domain of one brand (score 0 with a signal) outranks "no resemblance" to another.
    return (result.score, len(result.signals)) if result is not None else (0.0, 0)


_NOT_ALNUM = re.compile(r"[^a-z0-9]")


def _squash(text: str) -> str:
    return _NOT_ALNUM.sub("", text)


#: ``_squash(fold_domain(c))`` of each ASCII character: folding maps ASCII one character at a time, so one
#: str.translate gives the same as the two calls for an ASCII text (nearly every name in CT logs).
_ASCII_FOLD_SQUASH = {c: _squash(fold_domain(chr(c))) or None for c in range(128)}


#: _collapse's replacements, unrolled: it runs on every name and every label (the same replacements, in order).
(_A1, _B1), (_A2, _B2), (_A3, _B3), (_A4, _B4), (_A5, _B5) = _ASCII_COLLAPSE


def _read_as(text: str) -> str:
    """``_collapse(text)``: a squashed text's skeleton."""
    return text.replace(_A1, _B1).replace(_A2, _B2).replace(_A3, _B3).replace(_A4, _B4).replace(_A5, _B5)


def _fold_squash(text: str) -> str:
    """``_squash(fold_domain(text))``, what a name reads as, letters and digits only."""
    return text.translate(_ASCII_FOLD_SQUASH) if text.isascii() else _squash(fold_domain(text))
