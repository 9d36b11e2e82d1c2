"""Tile paths (C2SP tlog-tiles), checkpoints (signed notes with an RFC6962NoteSignature), get-sth, log lists."""

import base64
import json

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from crawlers.ct import sth
from crawlers.ct.loglist import RFC6962, STATIC, LogListError, load_log_list, log_from_url, parse_log_list
from crawlers.ct.tiles import DataTile, data_tiles, decode_index, encode_index, tile_path
from crawlers.ct.wire import Malformed


@pytest.mark.parametrize("n, path", [(0, "000"), (7, "007"), (999, "999"), (1000, "x001/000"),
                                     (1234067, "x001/x234/067"), (10**9, "x001/x000/x000/000")])
def test_tile_index_encoding(n, path):
    assert encode_index(n) == path
    assert decode_index(path) == n


def test_tile_paths_full_and_partial():
    assert tile_path(0, 1234067) == "tile/0/x001/x234/067"
    assert tile_path("data", 5, 112) == "tile/data/005.p/112"
    with pytest.raises(ValueError):
        tile_path("data", 5, 256)
    for bad in ("1234", "x01/000", "001/002", "x001/12"):
        with pytest.raises(ValueError):
            decode_index(bad)


def test_data_tiles_for_a_range():
    # 70,000 entries: 273 full tiles and a partial one of 112 (the spec's example).
    assert data_tiles(69_900, 70_000, 70_000) == [DataTile(273, 112, 69_888)]
    assert data_tiles(69_900, 70_000, 70_000)[0].path == "tile/data/273.p/112"
    assert [t.index for t in data_tiles(250, 600, 70_000)] == [0, 1, 2]
    assert data_tiles(256, 512, 512) == [DataTile(1, 256, 256)]
    assert data_tiles(10, 10, 100) == []


@pytest.fixture(scope="module")
def key():
    private = ec.generate_private_key(ec.SECP256R1())
    return private, private.public_key().public_bytes(serialization.Encoding.DER,
                                                      serialization.PublicFormat.SubjectPublicKeyInfo)


def _head(private, size=1234, ts=1_700_000_000_000, root=b"\x11" * 32):
    sig = private.sign(sth.tree_head_signed_data(size, ts, root), ec.ECDSA(hashes.SHA256()))
    return sth.TreeHead(size, ts, root, sth.digitally_signed(sig))


def test_checkpoint_round_trip_and_verification(key):
    private, public = key
    text = sth.format_checkpoint("ct.example.org/2026h1", _head(private), public)
    origin, size, root = text.split("\n")[:3]
    assert (origin, size, base64.b64decode(root)) == ("ct.example.org/2026h1", "1234", b"\x11" * 32)
    head = sth.parse_checkpoint(text, "test", public)
    assert (head.tree_size, head.timestamp, head.origin) == (1234, 1_700_000_000_000, "ct.example.org/2026h1")
    # A witness's cosignature is ignored, whatever it holds.
    witnessed = text + f"\u2014 witness.example {base64.b64encode(b'abcd' + b'x' * 72).decode()}\n"
    assert sth.parse_checkpoint(witnessed, "test", public).witnesses == ("witness.example",)


def test_checkpoint_tampered_size_or_foreign_key_fails(key):
    private, public = key
    text = sth.format_checkpoint("ct.example.org/2026h1", _head(private), public)
    with pytest.raises(sth.SignatureError, match="not signed by the log's key"):
        sth.parse_checkpoint(text.replace("\n1234\n", "\n1235\n"), "test", public)
    other = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    with pytest.raises(Malformed, match="no signature by the log"):
        sth.parse_checkpoint(text, "test", other)


@pytest.mark.parametrize("text, why", [
    ("origin\n12\n", "blank line"),
    ("origin\ntwelve\nAAAA\n\n\u2014 origin AAAA\n", "not a number"),
    ("origin\n12\n" + base64.b64encode(b"x" * 31).decode() + "\n\n\u2014 origin AAAA\n", "not 32"),
    ("origin\n12\n" + base64.b64encode(b"x" * 32).decode() + "\next\n\n\u2014 origin AAAA\n", "extension"),
])
def test_malformed_checkpoints_say_why(text, why):
    with pytest.raises(Malformed, match=why):
        sth.parse_checkpoint(text, "test")


def test_get_sth_json(key):
    private, public = key
    head = _head(private, 99)
    data = {"tree_size": 99, "timestamp": head.timestamp, "sha256_root_hash": base64.b64encode(head.root_hash).decode(),
            "tree_head_signature": base64.b64encode(head.signature).decode()}
    sth.verify(sth.parse_sth_json(data, "log"), public, "log")
    with pytest.raises(sth.SignatureError):
        sth.verify(sth.parse_sth_json(data | {"tree_size": 100}, "log"), public, "log")
    with pytest.raises(Malformed, match="lacks 'tree_size'"):
        sth.parse_sth_json({"timestamp": 1}, "log")


LOG_LIST = {
    "version": "45.3", "log_list_timestamp": "2026-11-30T12:55:27Z",
    "operators": [
        {"name": "Google", "email": ["x@example.com"], "logs": [
            {"description": "Google 'Argon2026h2' log", "log_id": "abc=", "key": "MFkw", "url": "https://ct.googleapis.com/logs/us1/argon2026h2",
             "mmd": 86400, "state": {"usable": {"timestamp": "2025-01-01T00:00:00Z"}}},
            {"description": "old", "url": "https://ct.example/old/", "state": {"retired": {"timestamp": "x"}}},
            {"description": "no url"},
        ], "tiled_logs": []},
        {"name": "Let's Encrypt", "logs": [], "tiled_logs": [
            {"description": "Let's Encrypt 'Willow2026h2'", "submission_url": "https://willow.ct.letsencrypt.org/2026h2/",
             "monitoring_url": "https://mon.willow.ct.letsencrypt.org/2026h2/", "state": {"qualified": {}}}]},
        "not an operator",
    ],
}


def test_log_list_v3(tmp_path, caplog):
    logs = parse_log_list(LOG_LIST, "list.json")
    assert [(x.api, x.url, x.operator) for x in logs] == [
        (RFC6962, "https://ct.googleapis.com/logs/us1/argon2026h2/", "Google"),
        (STATIC, "https://mon.willow.ct.letsencrypt.org/2026h2/", "Let's Encrypt")]
    assert logs[1].submission_url == "https://willow.ct.letsencrypt.org/2026h2/" and logs[0].mmd == 86400
    assert "has no usable url" in caplog.text and "operators[2] is not an object" in caplog.text
    assert len(parse_log_list(LOG_LIST, "list.json", states=None)) == 3
    path = tmp_path / "list.json"
    path.write_text(json.dumps(LOG_LIST))
    assert load_log_list(str(path)) == logs
    assert load_log_list("https://example/list.json", get=lambda url: json.dumps(LOG_LIST).encode()) == logs


def test_log_list_errors_name_the_source(tmp_path):
    with pytest.raises(LogListError, match="missing.json: cannot read"):
        load_log_list(str(tmp_path / "missing.json"))
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(LogListError, match="bad.json: the log list is not JSON"):
        load_log_list(str(tmp_path / "bad.json"))
    with pytest.raises(LogListError, match="x: not a log list"):
        parse_log_list([], "x")


def test_log_from_the_command_line():
    assert log_from_url("https://ct.example/log").url == "https://ct.example/log/"
    assert log_from_url("static:https://mon.example/2026h2").api == STATIC
