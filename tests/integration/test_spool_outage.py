"""Elasticsearch stopped: documents go to the spool, and replay exactly once when it is back."""

from brandhound import cluster
from brandhound.items import Listing, Price, Product, Seller, Url
from brandhound.mapping import index_name
from brandhound.store import open_store

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
