"""Bulk indexing throughput: brandhound's Store against a raw ``_bulk`` request loop.

Both index the same realistic listing documents into fresh indices with the
same mapping, on the same cluster, in one run; rounds alternate the order so
that neither side always gets the warmer JVM. Reports docs/s for each and the
ratio store/raw (target: at least 0.8).

    .venv/bin/python bench/es_bulk.py [--docs 100000] [--rounds 2]

Uses the configured cluster (by default the local node, started if needed).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

from brandhound import cluster
from brandhound.commands.es import ensure_cluster
from brandhound.config import load_settings
from brandhound.items import BrandRef, Crawl, File, Hash, Image, Listing, Price, Product, Seller, Url
from brandhound.mapping import index_name, to_document
from brandhound.spool import Spool
from brandhound.store import Store

WORDS = (
    "kestrava aalto espresso cup porcelain nordic design handmade original genuine replica 1:1 aaa "
    "quality fast shipping new sealed gift box cushion cover poster print limited edition sale "
    "discount outlet authentic premium copy factory direct warranty free returns helsinki"
).split()


def make_documents(n: int, seed: int = 42) -> list[tuple[str, dict]]:
    """``(doc id, source)`` for ``n`` listings shaped like the marketplace crawl's."""
    rng = random.Random(seed)
    docs = []
    for i in range(n):
        host = rng.choice(["www.bazaarhub.com", "torimarket.fi", "kestrava-outlet.shop"])
        url = f"https://{host}/item/{i}-{rng.randrange(10**9)}"
        images = [
            Image(
                url=f"https://img.{host}/{i}/{k}.jpg",
                file=File(path=f"images/{i}-{k}.jpg", size=rng.randrange(20_000, 400_000), mime_type="image/jpeg",
                          hash=Hash(sha256=hashlib.sha256(f"{i}/{k}".encode()).hexdigest())),
                phash=f"{rng.getrandbits(64):016x}", dhash=f"{rng.getrandbits(64):016x}",
                width=rng.choice([400, 640, 800]), height=rng.choice([400, 480, 600]),
            )
            for k in range(rng.randrange(1, 4))
        ]
        listing = Listing(
            brand=BrandRef(id="kestrava", name="Kestrava"),
            url=Url(full=url, domain=host, registered_domain=host.removeprefix("www."), scheme="https", path=url.split(host)[1]),
            crawl=Crawl(spider="marketplace", source_type="marketplace", job_id="bench", renderer="http"),
            marketplace=host,
            title=" ".join(rng.choices(WORDS, k=rng.randrange(5, 12))),
            description=" ".join(rng.choices(WORDS, k=rng.randrange(30, 80))),
            price=Price(amount=round(rng.uniform(5, 150), 2), currency=rng.choice(["EUR", "USD", "PLN"])),
            product=Product(name="Aalto Espresso Cup", brand=rng.choice(["Kestrava", "Kestreva", "KESTRAVA"]), sku="KST-CUP-001"),
            seller=Seller(name=f"seller-{rng.randrange(2000)}", rating=round(rng.uniform(1, 5), 1),
                          ratings_count=rng.randrange(0, 5000), ships_from=rng.choice(["CN", "FI", "PL", "US"])),
            quantity=rng.randrange(1, 999),
            images=images,
            extraction=rng.choice(["jsonld", "microdata", "html"]),
        )
        docs.append((listing.doc_id(), to_document(listing)))
    return docs


def fresh_index(client, prefix: str) -> str:
    cluster.delete_indices(client, prefix)
    cluster.init_indices(client, prefix)
    return index_name(prefix, Listing)


def run_raw(client, index: str, docs, batch: int) -> float:
    start = time.perf_counter()
    for off in range(0, len(docs), batch):
        ops: list[dict] = []
        for doc_id, source in docs[off:off + batch]:
            ops.append({"index": {"_index": index, "_id": doc_id}})
            ops.append(source)
        resp = client.bulk(operations=ops)
        if resp["errors"]:
            raise RuntimeError("raw _bulk reported errors")
    return time.perf_counter() - start


def run_store(client, prefix: str, index: str, docs, batch: int) -> float:
    with tempfile.TemporaryDirectory() as spool_dir:
        store = Store(client, prefix, Spool(Path(spool_dir)), batch_docs=batch)
        start = time.perf_counter()
        for doc_id, source in docs:
            store.add_document(index, doc_id, source)
        store.close()
        elapsed = time.perf_counter() - start
    if store.stats.indexed != len(docs) or store.stats.spooled or store.stats.rejected:
        raise RuntimeError(f"store did not index everything: {store.stats}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--batch", type=int, default=1000, help="documents per _bulk request, both sides")
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    args = parser.parse_args()

    settings = load_settings()
    client = ensure_cluster(settings, 300)
    client = client.options(request_timeout=120)
    info = cluster.cluster_info(client)
    run_id = uuid.uuid4().hex[:8]
    raw_prefix, store_prefix = f"bench-raw-{run_id}", f"bench-store-{run_id}"

    t0 = time.perf_counter()
    docs = make_documents(args.docs)
    size = sum(len(json.dumps(s)) for _, s in docs)
    print(f"{len(docs)} listing documents, {size / len(docs):.0f} bytes each on average "
          f"(generated in {time.perf_counter() - t0:.1f}s)", file=sys.stderr)

    # Warm the JVM and the connection pool on both paths.
    warm = docs[:5000]
    run_raw(client, fresh_index(client, raw_prefix), warm, args.batch)
    run_store(client, store_prefix, fresh_index(client, store_prefix), warm, args.batch)

    raw_rates, store_rates = [], []
    try:
        for r in range(args.rounds):
            order = ["raw", "store"] if r % 2 == 0 else ["store", "raw"]
            for side in order:
                if side == "raw":
                    elapsed = run_raw(client, fresh_index(client, raw_prefix), docs, args.batch)
                    raw_rates.append(len(docs) / elapsed)
                else:
                    elapsed = run_store(client, store_prefix, fresh_index(client, store_prefix), docs, args.batch)
                    store_rates.append(len(docs) / elapsed)
                print(f"round {r + 1} {side:5s}: {len(docs) / elapsed:,.0f} docs/s", file=sys.stderr)
        client.indices.refresh(index=index_name(store_prefix, Listing))
        stored = client.count(index=index_name(store_prefix, Listing))["count"]
        if stored != len(docs):
            raise RuntimeError(f"store index holds {stored} documents, expected {len(docs)}")
    finally:
        cluster.delete_indices(client, raw_prefix)
        cluster.delete_indices(client, store_prefix)

    raw, store = statistics.median(raw_rates), statistics.median(store_rates)
    result = {
        "benchmark": "es_bulk",
        "docs": len(docs),
        "batch": args.batch,
        "rounds": args.rounds,
        "elasticsearch": info.versions[0],
        "jvm": info.jvm[0],
        "raw_docs_per_s": round(raw),
        "store_docs_per_s": round(store),
        "ratio": round(store / raw, 3),
    }
    print(json.dumps(result))
    print(f"| bulk indexing, {len(docs):,} listings | store {store:,.0f} docs/s | raw _bulk {raw:,.0f} docs/s | "
          f"ratio {store / raw:.2f} (target >= 0.8) |", file=sys.stderr)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
