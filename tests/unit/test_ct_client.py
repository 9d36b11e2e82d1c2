"""The CT client against the sandbox logs served on 127.0.0.1: both APIs read every entry once, a
capped get-entries batch, backoff on 429 and 500, malformed and truncated entries skipped and logged
with nothing before them lost, and the SSRF rule."""

import base64
import json
import threading
import urllib.request

import pytest

from crawlers.ct.client import Rfc6962Log, StaticLog
from crawlers.ct.http import Backoff, CtHttpError, HttpClient, urllib_fetcher
from crawlers.ct.loglist import load_log_list
from crawlers.ct.merkle import leaf_hash, root_from_hashes
from crawlers.ct.wire import Reader, merkle_leaf, read_tile_leaf, timestamped_entry
from sandbox.ct.build import build
from sandbox.ct.serve import make_server

PROFILE = "examples/brands/kestrava/brand.yaml"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    directory = tmp_path_factory.mktemp("ct")
    build(directory, PROFILE, benign=600)
    srv = make_server(directory, max_batch=100)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield srv
    srv.shutdown()
    srv.server_close()


def _post(server, path):
    urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{server.server_address[1]}{path}", method="POST"))


def _client(sleeps=None, fetch=None, **kwargs):
    return HttpClient(allow_private=True, fetch=fetch, sleep=(sleeps.append if sleeps is not None else lambda s: None),
                      backoff=Backoff(retries=3, base=0.5), **kwargs)


def _logs(server, http):
    port = server.server_address[1]
    return {x.api: x for x in load_log_list(f"http://127.0.0.1:{port}/log_list.json", http.get)}


@pytest.mark.parametrize("api", ["rfc6962", "static"])
def test_every_entry_once_in_order_with_verified_tree_heads(server, api):
    http = _client()
    info = _logs(server, http)[api]
    log = Rfc6962Log(info, http, batch=256) if api == "rfc6962" else StaticLog(info, http)
    head = log.tree_head()  # signature checked against the key in the log list
    assert head.tree_size == server.logs[api].published > 600
    got = list(log.entries(0, head.tree_size, head.tree_size))
    assert [e.index for e in got] == list(range(head.tree_size))
    assert all(e.facts.names and e.facts.issuer for e in got) and any(e.precert for e in got)
    middle = list(log.entries(300, 555, head.tree_size))
    assert [e.index for e in middle] == list(range(300, 555)) and log.skipped == 0


def test_a_log_returning_fewer_entries_than_asked_is_read_on(server):
    asked = []
    real = urllib_fetcher()

    def fetch(url, timeout):
        asked.append(url)
        return real(url, timeout)

    http = _client(fetch=fetch)
    log = Rfc6962Log(_logs(server, http)["rfc6962"], http, batch=256)
    assert len(list(log.entries(0, 450))) == 450
    # The server caps at 100: each next request starts after what came back.
    assert [u.split("?")[1] for u in asked if "get-entries" in u] == [
        "start=0&end=255", "start=100&end=355", "start=200&end=449", "start=300&end=449", "start=400&end=449"]


@pytest.mark.parametrize("status, retry_after", [(429, "3"), (500, None), (503, "1")])
def test_backoff_on_429_and_5xx_then_the_follow_continues(server, status, retry_after):
    sleeps = []
    http = _client(sleeps)
    log = Rfc6962Log(_logs(server, http)["rfc6962"], http)
    _post(server, f"/_sandbox/fault?status={status}&count=2" + (f"&retry_after={retry_after}" if retry_after else ""))
    assert [e.index for e in log.entries(0, 150)] == list(range(150))
    assert len(sleeps) == 2 and http.retries == 2
    if retry_after:
        assert all(s >= float(retry_after) for s in sleeps)
    else:
        assert 0.5 <= sleeps[0] <= 1.0 and 1.0 <= sleeps[1] <= 2.0  # exponential, with jitter


def test_retries_spent_raise_naming_the_url(server):
    http = _client()
    log = StaticLog(_logs(server, http)["static"], http)
    _post(server, "/_sandbox/fault?status=500&count=4")
    with pytest.raises(CtHttpError, match=r"static/checkpoint: HTTP 500, 3 retries spent"):
        log.tree_head()


