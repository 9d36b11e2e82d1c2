"""Discovery's CT cursors on a real Elasticsearch node: ``es init`` creates their index with the strict
mapping of the schema, and claims (realtime reads, ``if_seq_no`` writes) work under it."""

from __future__ import annotations

import pytest

from brandhound import cluster
from brandhound.items import CtCursor
from brandhound.mapping import index_mapping, index_name
from crawlers.ct.loglist import log_from_url
from operations.discover import Conflict, Cursors, EsDocs

LOG = log_from_url("https://ct.test/2026h2/")


@pytest.fixture
def docs(settings, es):
    cluster.init_indices(es, settings.es.index_prefix)
    return EsDocs(es, index_name(settings.es.index_prefix, CtCursor))


def test_es_init_creates_the_cursor_index_with_its_strict_mapping(settings, es):
    names = cluster.init_indices(es, settings.es.index_prefix)
    name = index_name(settings.es.index_prefix, CtCursor)
    assert name in names
    live = es.indices.get_mapping(index=name)[name]["mappings"]
    assert live["dynamic"] == "strict" and live["properties"] == index_mapping(CtCursor)["properties"]
    assert live["properties"]["next_index"] == {"type": "long"}
    assert live["properties"]["claims"]["properties"]["claimed_at"] == {"type": "date"}
    assert cluster.index_counts(es, settings.es.index_prefix)[name] == 0
    cluster.delete_indices(es, settings.es.index_prefix)
    assert not es.indices.exists(index=name)  # es reset starts discovery over too


def test_two_workers_claim_disjoint_ranges_and_release_them(docs):
    a, b = Cursors(docs, worker="a"), Cursors(docs, worker="b")
    first = a.claim(LOG, tree_size=2500, since="start", entries=1000)
    second = b.claim(LOG, tree_size=2500, since="start", entries=1000)
    third = a.claim(LOG, tree_size=2500, since="start", entries=1000)
    assert [(c.start, c.end, c.worker) for c in (first, second, third)] == [
        (0, 1000, "a"), (1000, 2000, "b"), (2000, 2500, "a")]
    assert a.claim(LOG, tree_size=2500) is None
    b.release(LOG, second)
    a.release(LOG, first)
    a.release(LOG, third, upto=2200)  # the log failed at 2200: the rest is given back
    cursor = b.position(LOG)
    assert cursor.next_index == 2500 and cursor.tree_size == 2500
    assert [(c.start, c.end, c.claimed_at.year) for c in cursor.claims] == [(2200, 2500, 1970)]
    taken_over = b.claim(LOG, tree_size=2500)
    assert (taken_over.start, taken_over.end, taken_over.worker) == (2200, 2500, "b")


def test_a_write_on_a_stale_version_is_a_conflict_and_the_claim_reads_again(docs):
    Cursors(docs, worker="a").claim(LOG, tree_size=100, since="start", entries=10)
    source, version = docs.get(CtCursor(log_url=LOG.url, api=LOG.api).doc_id())
    docs.put(CtCursor(log_url=LOG.url, api=LOG.api).doc_id(), source, version)  # somebody else wrote
    with pytest.raises(Conflict):
        docs.put(CtCursor(log_url=LOG.url, api=LOG.api).doc_id(), source, version)
    racing = Cursors(docs, worker="b")
    stale = docs.get

    def get_then_somebody_writes(doc_id):
        got = stale(doc_id)
        if got is not None and not getattr(get_then_somebody_writes, "done", False):
            get_then_somebody_writes.done = True  # type: ignore[attr-defined]
            Cursors(docs, worker="c").claim(LOG, tree_size=100, entries=10)
        return got

    docs.get = get_then_somebody_writes  # type: ignore[method-assign]
    claim = racing.claim(LOG, tree_size=100, entries=10)
    assert (claim.start, claim.end) == (20, 30)  # c took 10-20 between b's read and b's write
    docs.get = stale  # type: ignore[method-assign]
    workers = {(c.start, c.worker) for c in racing.position(LOG).claims}
    assert workers == {(0, "a"), (10, "c"), (20, "b")}


def test_a_document_outside_the_mapping_is_refused(docs):
    # Strict mapping: a field the schema does not know is an error, not a silently new field.
    import elasticsearch

    with pytest.raises(elasticsearch.BadRequestError, match="strict"):
        docs.client.index(index=docs.index, id="x", document={"log_url": LOG.url, "lag": 3})
