"""The capture's WARC: warcio reads back what we wrote, and an altered byte is reported."""

from __future__ import annotations

import gzip
import hashlib
import io
import zlib
from datetime import datetime, timedelta, timezone

import pytest

from brandhound.warc import SCREENSHOT_URI_PREFIX, capture_warc_bytes, check_warc, write_capture_warc

URL = "https://shop.example/item/7?ref=ad"
BODY = "<html><body>Genuine Acme bags, 90% off</body></html>".encode()
SHOT = b"\x89PNG\r\n\x1a\n" + bytes(range(200))
AT = datetime(2026, 11, 30, 9, 15, tzinfo=timezone(timedelta(hours=1)))


def capture(**overrides: object) -> dict:
    return {"url": URL, "request_headers": {"User-Agent": "brandhound", "Accept": "text/html"}, "status": 200,
            "response_headers": [("Content-Type", "text/html; charset=utf-8"), ("Content-Encoding", "gzip"),
                                 ("Server", "nginx")],
            "body": BODY, "screenshot": SHOT, "captured_at": AT} | overrides


def members(data: bytes) -> list[bytes]:
    """The WARC's records, uncompressed, one per gzip member."""
    out, stream = [], io.BytesIO(data)
    while stream.tell() < len(data):
        decompressor = zlib.decompressobj(31)
        out.append(decompressor.decompress(stream.read()))
        stream.seek(len(data) - len(decompressor.unused_data))
    return out


def test_round_trip_records_uris_and_payloads():
    data = capture_warc_bytes(**capture())
    check = check_warc(data)
    assert check.ok, check.problems
    assert [(r.type, r.target_uri) for r in check.records] == [
        ("request", URL), ("response", URL), ("resource", SCREENSHOT_URI_PREFIX + URL)]
    response, resource = check.records[1], check.records[2]
    assert response.payload_sha256 == hashlib.sha256(BODY).hexdigest()
    assert resource.payload_sha256 == hashlib.sha256(SHOT).hexdigest()
    # One gzip member per record, WARC/1.1, dated in UTC.
    records = members(data)
    assert len(records) == 3 and all(r.startswith(b"WARC/1.1\r\n") for r in records)
    assert b"WARC-Date: 2026-11-30T08:15:00" in records[0]
    # The body is stored decoded, so the encoding header would mislead a reader.
    assert b"Content-Encoding" not in records[1] and b"Server: nginx" in records[1]
    assert b"GET /item/7?ref=ad HTTP/1.1" in records[0]


def test_without_screenshot_and_to_a_path_or_stream(tmp_path):
    path = tmp_path / "c.warc.gz"
    written = write_capture_warc(path, **capture(screenshot=None, status=404))
    data = path.read_bytes()
    assert written.sha256 == hashlib.sha256(data).hexdigest() and written.size == len(data)
    check = check_warc(data)
    assert check.ok and [r.type for r in check.records] == ["request", "response"]
    assert b"HTTP/1.1 404 Not Found" in members(data)[1]
    stream = io.BytesIO()
    assert write_capture_warc(stream, **capture()).size == len(stream.getvalue())


def test_an_altered_payload_fails_its_digest():
    records = members(capture_warc_bytes(**capture()))
    records[1] = records[1].replace(b"90% off", b"10% off")
    check = check_warc(b"".join(gzip.compress(r) for r in records), "c.warc.gz")
    assert not check.ok
    assert any("c.warc.gz: response record for " + URL in p and "payload digest failed" in p for p in check.problems)


def test_an_altered_compressed_byte_is_reported():
    data = bytearray(capture_warc_bytes(**capture()))
    data[len(data) // 2] ^= 0x01
    check = check_warc(bytes(data))
    assert not check.ok and check.problems


def test_not_a_warc_and_naive_time():
    assert "no response record" in check_warc(b"").problems[0]
    with pytest.raises(ValueError, match="captured_at"):
        capture_warc_bytes(**capture(captured_at=datetime(2026, 1, 1)))


def test_the_evidence_pipeline_keeps_each_capture_as_a_warc(tmp_path):
    from scrapy.utils.test import get_crawler

    from brandhound.evidence import EvidenceStore
    from brandhound.items import Page, Url
    from crawlers.items import Capture
    from pipelines.evidence import EvidencePipeline

    store = EvidenceStore(tmp_path / "evidence")
    pipeline = EvidencePipeline(get_crawler(), store)
    page = Page(url=Url(full=URL))
    page.http.response.status_code, page.http.response.mime_type, page.crawl.fetched_at = 200, "text/html", AT
    # The part that runs in the reactor's thread pool, called directly: no reactor in unit tests.
    stored_file = pipeline._put_warc(Capture(page=page, body=BODY, screenshot=SHOT))
    stored = store.read(stored_file)
    assert stored_file.hash.sha256 == hashlib.sha256(stored).hexdigest() and stored_file.path.endswith(".warc.gz")
    check = check_warc(stored)
    assert check.ok and [r.payload_sha256 for r in check.records[1:]] == [
        hashlib.sha256(BODY).hexdigest(), hashlib.sha256(SHOT).hexdigest()]
    assert b"Content-Type: text/html" in members(stored)[1]
    # A leak dump's clear text is never written, not even inside a WARC (no thread needed: nothing stored).
    import asyncio

    dump = asyncio.run(pipeline.process_item(Capture(page=Page(url=Url(full=URL)), body=b"secret", keep_body=False)))
    assert dump.page.warc is None and len(list((tmp_path / "evidence").rglob("*.warc.gz"))) == 1
