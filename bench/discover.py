"""Discovery throughput: names scored per second against 1, 10 and 100 brands, and CT entries read per second.

Scoring: the names of the sandbox CT log's certificates (the sandbox web's look-alikes among thousands
of benign names, ``www.`` dropped as discovery does) scored by discovery's scorer against the example
brand plus 9 or 99 generated brands (each a made-up name and its .com), beside phishing_catcher's
scoring loop on the same names (``evaluation.peers.phishing_catcher``, our re-implementation of its
published method, when present) and the multi-brand scorer (``detectors.domain_brands``) when present.
One process, one core; the best of ``--rounds`` rounds, a warm-up first.

CT follow: every entry of the sandbox RFC 6962 log (get-entries, the server's 100-entry batches) and
of its static-ct log (gzip data tiles), fetched over loopback, parsed and their names taken, plus
the same entries parsed with no HTTP at all. Real logs publish about 300-1,000 entries/s each; the
output says how many such logs one process keeps up with (parsing and scoring, one brand).

    .venv/bin/python bench/discover.py [--rounds 3] [--benign 3000] [--json out.json]
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from brandhound.profile import DetectionProfile, load_profile  # noqa: E402
from crawlers.ct.certs import dns_name  # noqa: E402
from crawlers.ct.client import Rfc6962Log, StaticLog, _certificate  # noqa: E402
from crawlers.ct.http import HttpClient  # noqa: E402
from crawlers.ct.loglist import load_log_list  # noqa: E402
from crawlers.ct.wire import parse_merkle_leaf  # noqa: E402
from brandhound.urls import unicode_host  # noqa: E402
from detectors.discovery import brand_scorer, multi_brand_scorer, site_name  # noqa: E402
from sandbox.ct.build import build  # noqa: E402
from sandbox.ct.serve import make_server  # noqa: E402

PROFILE = ROOT / "examples" / "brands" / "kestrava" / "brand.yaml"
BRAND_COUNTS = (1, 10, 100)
TARGET_100 = 50_000        # names/s per core against 100 brands (issue 17)
REAL_LOG_RATE = 1_000      # entries/s a busy real log publishes


def made_up_brands(n: int, seed: int = 17) -> list[DetectionProfile]:
    """``n`` brands with pronounceable made-up names (consonant-vowel, 6 to 9 letters) and their .com."""
    rng = random.Random(seed)
    out, seen = [], set()
    while len(out) < n:
        word = "".join(rng.choice("bdfghklmnprstvz") + rng.choice("aeiou") for _ in range(rng.randint(3, 4)))
        word = word[: rng.randint(6, 9)]
        if word in seen:
            continue
        seen.add(word)
        out.append(DetectionProfile(id=f"b{len(out)}-{word}", name=word.title(), names=[word.title()],
                                    official_domains=[f"{word}.com"]))
    return out


def best_rate(fn: Callable[[], int], rounds: int) -> tuple[float, float]:
    """(items/s, seconds) of the fastest of ``rounds`` runs of ``fn`` (which returns the item count)."""
    fn()  # warm-up
    best = None
    for _ in range(rounds):
        gc.collect()
        start = time.perf_counter()
        n = fn()
        elapsed = time.perf_counter() - start
        if best is None or elapsed < best[1]:
            best = (n / elapsed, elapsed)
    return best


def _flagged(results: list[tuple[str | None, Any]], names: list[str], thresholds: dict[str, float]) -> set[str]:
    return {n for n, (brand, r) in zip(names, results) if brand and r.score >= thresholds[brand]}


def scoring(names: list[str], rounds: int, lookalikes: set[str] | None = None) -> dict[str, Any]:
    example = load_profile(PROFILE, detect_only=True)
    extra = made_up_brands(max(BRAND_COUNTS) - 1)
    rows: dict[str, Any] = {}
    try:
        from detectors.domain_brands import MultiBrandScorer
    except ImportError:
        MultiBrandScorer = None
    try:
        from evaluation.peers.phishing_catcher import PhishingCatcher
    except ImportError:
        PhishingCatcher = None
    for count in BRAND_COUNTS:
        profiles = [example, *extra[: count - 1]]
        # The per-brand loop is slow against many brands: a sample keeps the run short, the rate is per name.
        sample = names if count < 100 else names[:1500]
        score = brand_scorer(profiles)
        rate, _ = best_rate(lambda: len(score(sample)), rounds)
        row: dict[str, Any] = {"names": len(sample), "discovery_names_per_s": round(rate)}
        if MultiBrandScorer is not None:
            multi = MultiBrandScorer(profiles)
            row["multi_brand_names_per_s"] = round(best_rate(lambda: len(multi.score_many(names)), rounds)[0])
        if PhishingCatcher is not None:
            peer = PhishingCatcher([n for p in profiles for n in p.names])
            row["phishing_catcher_names_per_s"] = round(
                best_rate(lambda: sum(1 for n in names if peer.score(n) >= 0), rounds)[0])
        if lookalikes is not None and count == 1:
            # What each scorer finds of the sandbox's look-alikes, and of its benign names.
            thresholds = {p.id: p.threshold for p in profiles}
            for key, make in (("discovery", brand_scorer), ("multi_brand", multi_brand_scorer)):
                found = _flagged(make(profiles)(names), names, thresholds)
                row[f"{key}_lookalikes_found"] = f"{len(found & lookalikes)}/{len(lookalikes)}"
                row[f"{key}_benign_flagged"] = len(found - lookalikes)
        rows[str(count)] = row
        print(f"{count:3d} brands: {row}", file=sys.stderr)
    return rows


def ct_follow(build_dir: Path, rounds: int) -> dict[str, Any]:
    server = make_server(build_dir, max_batch=100)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        http = HttpClient(allow_private=True)
        logs = {x.api: x for x in load_log_list(f"http://127.0.0.1:{server.server_address[1]}/log_list.json", http.get)}
        size = server.logs["rfc6962"].published
        rfc = Rfc6962Log(logs["rfc6962"], http, batch=256)
        static = StaticLog(logs["static"], http)
        out = {"entries": size}
        out["rfc6962_entries_per_s"] = round(best_rate(lambda: sum(1 for _ in rfc.entries(0, size)), rounds)[0])
        out["static_entries_per_s"] = round(best_rate(lambda: sum(1 for _ in static.entries(0, size, size)), rounds)[0])
        leaves = server.logs["rfc6962"].leaves

        def parse_only() -> int:
            for i, leaf in enumerate(leaves):
                _certificate("x", i, parse_merkle_leaf(leaf))
            return len(leaves)

        out["parse_only_entries_per_s"] = round(best_rate(parse_only, rounds)[0])
    finally:
        server.shutdown()
        server.server_close()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--benign", type=int, default=3000, help="benign certificates in the sandbox log")
    parser.add_argument("--json", help="also write the result to this file")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-ct-") as tmp:
        truth = build(Path(tmp), PROFILE, benign=args.benign)
        names = list(dict.fromkeys(site_name(dns_name(n)) for c in truth["certificates"] for n in c["names"]))
        lookalikes = {unicode_host(d) for d in truth["lookalikes"]}
        score = scoring(names, args.rounds, lookalikes)
        follow = ct_follow(Path(tmp), args.rounds)
    names_per_cert = sum(len(c["names"]) for c in truth["certificates"]) / len(truth["certificates"])
    one = score["1"]["discovery_names_per_s"]
    # End to end, one brand: each entry is parsed once and its names scored.
    per_entry_s = 1 / follow["rfc6962_entries_per_s"] + names_per_cert / one
    result = {"benchmark": "discover", "distinct_names": len(names), "names_per_certificate": round(names_per_cert, 2),
              "scoring": score, "ct": follow, "end_to_end_entries_per_s_1_brand": round(1 / per_entry_s),
              "real_logs_kept_up_with_1_brand": round(1 / per_entry_s / REAL_LOG_RATE, 1)}
    print(json.dumps(result))
    best100 = max(v for k, v in score["100"].items() if k.endswith("_names_per_s") and not k.startswith("phishing"))
    print(f"| discovery scoring, {len(names):,} names of the sandbox CT log against 1 / 10 / 100 brands | "
          + " / ".join(f"{score[str(c)]['discovery_names_per_s']:,}" for c in BRAND_COUNTS) + " names/s"
          + (" (multi-brand scorer: " + " / ".join(f"{score[str(c)]['multi_brand_names_per_s']:,}" for c in BRAND_COUNTS)
             + ")" if "multi_brand_names_per_s" in score["1"] else "")
          + " | phishing_catcher loop: " + (" / ".join(f"{score[str(c)].get('phishing_catcher_names_per_s', 0):,}"
                                                       for c in BRAND_COUNTS) + " names/s")
          + f" | >= {TARGET_100:,}/s against 100 brands: {'met' if best100 >= TARGET_100 else '**missed**'} | "
            "`.venv/bin/python bench/discover.py` |")
    print(f"| CT follow, {follow['entries']:,} sandbox entries over loopback | RFC 6962 "
          f"{follow['rfc6962_entries_per_s']:,} entries/s, static-ct {follow['static_entries_per_s']:,} entries/s, "
          f"parse only {follow['parse_only_entries_per_s']:,}/s; end to end with 1 brand "
          f"{result['end_to_end_entries_per_s_1_brand']:,}/s = {result['real_logs_kept_up_with_1_brand']} logs "
          f"at {REAL_LOG_RATE:,}/s | | | `.venv/bin/python bench/discover.py` |")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
