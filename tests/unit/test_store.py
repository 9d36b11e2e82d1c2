"""The store's retry, spool and dead-letter logic, around a fake bulk endpoint."""

import json
from types import SimpleNamespace

import elasticsearch
import pytest
from elastic_transport import ApiResponseMeta, HttpHeaders, NodeConfig

from brandhound.items import Listing, Url
from brandhound.spool import Spool
from brandhound.store import Store, StoreError


def _meta(status):
    return ApiResponseMeta(status=status, http_version="1.1", headers=HttpHeaders(), duration=0.0,
                           node=NodeConfig("http", "127.0.0.1", 9200))


class FakeBulk:
    """Records every document id it acknowledges; ``script`` decides each call's fate."""

    def __init__(self, script=None):
        self.script = list(script or [])
        self.acked: list[str] = []
        self.calls = 0

    def bulk(self, body):
        self.calls += 1
        lines = body.decode().splitlines()
        ids = [json.loads(a)["index"]["_id"] for a in lines[0::2]]
        step = self.script.pop(0) if self.script else "ok"
        if step == "down":
            raise elasticsearch.ConnectionError("Connection refused")
        if step == "unauthorized":
            raise elasticsearch.AuthenticationException("unauthorized", _meta(401), {})
        if step == "http503":
            raise elasticsearch.ApiError("unavailable", _meta(503), {})
        statuses = step if isinstance(step, dict) else {}
        items = []
        for doc_id in ids:
            status = statuses.get(doc_id, 201)
            if status < 300:
                self.acked.append(doc_id)
            outcome = {"_id": doc_id, "status": status}
            if status >= 300:
                outcome["error"] = {"type": "mapper_parsing_exception" if status == 400 else "es_rejected_execution_exception"}
            items.append({"index": outcome})
        return SimpleNamespace(body={"errors": any(s >= 300 for s in statuses.values()), "items": items})


def _store(tmp_path, client, **kw):
    kw.setdefault("batch_docs", 10)
    return Store(client, "t", Spool(tmp_path / "spool"), backoff_s=0.001, max_retries=2, probe_interval_s=0, **kw)


def _listing(i):
    return Listing(url=Url(full=f"https://m.example/item/{i}"), title=f"item {i}")


def test_batches_are_bounded_by_count_and_bytes(tmp_path):
    client = FakeBulk()
    store = _store(tmp_path, client, batch_docs=4, batch_bytes=10**9)
    for i in range(10):
        store.add(_listing(i))
    assert client.calls == 2  # two full batches of four, two documents still buffered
    store.close()
    assert client.calls == 3 and len(client.acked) == 10
    small = FakeBulk()
    store = _store(tmp_path / "b", small, batch_docs=1000, batch_bytes=300)
    for i in range(10):
        store.add(_listing(i))
    store.close()
    assert small.calls >= 4 and len(small.acked) == 10


def test_documents_answered_429_are_retried_alone(tmp_path):
    ids = [_listing(i).doc_id() for i in range(5)]
    client = FakeBulk([{ids[1]: 429, ids[3]: 503}])
    store = _store(tmp_path, client)
    for i in range(5):
        store.add(_listing(i))
    store.close()
    assert sorted(client.acked) == sorted(ids)
    assert client.acked.count(ids[0]) == 1  # acknowledged ones are not sent again
    assert store.stats.indexed == 5 and store.stats.retries == 1


def test_rejected_documents_go_to_the_dead_letter_file(tmp_path):
    ids = [_listing(i).doc_id() for i in range(3)]
    client = FakeBulk([{ids[2]: 400}])
    store = _store(tmp_path, client)
    for i in range(3):
        store.add(_listing(i))
    store.close()
    assert store.stats.indexed == 2 and store.stats.rejected == 1
    (line,) = (tmp_path / "spool" / "rejected.ndjson").read_text().splitlines()
    kept = json.loads(line)
    assert kept["error"]["type"] == "mapper_parsing_exception"
    assert ids[2] in kept["record"] and "item 2" in kept["record"]


def test_outage_spools_then_replays_in_order_before_new_documents(tmp_path):
    client = FakeBulk(["down"] * 3 + ["http503"] * 3)
    store = _store(tmp_path, client, batch_docs=5)
    for i in range(10):  # first batch: down x3 -> spooled; second: goes behind the spool, 503 on the probe
        store.add(_listing(i))
    assert store.stats.spooled == 10 and store.stats.indexed == 0
    assert client.acked == []
    for i in range(10, 15):  # Elasticsearch is back
        store.add(_listing(i))
    store.close()
    assert client.acked == [_listing(i).doc_id() for i in range(15)]
    assert store.stats.replayed == 10
    assert not list((tmp_path / "spool").glob("*.ndjson"))


def test_refused_request_keeps_documents_and_says_so(tmp_path):
    client = FakeBulk(["unauthorized"])
    store = _store(tmp_path, client, batch_docs=3)
    store.add(_listing(0))
    store.add(_listing(1))
    with pytest.raises(StoreError, match="HTTP 401.*3 documents kept in"):
        store.add(_listing(2))
    assert store.spool.status().records == 3
