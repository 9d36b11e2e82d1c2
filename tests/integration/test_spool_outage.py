"""Elasticsearch stopped: documents go to the spool, and replay exactly once when it is back, from the
store alone and in the middle of a real crawl."""

import json
import subprocess
from dataclasses import replace

from brandhound import cluster
from brandhound.items import Listing, Price, Product, Seller, Url
from brandhound.mapping import index_name
from brandhound.spool import SEGMENT_SUFFIX, Spool
from brandhound.store import open_store
from brandhound.urls import canonicalize
from tests.integration.crawls import crawl_command, crawl_env, truth
from tests.polling import poll

N = 10_000


def _listing(i: int) -> Listing:
    return Listing(
        url=Url(full=f"https://www.bazaarhub.com/item/{i}", domain="www.bazaarhub.com"),
        title=f"Kestrava Aalto Espresso Cup replica #{i}",
        price=Price(amount=9.99 + i % 50, currency="EUR"),
        product=Product(brand="Kestrava", sku="KST-CUP-001"),
        seller=Seller(name=f"seller-{i % 97}", ratings_count=i % 13),
    )


def test_ten_thousand_items_spooled_while_down_replay_exactly_once(settings, es, es_node):
    assert es_node is not None, "this test stops and restarts Elasticsearch: run it on the test session's own node"
    cluster.init_indices(es, settings.es.index_prefix)
    index = index_name(settings.es.index_prefix, Listing)

    es_node.stop()
    store = open_store(settings, batch_docs=500, max_retries=2, backoff_s=0.05, probe_interval_s=3600)
    for i in range(N):
        store.add(_listing(i))
    store.flush()
    assert store.stats.indexed == 0
    assert store.stats.spooled == N
    assert store.spool.status().records == N

    es_node.start(deadline_s=300)
    cluster.wait_for_health(es, 300)
    assert store.replay() is True
    # A second replay (or a crash after sending, before deleting) must not add anything.
    assert store.replay() is True
    store.close()
    assert store.stats.replayed == N

    es.indices.refresh(index=index)
    assert es.count(index=index)["count"] == N
    ids = {h["_source"]["url"]["full"] for h in es.search(index=index, size=N, source=["url.full"])["hits"]["hits"]}
    assert len(ids) == N


def test_elasticsearch_down_in_the_middle_of_a_crawl_loses_and_duplicates_nothing(
        base_settings, es_node, sandbox_web, tmp_path):
    """The node stops once the crawl has indexed some listings and stays down while the crawl spools
    hundreds more; it comes back before the crawl ends. Every listing is then in the index once."""
    assert es_node is not None, "this test stops and restarts Elasticsearch: run it on the test session's own node"
    settings = replace(base_settings, es=replace(base_settings.es, index_prefix="bh-test-outage"),
                       spool_dir=tmp_path / "spool")
    es = cluster.make_client(settings.es)
    cluster.delete_indices(es, settings.es.index_prefix)
    listings = index_name(settings.es.index_prefix, Listing)
    spool_dir = settings.spool_dir / "crawl-marketplace"

    def spooled_now() -> int:
        # Read without taking the spool's lock, which the crawl holds: two lines a record.
        return sum(len(seg.read_bytes().splitlines()) for seg in spool_dir.glob(f"*{SEGMENT_SUFFIX}")) // 2

    def indexed() -> int:
        es.indices.refresh(index=listings)
        return es.count(index=listings)["count"]

    # Slow and in small batches, so that the outage falls in the crawl's middle and documents flow all along.
    paced = ["--set", "DOWNLOAD_DELAY=0.25", "--set", "CONCURRENT_REQUESTS_PER_DOMAIN=1", "--set", "BRANDHOUND_ES_BATCH=50"]
    proc = subprocess.Popen(crawl_command(sandbox_web, "marketplace", *paced), env=crawl_env(settings, sandbox_web[0]),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    def running() -> bool:
        if proc.poll() is not None:
            raise AssertionError(f"the crawl ended early ({proc.returncode}): {proc.stderr.read()[-3000:]}")
        return True

    try:
        before = poll(lambda: running() and indexed() >= 50 and indexed(), 300, "the crawl indexing its first listings")
        es_node.stop()
        spooled = poll(lambda: running() and spooled_now() >= 200 and spooled_now(), 300,
                       "the crawl spooling documents while Elasticsearch is down")
        running()  # the node comes back in the crawl's middle
        es_node.start(deadline_s=300)
        cluster.wait_for_health(es, 300)
        out, err = proc.communicate(timeout=900)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err[-3000:]
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["brandhound/es/spooled"] >= spooled >= 200
    with Spool(spool_dir) as spool:
        assert spool.status().records == 0, "the crawl replayed its spool once the node was back"
    expected = {canonicalize(p["url"]) for p in truth(sandbox_web)["pages"] if p["kind"] == "listing" and p.get("title")}
    es.indices.refresh(index=listings)
    urls = [h["_source"]["url"]["full"] for h in
            es.search(index=listings, size=10_000, source=["url.full"], query={"match_all": {}})["hits"]["hits"]]
    assert len(urls) == len(set(urls)), "no listing is indexed twice"
    missing = expected - set(urls)
    assert len(missing) <= 0.02 * len(expected), f"{len(missing)} of {len(expected)} listings missing, e.g. {sorted(missing)[:3]}"
    assert before < len(urls)
    print(f"outage figures: {len(expected)} listings expected, {len(urls)} indexed ({before} before the outage), "
          f"{summary['brandhound/es/spooled']} documents spooled and replayed, {len(urls) - len(set(urls))} duplicates")
    cluster.delete_indices(es, settings.es.index_prefix)
    es.close()
