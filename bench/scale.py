"""Scale-out: pages per second of the sandbox marketplace crawl with 1, 2 and 4 workers sharing one
Redis frontier (``crawlers/frontier``), and the efficiency per worker.

Builds a sandbox web with ``--listings`` listings per marketplace (two marketplaces), serves it from
its own process (``sandbox.web.daemon``), starts a Redis of its own (``sandbox.redis``), and for each
worker count runs that many ``python -m crawlers.frontier.worker`` processes on a fresh frontier,
each with brandhound's full pipeline (evidence, images, detectors, Elasticsearch into throwaway
indices, deleted afterwards). JavaScript-only listings are not re-rendered in Chromium (browser
work is ``bench/crawl.py``'s subject); the never-finishing page times out after 5 s, twice.

Measured: pages fetched (sum of the workers' ``downloader/request_count``) over the crawl's span,
from the workers' start to the last acknowledgement in the frontier (so the idle grace in which
workers wait for more work before closing is not counted; process start-up is). Efficiency of N
workers = (pages/s with N) / (N x pages/s with 1). Per-domain politeness is shared across workers
(8 requests in flight per marketplace in total), as in production, so more workers buy CPU for
parsing and the pipeline, not more pressure on a site.

    .venv/bin/python bench/scale.py [--listings 300] [--workers 1 2 4] [--json FILE]

Uses the configured Elasticsearch cluster (``BRANDHOUND_ES_URL``, default the local node at 127.0.0.1:9200).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
import uuid
from dataclasses import asdict
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

import redis  # noqa: E402

from brandhound import cluster  # noqa: E402
from brandhound.config import load_settings  # noqa: E402
from crawlers.frontier.keys import FrontierKeys  # noqa: E402
from crawlers.frontier.worker import start_worker, worker_summary  # noqa: E402
from sandbox.egress import sandbox_egress  # noqa: E402
from sandbox.redis import RedisServer  # noqa: E402
from sandbox.web import daemon  # noqa: E402
from sandbox.processes import free_port as _free_port  # noqa: E402

PROFILE = REPO_ROOT / "examples" / "brands" / "kestrava" / "brand.yaml"
OVERRIDES = {"DOWNLOAD_TIMEOUT": 5, "RETRY_TIMES": 1, "LOG_LEVEL": "WARNING"}


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def run_workers(n: int, spec: dict, work: Path, env: dict[str, str], client: redis.Redis,
                deadline_s: float = 900) -> dict:
    """One crawl over a fresh frontier with ``n`` workers; its pages, span and pages/s."""
    keys = FrontierKeys(spec["key"])
    start = time.monotonic()
    procs = [start_worker(spec, work, f"{spec['key']}-w{i}", env) for i in range(n)]
    last_acked, last_change = 0, start
    while any(p.poll() is None for p in procs):
        acked = int(client.get(keys.acked) or 0)
        if acked != last_acked:
            last_acked, last_change = acked, time.monotonic()
        if time.monotonic() - start > deadline_s:
            for p in procs:
                p.kill()
            raise RuntimeError(f"{n} workers did not finish within {deadline_s} s")
        time.sleep(0.1)
    codes = [p.returncode for p in procs]
    summaries = [worker_summary(work, f"{spec['key']}-w{i}") or {} for i in range(n)]
    if codes != [0] * n:
        raise RuntimeError(f"workers exited with {codes}; logs in {work}")
    pages = sum(int(s.get("downloader/request_count") or 0) for s in summaries)
    span = last_change - start
    return {"workers": n, "pages": pages, "span_s": round(span, 2), "pages_per_s": round(pages / span, 1),
            "per_worker_pages": [int(s.get("downloader/request_count") or 0) for s in summaries],
            "acked": last_acked, "wall_s": round(time.monotonic() - start, 2)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listings", type=int, default=300, help="listings per sandbox marketplace (default 300)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--json", help="write the results here too")
    parser.add_argument("--keep", action="store_true", help="keep the workers' logs (the directory is printed)")
    args = parser.parse_args()

    settings = load_settings()
    prefix = f"bh-bench-scale-{uuid.uuid4().hex[:8]}"
    client_es = cluster.make_client(settings.es)
    cluster.wait_for_health(client_es, 60)
    work = Path(tempfile.mkdtemp(prefix="bh-scale-"))
    log(f"work directory: {work}")
    try:
        state = daemon.up(work / "home", port=_free_port(), profile_path=PROFILE,
                          listings_per_marketplace=args.listings)
        try:
            truth = json.loads(Path(state["ground_truth"]).read_text(encoding="utf-8"))
            env = dict(os.environ, BRANDHOUND_ES_URL=settings.es.url, BRANDHOUND_ES_INDEX_PREFIX=prefix,
                       BRANDHOUND_HOME=str(work / "home"))
            with RedisServer(work / "redis") as server:
                client = redis.Redis.from_url(server.url)
                results = []
                for n in args.workers:
                    spec = {"spider": "marketplace", "brand": str(PROFILE), "redis_url": server.url,
                            "key": f"scale-{n}-{uuid.uuid4().hex[:6]}", "seeds": truth["seeds"]["marketplace"],
                            "egress": asdict(sandbox_egress(state)), "overrides": OVERRIDES,
                            "spider_args": {"render_incomplete_listings": False}}
                    log(f"crawl with {n} worker(s)...")
                    results.append(run_workers(n, spec, work, env, client))
                    log(f"  {results[-1]}")
        finally:
            daemon.down(work / "home")
            cluster.delete_indices(client_es, prefix)
            client_es.close()
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    base = results[0]["pages_per_s"] / results[0]["workers"]
    for r in results:
        r["speedup"] = round(r["pages_per_s"] / results[0]["pages_per_s"], 2)
        r["efficiency"] = round(r["pages_per_s"] / (r["workers"] * base), 2)
    report = {"listings_per_marketplace": args.listings, "cpus": os.cpu_count(), "results": results}
    print(json.dumps(report, indent=2))
    print("\n| workers | pages | span (s) | pages/s | speed-up | efficiency per worker |\n|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r['workers']} | {r['pages']} | {r['span_s']} | {r['pages_per_s']} | {r['speedup']} | {r['efficiency']} |")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
