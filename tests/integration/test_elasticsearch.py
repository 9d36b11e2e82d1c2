"""Index templates, mappings and documents on a real Elasticsearch node."""

import pytest

from brandhound import cluster
from brandhound.items import INDEXED_TYPES, ITEM_TYPES, Listing, Url
from brandhound.mapping import from_document, index_mapping, index_name
from brandhound.store import open_store
from tests.factories import full


def test_init_creates_templates_and_indices_and_is_idempotent(settings, es):
    first = cluster.init_indices(es, settings.es.index_prefix)
    second = cluster.init_indices(es, settings.es.index_prefix)
    assert first == second == [index_name(settings.es.index_prefix, t) for t in INDEXED_TYPES]
    for item_type in INDEXED_TYPES:  # the items and the jobs' state (discovery's CT cursors)
        name = index_name(settings.es.index_prefix, item_type)
        template = es.indices.get_index_template(name=name)["index_templates"][0]["index_template"]
        assert template["index_patterns"] == [name]
        live = es.indices.get_mapping(index=name)[name]["mappings"]
        assert live["dynamic"] == "strict"
        assert live["properties"] == index_mapping(item_type)["properties"]


def test_workers_initialising_the_same_indices_at_once_all_succeed(settings, es):
    """Scaled-out crawl workers start together, and each one's pipeline initialises the indices."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: cluster.init_indices(es, settings.es.index_prefix), range(4)))
    assert all(r == results[0] for r in results) and len(results[0]) == len(INDEXED_TYPES)


def test_optional_features_are_detected_not_assumed(settings, es, es_node):
    info = cluster.cluster_info(es)
    cluster.check_client_compatible(info)
    cluster.init_indices(es, settings.es.index_prefix)
    name = index_name(settings.es.index_prefix, Listing)
    index_settings = es.indices.get_settings(index=name)[name]["settings"]["index"]
    assert ("lifecycle" in index_settings) == info.has_ilm
    if es_node is not None:  # the integ-test distribution has neither
        assert not info.has_ilm and not info.has_ingest
        assert info.versions == (settings.local_node.version,)


@pytest.mark.parametrize("item_type", ITEM_TYPES, ids=lambda t: t.__name__)
def test_every_documented_field_round_trips(settings, es, item_type):
    cluster.init_indices(es, settings.es.index_prefix)
    item = full(item_type)
    with open_store(settings) as store:
        doc_id = store.add(item)
    assert store.stats.indexed == 1 and store.stats.rejected == 0
    stored = es.get(index=index_name(settings.es.index_prefix, item_type), id=doc_id)["_source"]
    assert from_document(item_type, stored) == item


def test_strict_mapping_rejects_unknown_fields_into_the_dead_letter_file(settings, es):
    cluster.init_indices(es, settings.es.index_prefix)
    with open_store(settings) as store:
        store.add_document(index_name(settings.es.index_prefix, Listing), "x1", {"not_in_schema": 1})
    assert store.stats.rejected == 1
    assert "strict_dynamic_mapping_exception" in (settings.spool_dir / "rejected.ndjson").read_text()


def test_indexing_the_same_item_twice_leaves_one_document(settings, es):
    cluster.init_indices(es, settings.es.index_prefix)
    index = index_name(settings.es.index_prefix, Listing)
    with open_store(settings) as store:
        store.add(Listing(url=Url(full="https://m.example/item/7"), title="first"))
        store.flush()
        store.add(Listing(url=Url(full="https://m.example/item/7"), title="second"))
        store.add(Listing(url=Url(full="https://m.example/item/8"), title="other"))
    es.indices.refresh(index=index)
    assert es.count(index=index)["count"] == 2
    hit = es.search(index=index, query={"term": {"url.full": "https://m.example/item/7"}})["hits"]["hits"]
    assert [h["_source"]["title"] for h in hit] == ["second"]


def test_unreachable_cluster_is_reported_clearly(settings):
    client = cluster.make_client(settings.es.__class__(url="http://127.0.0.1:9"))
    with pytest.raises(cluster.ClusterError, match="cannot reach Elasticsearch"):
        cluster.cluster_info(client)
    with pytest.raises(cluster.ClusterError, match="not yellow within"):
        cluster.wait_for_health(client, deadline_s=1)
