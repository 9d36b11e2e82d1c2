"""A full disk under the spool or the evidence store: nothing acknowledged is lost, the crawl stops once, clearly."""

from __future__ import annotations

import asyncio
import errno
import logging
from unittest import mock

import pytest
from scrapy.exceptions import DropItem
from scrapy.utils.test import get_crawler
from twisted.internet import defer

from brandhound.evidence import EvidenceStore
from brandhound.items import Page, Url
from brandhound.spool import Spool, SpoolError
from crawlers.items import Capture
from pipelines import disk_full
from pipelines.evidence import EvidencePipeline
from tests.unit.test_store import FakeBulk, _listing, _store


def _full(*args, **kwargs):
    raise SpoolError("cannot write to spool x: the disk is full") from OSError(errno.ENOSPC, "No space left on device")


def test_documents_that_neither_elasticsearch_nor_the_full_spool_took_stay_buffered(tmp_path):
    client = FakeBulk(["down"] * 10)
    store = _store(tmp_path, client, batch_docs=100)
    for i in range(10):
        store.add(_listing(i))
    with mock.patch.object(Spool, "append", _full), pytest.raises(SpoolError, match="disk is full"):
        store.flush()
    assert store.buffered == 10 and store.stats.spooled == 0
    client.script = []  # Elasticsearch is back: the kept documents go there
    store.flush()
    assert len(client.acked) == 10 and store.buffered == 0
    store.close()


class _Engine:
    def __init__(self):
        self.reasons: list[str] = []

    async def close_spider_async(self, *, reason: str) -> None:
        self.reasons.append(reason)


@pytest.fixture(autouse=True)
def _threads_inline(monkeypatch):
    # The pipeline hands disk writes to Twisted's thread pool; here no reactor runs, so run them inline.
    monkeypatch.setattr("pipelines.evidence.deferToThread", lambda f, *a, **kw: defer.maybeDeferred(f, *a, **kw))


@pytest.fixture
def pipeline(tmp_path) -> EvidencePipeline:
    crawler = get_crawler()
    crawler.engine = _Engine()
    return EvidencePipeline(crawler, EvidenceStore(tmp_path / "evidence"))


def test_a_full_evidence_store_drops_the_capture_and_stops_the_crawl_once(pipeline, tmp_path, caplog):
    crawler, store = pipeline.crawler, pipeline.store

    def full_put(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    async def run() -> None:
        for i in range(3):
            with pytest.raises(DropItem, match="evidence store is full"):
                await pipeline.process_item(Capture(page=Page(url=Url(full=f"https://x.example/{i}")), body=b"<html>"))
        # The close the pipeline scheduled: run it to its end before looking at what it did.
        await asyncio.gather(*(t for t in asyncio.all_tasks() if t is not asyncio.current_task()))

    with mock.patch.object(store, "put", full_put), caplog.at_level(logging.ERROR):
        asyncio.run(run())
    assert crawler.engine.reasons == [disk_full.REASON]
    assert crawler.stats.get_value("brandhound/disk_full") == 3
    assert caplog.text.count("Stopping the crawl") == 1 and str(tmp_path / "evidence") in caplog.text


def test_other_write_errors_are_not_taken_for_a_full_disk(pipeline):
    crawler, store = pipeline.crawler, pipeline.store

    def denied(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied")

    with mock.patch.object(store, "put", denied), pytest.raises(PermissionError):
        asyncio.run(pipeline.process_item(Capture(page=Page(url=Url(full="https://x.example/")), body=b"<html>")))
    assert crawler.engine.reasons == []
