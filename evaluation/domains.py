"""Look-alike and phishing domains on real feeds: brandhound's multi-brand scorer beside dnstwist and phishing_catcher.

The corpus (``evaluation/corpora/domains``, see its SOURCES.md) holds phishing hosts from public
feeds, each credited to one of 25 brands and put in a category (``brand_name``, ``free_host``,
``split_brand``, ``lookalike``, ``keyword_only``), popular domains (Majestic's top list) and benign
host names (subdomains from Umbrella's top list: any, the brands' own, and ones with a brand's word
in them). Every host is scored against every brand's profile (``brands/``), as a deployment that
protects all 25 would.

Split by a hash of the host (``split_of``): dev is tuned on, test only reported. A phishing host
counts as found when any brand flags it (``brand_correct`` tells how often the brand named is the
feed's); a popular or benign host flagged for any brand is a false positive.

Rows per system: ``lookalike_domain`` (all hosts; fp_rate_popular and fp_rate_benign beside),
``named_or_imitated`` (the phishing hosts that name or imitate a brand: every category but
keyword_only), and one recall row per category. Peers: dnstwist (a host whose registered domain is
one of dnstwist's permutations of a brand's official domains) and phishing_catcher (our
re-implementation of its keyword-and-entropy score) at its "likely" level and at the level that keeps
benign false positives at 1% on the dev part.
"""

from __future__ import annotations

import csv
import functools
import gzip
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from brandhound.profile import load_profiles
from brandhound.urls import registered_domain
from detectors.domain_brands import MultiBrandScorer
from evaluation.corpus import corpus_dir, in_split
from evaluation.metrics import Metrics, Result
from evaluation.peers.phishing_catcher import LIKELY, PhishingCatcher

CORPUS = "domains"
CATEGORIES = ("brand_name", "free_host", "split_brand", "lookalike", "keyword_only")
#: Benign false-positive rate at which phishing_catcher's level is chosen (on dev).
BENIGN_FP_BUDGET = 0.01


@dataclass(frozen=True)
class Host:
    host: str
    label: str      # phishing, popular or benign
    brand: str      # the brand a phishing host targets
    category: str
    source: str

    @property
    def positive(self) -> bool:
        return self.label == "phishing"


@functools.cache
def corpus() -> tuple[Host, ...]:
    with gzip.open(corpus_dir(CORPUS) / "domains.csv.gz", "rt", encoding="utf-8") as fh:
        return tuple(Host(**row) for row in csv.DictReader(fh))


@functools.cache
def profiles() -> tuple:
    return tuple(load_profiles(corpus_dir(CORPUS) / "brands", detect_only=True))


def _rows(system: str, split: str, hosts: list[Host], flagged: Callable[[int], bool], note: str,
          brands: list[str | None] | None = None) -> list[Result]:
    pos = [i for i, h in enumerate(hosts) if h.positive]
    found = [i for i in pos if flagged(i)]
    fps = Counter(hosts[i].label for i, h in enumerate(hosts) if not h.positive and flagged(i))
    totals = Counter(h.label for h in hosts)
    extra = [("fp_rate_popular", round(fps["popular"] / max(1, totals["popular"]), 4)),
             ("fp_rate_benign", round(fps["benign"] / max(1, totals["benign"]), 4)),
             ("positives", len(pos)), ("negatives", totals["popular"] + totals["benign"])]
    if brands is not None:
        extra.append(("brand_correct", round(sum(brands[i] == hosts[i].brand for i in found) / max(1, len(found)), 4)))
    fp = fps["popular"] + fps["benign"]
    out = [Result(CORPUS, split, system, Metrics.of("lookalike_domain", len(found), fp, len(pos) - len(found)),
                  note, tuple(extra))]
    named = [i for i in pos if hosts[i].category != "keyword_only"]
    hit = sum(flagged(i) for i in named)
    out.append(Result(CORPUS, split, system, Metrics.of("named_or_imitated", hit, fp, len(named) - hit), note,
                      tuple(extra[:2])))
    for cat in CATEGORIES:
        idx = [i for i in pos if hosts[i].category == cat]
        hit = sum(flagged(i) for i in idx)
        out.append(Result(CORPUS, split, system, Metrics.of(cat, hit, 0, len(idx) - hit),
                          "recall only (false positives are in the lookalike_domain row)", (("samples", len(idx)),)))
    return out


def brandhound_rows(split: str, hosts: list[Host]) -> list[Result]:
    scorer = MultiBrandScorer(profiles())
    results = scorer.score_many([h.host for h in hosts])
    return _rows("brandhound", split, hosts, lambda i: results[i].score >= results[i].threshold,
                 "MultiBrandScorer over the 25 profiles, each profile's threshold (0.7)",
                 [r.brand for r in results])


@functools.cache
def _dnstwist_names() -> dict[str, str]:
    import dnstwist  # dev dependency

    from detectors.domain_permutations import DEFAULT_DICTIONARY, DEFAULT_TLDS
    names: dict[str, str] = {}
    for p in profiles():
        for domain in p.official_domains:
            fuzz = dnstwist.Fuzzer(domain, dictionary=DEFAULT_DICTIONARY, tld_dictionary=DEFAULT_TLDS)
            fuzz.generate()
            for perm in fuzz.domains:
                if perm["fuzzer"] != "*original":
                    names.setdefault(perm["domain"], p.id)
    return names


def dnstwist_rows(split: str, hosts: list[Host]) -> list[Result]:
    names = _dnstwist_names()
    brands = [names.get(registered_domain(h.host) or h.host) for h in hosts]
    return _rows("dnstwist", split, hosts, lambda i: brands[i] is not None,
                 "registered domain is one of dnstwist's permutations of an official domain", brands)


def _catcher_scores(hosts: list[Host]) -> list[int]:
    catcher = PhishingCatcher(n for p in profiles() for n in p.names)
    return [catcher.score(h.host) for h in hosts]


@functools.cache
def catcher_level() -> int:
    """The lowest score level at which at most 1% of the dev part's benign hosts are flagged."""
    dev = [h for h in corpus() if h.label == "benign" and in_split(h.host, "dev")]
    scores = sorted(_catcher_scores(dev), reverse=True)
    allowed = int(BENIGN_FP_BUDGET * len(scores))
    return scores[allowed] + 1 if allowed < len(scores) else 0


def catcher_rows(split: str, hosts: list[Host]) -> list[Result]:
    scores = _catcher_scores(hosts)
    level = catcher_level()
    return (_rows("phishing_catcher", split, hosts, lambda i: scores[i] >= LIKELY,
                  f"our re-implementation of its method, 'likely' level {LIKELY}")
            + _rows("phishing_catcher@1%", split, hosts, lambda i: scores[i] >= level,
                    f"level {level}: 1% benign false positives on dev"))


def evaluate(split: str = "test", *, peers: bool = True) -> list[Result]:
    hosts = [h for h in corpus() if in_split(h.host, split)]
    rows = brandhound_rows(split, hosts)
    if peers:
        rows += dnstwist_rows(split, hosts) + catcher_rows(split, hosts)
    return rows
