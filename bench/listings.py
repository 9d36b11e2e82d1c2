"""Counterfeit listing scoring throughput with the full brand catalogue.

Builds the example brand's sandbox (``--listings`` per marketplace), takes every labelled
listing with the pHashes of its photos (``evaluation.sandbox.SandboxBuild``), and scores them
``--rounds`` times with ``ListingScorer`` (brand names through homoglyphs, counterfeit wording in
every profile language, product recognition over the catalogue, price against MSRP, photo
matching against every official image variant). Reports listings scored per second (median
round) and the scorer's set-up time; the verdicts are checked against the ground truth so a
fast-but-wrong scorer cannot pass.

With ``--real-pages``, measures the extractor instead: ``extract_listing`` on every one of the 140
real product pages of the listings corpus (evaluation/corpora/listings), median and slowest
milliseconds per page, and the share of pages whose price (value and currency) is right.

    .venv/bin/python bench/listings.py [--listings 300] [--rounds 5] [--real-pages]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from brandhound.profile import load_profile  # noqa: E402
from detectors.counterfeit_listing import ListingScorer  # noqa: E402
from evaluation.sandbox import SandboxBuild  # noqa: E402
from detectors.official_images import OfficialImages  # noqa: E402
from sandbox.web import build  # noqa: E402

PROFILE = REPO_ROOT / "examples" / "brands" / "kestrava" / "brand.yaml"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listings", type=int, default=300, help="listings per sandbox marketplace")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--real-pages", action="store_true", help="time the extractor on the real product pages instead")
    args = parser.parse_args()
    if args.real_pages:
        return real_pages()
    profile = load_profile(PROFILE)
    with tempfile.TemporaryDirectory(prefix="bench-listings-") as work:
        build(PROFILE, Path(work), listings_per_marketplace=args.listings)
        listings = SandboxBuild(Path(work)).listings()
    t0 = time.perf_counter()
    scorer = ListingScorer(profile, OfficialImages.from_profile(profile))
    setup_s = time.perf_counter() - t0
    rates, correct = [], 0
    for _ in range(args.rounds):
        t0 = time.perf_counter()
        results = [scorer.score(listing) for _, listing in listings]
        rates.append(len(listings) / (time.perf_counter() - t0))
        correct = sum(1 for (truth, _), r in zip(listings, results)
                      if (r.finding is not None and r.finding.verdict == "flagged") == (truth["label"] == "counterfeit"))
    rate = statistics.median(rates)
    accuracy = correct / len(listings)
    terms = sum(1 + len(p.aliases) for p in profile.products) + len(profile.names) + len(profile.misspellings)
    result = {"benchmark": "listings", "listings": len(listings), "rounds": args.rounds,
              "listings_per_s": round(rate, 1), "scorer_setup_s": round(setup_s, 2),
              "official_image_variants": len(scorer.images.entries) if scorer.images else 0,
              "catalogue_terms": terms, "verdicts_correct": round(accuracy, 4)}
    print(json.dumps(result))
    print(f"| counterfeit listing scoring, {len(listings):,} sandbox listings x {args.rounds} rounds, "
          f"{terms} catalogue terms, {result['official_image_variants']:,} official image variants | "
          f"{rate:,.0f} listings/s (set-up {setup_s:.1f} s), verdicts {accuracy:.1%} correct | | | "
          f"`.venv/bin/python bench/listings.py` |", file=sys.stderr)
    return 0 if accuracy >= 0.95 else 1


def real_pages() -> int:
    """Extraction cost and price correctness on the committed real product pages (all splits)."""
    from crawlers.listing_extraction import extract_listing
    from evaluation import listings as corpus

    costs, right, priced = [], 0, 0
    for page_id, text in corpus.pages("all"):
        label = corpus.labels()[page_id]
        t0 = time.perf_counter()
        got = extract_listing(text, label["url"], corpus.SNAPSHOT_TIME)
        costs.append(time.perf_counter() - t0)
        if label.get("price_amount"):
            priced += 1
            right += got.price is not None and got.currency == label["currency_iso"] and any(
                abs(got.price - float(a)) < 0.005 for a in label["price_amount"])
    costs.sort()
    result = {"benchmark": "listing_extraction", "pages": len(costs), "median_ms": round(1000 * statistics.median(costs), 1),
              "max_ms": round(1000 * costs[-1], 1), "price_currency_right": round(right / priced, 4)}
    print(json.dumps(result))
    print(f"| listing extraction, {len(costs)} real product pages | median {result['median_ms']} ms/page, slowest "
          f"{result['max_ms']} ms; price and currency right on {right / priced:.1%} | | | "
          f"`.venv/bin/python bench/listings.py --real-pages` |", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
