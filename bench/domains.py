"""Look-alike domain generation: brandhound's permutations against dnstwist's own generator.

For 20 well-known brand domains, both generate every permutation family (dnstwist's ``Fuzzer``
with all its fuzzers; ours with the same families), with the same dictionary and the same TLD
list, valid names in punycode at the end on both sides. In one run this reports

* coverage: the share of dnstwist's permutations that ours also produces (target 100%);
* time ratio ours/dnstwist over all 20 domains, median of the rounds (target <= 0.5).

Rounds alternate which side goes first; a warm-up round is not counted.

With ``--scoring`` it measures instead how fast the multi-brand scorer reads names: every host of
the domains corpus (evaluation/corpora/domains) against its 25 brand profiles, in names per second on
one core (median of the rounds), and how fast the token index alone is (the part that grows with the
number of brands). Reported only: no target yet.

    .venv/bin/python bench/domains.py [--rounds 5] [--json out.json] [--scoring]

Prints a JSON result and a README-ready table row; exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import dnstwist  # noqa: E402  (dev dependency)

from detectors.domain_permutations import DEFAULT_DICTIONARY, DEFAULT_TLDS, permutations  # noqa: E402

DOMAINS = ("google.com", "paypal.com", "microsoft.com", "apple.com", "amazon.com", "netflix.com", "facebook.com",
           "instagram.com", "linkedin.com", "github.com", "nike.com", "adidas.com", "ikea.com", "spotify.com",
           "zalando.com", "booking.com", "ebay.com", "walmart.com", "samsung.com", "dropbox.com")
COVERAGE_TARGET = 1.0
RATIO_TARGET = 0.5


def run_dnstwist() -> tuple[float, dict[str, set[str]]]:
    out: dict[str, set[str]] = {}
    start = time.perf_counter()
    for d in DOMAINS:
        fuzz = dnstwist.Fuzzer(d, dictionary=DEFAULT_DICTIONARY, tld_dictionary=DEFAULT_TLDS)
        fuzz.generate()
        out[d] = {p["domain"] for p in fuzz.domains if p["fuzzer"] != "*original"}
    return time.perf_counter() - start, out


def run_ours() -> tuple[float, dict[str, set[str]]]:
    out: dict[str, set[str]] = {}
    start = time.perf_counter()
    for d in DOMAINS:
        out[d] = {c.punycode for c in permutations(d, dictionary=DEFAULT_DICTIONARY, tlds=DEFAULT_TLDS)}
    return time.perf_counter() - start, out


def run_scoring(rounds: int) -> dict:
    """Names per second of the multi-brand scorer, and of its index alone, over the domains corpus."""
    from detectors.domain_brands import MultiBrandScorer
    from evaluation.domains import corpus, profiles

    hosts = [h.host for h in corpus()]
    brands = profiles()
    full: list[float] = []
    index: list[float] = []
    for _ in range(rounds + 1):       # the first round warms up
        gc.collect()
        start = time.perf_counter()
        scorer = MultiBrandScorer(brands)
        scorer.score_many(hosts)
        full.append(time.perf_counter() - start)
        start = time.perf_counter()
        for h in hosts:
            scorer.candidates(h)
        index.append(time.perf_counter() - start)
    return {"benchmark": "domain_scoring", "names": len(hosts), "brands": len(brands), "rounds": rounds,
            "names_per_s": round(len(hosts) / statistics.median(full[1:])),
            "index_names_per_s": round(len(hosts) / statistics.median(index[1:]))}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", help="also write the result to this file")
    parser.add_argument("--scoring", action="store_true", help="measure the multi-brand scorer's throughput instead")
    args = parser.parse_args(argv)
    if args.scoring:
        result = run_scoring(args.rounds)
        print(json.dumps(result))
        print(f"| multi-brand domain scoring, {result['names']:,} real names x {result['brands']} brands | "
              f"{result['names_per_s']:,} names/s on one core (index alone {result['index_names_per_s']:,}/s) | "
              f"- | - | `.venv/bin/python bench/domains.py --scoring` |")
        if args.json:
            Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
        return 0

    _, theirs = run_dnstwist()            # warm-up, and the reference sets
    _, ours = run_ours()
    total = sum(len(v) for v in theirs.values())
    covered = sum(len(theirs[d] & ours[d]) for d in DOMAINS)
    coverage = covered / total
    missing = {d: sorted(theirs[d] - ours[d])[:5] for d in DOMAINS if theirs[d] - ours[d]}

    times: dict[str, list[float]] = {"ours": [], "dnstwist": []}
    for r in range(args.rounds):
        for side in (("ours", "dnstwist") if r % 2 == 0 else ("dnstwist", "ours")):
            gc.collect()
            elapsed, _ = run_ours() if side == "ours" else run_dnstwist()
            times[side].append(elapsed)
            print(f"round {r + 1} {side:8s}: {elapsed * 1000:.0f} ms", file=sys.stderr)
    t_ours, t_theirs = statistics.median(times["ours"]), statistics.median(times["dnstwist"])
    ratio = t_ours / t_theirs

    result = {
        "benchmark": "domains", "domains": len(DOMAINS), "rounds": args.rounds,
        "dnstwist_version": dnstwist.__version__, "dictionary_words": len(DEFAULT_DICTIONARY),
        "tlds": len(DEFAULT_TLDS), "dnstwist_permutations": total,
        "our_permutations": sum(len(v) for v in ours.values()), "coverage": round(coverage, 6),
        "missing_examples": missing, "ours_ms": round(t_ours * 1000, 1), "dnstwist_ms": round(t_theirs * 1000, 1),
        "ratio": round(ratio, 3),
    }
    print(json.dumps(result))
    ok = coverage >= COVERAGE_TARGET and ratio <= RATIO_TARGET
    verdict = "" if ok else " **(target missed)**"
    print(f"| look-alike domain generation, {len(DOMAINS)} brand domains x 16 permutation families "
          f"({total:,} dnstwist permutations) | {t_ours * 1000:,.0f} ms, coverage of dnstwist's "
          f"permutations {coverage:.2%} ({result['our_permutations']:,} names) | dnstwist {dnstwist.__version__} "
          f"Fuzzer: {t_theirs * 1000:,.0f} ms | {ratio:.2f} (<= {RATIO_TARGET}; coverage 100%){verdict} | "
          f"`.venv/bin/python bench/domains.py` |")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
