"""Near-duplicate image hash search: detectors.hash_index against a NumPy brute-force scan.

One run, side by side, on 1,000,000 random 64-bit hashes of which 13,000 are planted
near-duplicates (for each of the 1,000 query hashes one stored hash at every distance 0..12).
For radius 10 (brandhound's pHash match distance) and radius 6 it runs the 1,000 queries

* through the index: :meth:`HashIndex.query_many` (batched) and :meth:`HashIndex.query` (one by one);
* by brute force, one query at a time over the whole array: XOR, then popcount by a 16-bit
  lookup table (four table reads per hash), and XOR then ``np.bitwise_count`` (NumPy >= 2, the
  fastest scan NumPy has); the best of the two is the peer.

All answers must be IDENTICAL (same ids, same distances, same order). Reports queries/s of
each side (best of ``--rounds`` timed rounds, 3 by default, the sides alternating order,
after an untimed warm-up), the speedup of the batched index over the best brute force (target >= 10x at radius
10), the index build time and the memory its arrays hold; then a README-ready table row.
Exits 1 if any answer differs or the target is missed.

Then the per-image cost of matching a listing photo against the official photos of the images
corpus (``evaluation/corpora/images``: 63 official photos and logos), in milliseconds per image,
for the hash stage alone (pHash of the decoded photo and the nearest variant: what the matcher
did before its local-feature stage) and for both stages (:meth:`OfficialImages.match_image`),
on three kinds of listing photo: unrelated photos (clearly not matches: the crawl's common
case), copies that the hash stage settles, and copies only the second stage finds (crop of 30%,
rotation by 10 degrees, the photo inside a page screenshot).

    .venv/bin/python bench/images.py [--n 1000000] [--queries 1000] [--seed 1] [--rounds 3] [--json out.json]
                                     [--no-matcher]
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from detectors.hash_index import HashIndex  # noqa: E402

RADII = (10, 6)
TARGET_SPEEDUP = 10.0
PLANT_MAX_DISTANCE = 12

_TABLE16 = np.array([bin(i).count("1") for i in range(1 << 16)], dtype=np.uint8)


def make_data(n: int, n_queries: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    queries = rng.integers(0, 2**64, n_queries, dtype=np.uint64, endpoint=False)
    planted = []
    for q in queries.tolist():
        for d in range(PLANT_MAX_DISTANCE + 1):
            flips = rng.choice(64, size=d, replace=False)
            planted.append(q ^ sum(1 << int(b) for b in flips))
    random = rng.integers(0, 2**64, n - len(planted), dtype=np.uint64, endpoint=False)
    hashes = np.concatenate([random, np.array(planted, dtype=np.uint64)])
    rng.shuffle(hashes)
    return hashes, queries


def _answer(rows: np.ndarray, dist: np.ndarray) -> list[tuple[int, int]]:
    order = np.lexsort((rows, dist))
    return list(zip(rows[order].tolist(), dist[order].tolist()))


def brute_table(hashes: np.ndarray, q: np.uint64, r: int) -> list[tuple[int, int]]:
    """XOR + 16-bit lookup-table popcount over the whole array."""
    v = (hashes ^ q).view(np.uint16).reshape(-1, 4)
    dist = _TABLE16[v[:, 0]] + _TABLE16[v[:, 1]] + _TABLE16[v[:, 2]] + _TABLE16[v[:, 3]]
    rows = np.flatnonzero(dist <= r)
    return _answer(rows, dist[rows].astype(np.int64))


def brute_bitwise_count(hashes: np.ndarray, q: np.uint64, r: int) -> list[tuple[int, int]]:
    """XOR + np.bitwise_count over the whole array."""
    dist = np.bitwise_count(hashes ^ q)
    rows = np.flatnonzero(dist <= r)
    return _answer(rows, dist[rows].astype(np.int64))


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def matcher_cost(repeat: int = 2) -> dict[str, dict[str, float]]:
    """ms per image of the hash stage alone and of both stages, per kind of listing photo."""
    import tempfile

    from brandhound.image_fingerprint import fingerprint
    from evaluation import images as corpus

    kinds = {"unrelated": lambda q: q.expected is None,
             "hash_settles": lambda q: q.expected is not None and q.transform in ("plain", "jpeg_q10", "thumbnail_96", "mirror"),
             "second_stage": lambda q: q.expected is not None and q.transform in ("crop_30", "rotate_10", "screenshot_40")}
    queries = corpus.queries("dev")
    with tempfile.TemporaryDirectory() as cache:
        both = corpus._brandhound(corpus.corpus_dir(corpus.CORPUS), Path(cache))
        hash_only = corpus._brandhound_hash_stage(corpus.corpus_dir(corpus.CORPUS), Path(cache))
        out: dict[str, dict[str, float]] = {}
        for kind, wanted in kinds.items():
            sample = [q.data for q in queries if wanted(q)]
            row = {"images": len(sample)}
            for side, fn in (("hash_stage", hash_only), ("two_stages", both)):
                fn(sample[0])  # warm-up: ORB detector, LSH tables
                t0 = time.perf_counter()
                for _ in range(repeat):
                    for data in sample:
                        fn(data)
                row[f"{side}_ms"] = round((time.perf_counter() - t0) * 1000 / (repeat * len(sample)), 2)
            # the crawl's pipeline already decodes and hashes every photo it stores: that share of the cost
            t0 = time.perf_counter()
            for data in sample:
                fingerprint(data)
            row["fingerprint_ms"] = round((time.perf_counter() - t0) * 1000 / len(sample), 2)
            out[kind] = row
            print(f"matcher, {kind} ({len(sample)} images): hash stage {row['hash_stage_ms']} ms/image, "
                  f"two stages {row['two_stages_ms']} ms/image (fingerprint alone {row['fingerprint_ms']} ms)", file=sys.stderr)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=3, help="timed rounds per side (best kept), order alternating")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--no-matcher", action="store_true", help="skip the per-image cost of the official-photo matcher")
    args = ap.parse_args(argv)

    hashes, queries = make_data(args.n, args.queries, args.seed)
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    index, build_s = timed(lambda: HashIndex(hashes))
    rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result = {
        "n": len(hashes), "queries": len(queries), "seed": args.seed, "rounds": args.rounds, "substrings": index.m,
        "build_s": round(build_s, 3), "index_bytes": index.nbytes, "hashes_bytes": hashes.nbytes,
        "peak_rss_growth_bytes": (rss1 - rss0) * 1024, "radii": {},
    }
    brutes = {"table16": brute_table}
    if hasattr(np, "bitwise_count"):
        brutes["bitwise_count"] = brute_bitwise_count
    ok = True
    for r in RADII:
        index.query_many(queries[:10], r)  # warm-up, untimed: bit-flip masks are built on first use
        sides = {"index_batched": lambda: index.query_many(queries, r),
                 "index_single": lambda: [index.query(q, r) for q in queries]}
        for name, fn in brutes.items():
            sides[f"brute_{name}"] = lambda fn=fn: [fn(hashes, q, r) for q in queries]
        best: dict[str, float] = {}
        answers: dict[str, list] = {}
        for round_no in range(args.rounds):  # sides alternate order; each keeps its best round
            for name in (list(sides) if round_no % 2 == 0 else list(reversed(sides))):
                answers[name], t = timed(sides[name])
                best[name] = min(best.get(name, t), t)
        row = {f"{name}_qps": len(queries) / t for name, t in best.items()}
        batched = answers["index_batched"]
        identical = all(a == batched for a in answers.values())
        best_brute = max(v for k, v in row.items() if k.startswith("brute_"))
        row["best_brute_qps"] = best_brute
        row["speedup_batched"] = row["index_batched_qps"] / best_brute
        row["speedup_single"] = row["index_single_qps"] / best_brute
        row["identical"] = identical
        row["hits"] = sum(len(a) for a in batched)
        # every planted neighbour within the radius must be there
        row["planted_found"] = all(sum(1 for _, d in a if d <= r) >= r + 1 for a in batched)
        ok = ok and identical and row["planted_found"]
        result["radii"][str(r)] = {k: (round(v, 2) if isinstance(v, float) else v) for k, v in row.items()}
        print(f"radius {r}: index batched {row['index_batched_qps']:,.0f} q/s, single {row['index_single_qps']:,.0f} q/s; "
              + ", ".join(f"brute {k} {row[f'brute_{k}_qps']:,.0f} q/s" for k in brutes)
              + f"; speedup {row['speedup_batched']:.1f}x (single {row['speedup_single']:.1f}x); identical={identical}; "
              f"hits={row['hits']}", file=sys.stderr)
    r10 = result["radii"]["10"]
    met = r10["speedup_batched"] >= TARGET_SPEEDUP
    result["target_met"] = met
    result["ok"] = ok and met
    if not args.no_matcher:
        result["matcher_ms_per_image"] = matcher_cost()
    print(json.dumps(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))

    r6 = result["radii"]["6"]
    mib = index.nbytes / 2**20
    cmd = "`.venv/bin/python bench/images.py`"
    speed = f"**{r10['speedup_batched']:.1f}x**" if met else f"**{r10['speedup_batched']:.1f}x (target 10x: not met)**"
    print(
        f"| near-duplicate pHash search, {len(hashes):,} hashes ({len(queries) * (PLANT_MAX_DISTANCE + 1):,} planted), "
        f"{len(queries):,} queries at radius 10 (and 6), answers identical to the scan: {'yes' if ok else '**NO**'} "
        f"| multi-index hashing ({index.m} x {64 // index.m}-bit tables): {r10['index_batched_qps']:,.0f} queries/s batched, "
        f"{r10['index_single_qps']:,.0f} one by one (radius 6: {r6['index_batched_qps']:,.0f} / {r6['index_single_qps']:,.0f}); "
        f"build {build_s:.2f} s, {mib:.0f} MiB of arrays "
        f"| NumPy brute force per query, XOR + popcount over the whole array: {r10['best_brute_qps']:,.0f} queries/s "
        f"(np.bitwise_count; 16-bit table: {r10.get('brute_table16_qps', 0):,.0f}); radius 6: {r6['best_brute_qps']:,.0f} "
        f"| {speed} batched, {r10['speedup_single']:.1f}x one by one (>= 10x); radius 6: {r6['speedup_batched']:.1f}x "
        f"| {cmd} |"
    )
    if not ok:
        print("bench/images: the index's answers differ from the brute-force scan", file=sys.stderr)
        return 1
    if not met:
        print(f"bench/images: speedup {r10['speedup_batched']:.1f}x is under the target {TARGET_SPEEDUP}x", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