def test_a_malformed_get_entries_entry_is_logged_and_skipped(server, caplog):
    real = urllib_fetcher()

    def fetch(url, timeout):
        status, headers, body = real(url, timeout)
        if "get-entries" in url and "start=100" in url:
            data = json.loads(body)
            leaf = base64.b64decode(data["entries"][5]["leaf_input"])
            data["entries"][5]["leaf_input"] = base64.b64encode(leaf[:-40]).decode()  # truncated: entry 105
            data["entries"][7]["leaf_input"] = "not base64!"                          # entry 107
            body = json.dumps(data).encode()
        return status, headers, body

    http = _client(fetch=fetch)
    log = Rfc6962Log(_logs(server, http)["rfc6962"], http)
    got = [e.index for e in log.entries(0, 300)]
    assert got == [i for i in range(300) if i not in (105, 107)]
    assert log.skipped == 2
    assert "rfc6962/: entry 105 skipped: leaf_input: truncated" in caplog.text
    assert "rfc6962/: entry 107 skipped" in caplog.text


def test_a_truncated_data_tile_keeps_the_entries_before_the_cut(server, caplog):
    real = urllib_fetcher()

    def fetch(url, timeout):
        status, headers, body = real(url, timeout)
        if url.endswith("tile/data/001"):
            body = body[: len(body) // 2]
        return status, headers, body

    http = _client(fetch=fetch)
    log = StaticLog(_logs(server, http)["static"], http)
    size = log.tree_head().tree_size
    got = [e.index for e in log.entries(0, size, size)]
    assert got[:300] == list(range(300))                     # tile 0 and the first of tile 1
    lost = 256 + 256 - (len([i for i in got if 256 <= i < 512]) + 256)
    assert 0 < lost < 256 and got[-1] == size - 1 and 512 in got  # tile 2 onwards read
    assert log.skipped == lost and "(rest of the tile unreadable)" in caplog.text


def test_private_addresses_are_refused_unless_allowed(server):
    calls = []
    http = HttpClient(fetch=lambda url, timeout: calls.append(url) or (200, {}, b"{}"))
    with pytest.raises(CtHttpError, match="non-public address 127.0.0.1"):
        http.get(f"http://127.0.0.1:{server.server_address[1]}/log_list.json")
    with pytest.raises(CtHttpError, match="scheme 'file'"):
        http.get("file:///etc/passwd")
    assert calls == []


def test_the_sandbox_tree_is_the_rfc6962_tree_of_its_entries(server):
    http = _client()
    info = _logs(server, http)["static"]
    head = StaticLog(info, http).tree_head()
    hashes, level0 = [], b""
    for n in range((head.tree_size + 255) // 256):
        width = min(256, head.tree_size - n * 256)
        suffix = "" if width == 256 else f".p/{width}"
        reader = Reader(http.get(f"{info.url}tile/data/{n:03d}{suffix}"), "tile")
        for _ in range(width):
            e = read_tile_leaf(reader).entry  # the Merkle leaf is its TimestampedEntry, re-encoded
            entry = timestamped_entry(e.timestamp, e.certificate, e.issuer_key_hash, e.extensions)
            hashes.append(leaf_hash(merkle_leaf(entry)))
        level0 += http.get(f"{info.url}tile/0/{n:03d}{suffix}")
    assert root_from_hashes(hashes) == head.root_hash
    assert level0 == b"".join(hashes)


def test_a_partial_tile_replaced_by_the_full_one_is_read_from_the_full_one(server):
    http = _client()
    log = StaticLog(_logs(server, http)["static"], http)
    size = server.logs["static"].published
    partial = size - size % 256 - 200  # an old head whose last tile was partial and is full now
    got = [e.index for e in log.entries(partial - 10, partial, partial)]
    assert got == list(range(partial - 10, partial))


def test_retry_after_forms_and_backoff_caps():
    import random
    from email.utils import formatdate
    import time as _time

    from crawlers.ct.http import retry_after

    assert retry_after({"Retry-After": "7"}) == 7.0 and retry_after({}) is None
    assert 25 <= retry_after({"retry-after": formatdate(_time.time() + 30, usegmt=True)}) <= 30
    assert retry_after({"Retry-After": "soon"}) is None
    b, rng = Backoff(base=0.5, cap=60, retry_after_cap=300), random.Random(1)
    assert 0.5 <= b.delay(0, None, rng) <= 1.0 and b.delay(20, None, rng) == 60
    assert b.delay(0, 3600, rng) == 300 and b.delay(0, 5, rng) == 5


def test_gzip_bodies_are_decoded_and_a_broken_one_named():
    import gzip

    from crawlers.ct.http import _decode

    assert _decode(gzip.compress(b"tile"), {"Content-Encoding": "gzip"}, "u") == b"tile"
    assert _decode(b"tile", {}, "u") == b"tile"
    with pytest.raises(CtHttpError, match="u: body is not valid gzip"):
        _decode(b"\x1f\x8bnope", {"content-encoding": "gzip"}, "u")
