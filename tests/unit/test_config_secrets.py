"""Credentials come from the environment or files only, never show in reprs, logs or options; the
keyed-hash key rotates without losing track of leaks seen before."""

import argparse
import logging
import re
from datetime import datetime, timezone
from types import SimpleNamespace

import pytest

from brandhound import cluster
from brandhound import commands as cli
from brandhound.config import ConfigError, HmacKey, load_settings
from brandhound.items import Crawl, Leak, Page, Url
from brandhound.mapping import index_name, to_document
from brandhound.profile import load_profile
from crawlers.items import Capture
from detectors.leak_detector import LeakDetector, merge_leak, superseded_ids
from detectors.secret_masking import protect, previous_hmacs
from pipelines.elasticsearch import ElasticsearchPipeline
from tests.support.paths import EXAMPLE_BRAND

API_KEY = "QVBJa2V5LWlkOmFwaS1rZXktc2VjcmV0LXZhbHVl"
PASSWORD = "es-password-Xq81!"
HMAC_KEY = "h" * 20 + "current-hmac-key-value"
OLD_HMAC_KEY = "o" * 20 + "previous-hmac-key-value"


def secrets_env(tmp_path, **extra):
    env = {"BRANDHOUND_HOME": str(tmp_path / "home"), "BRANDHOUND_ES_URL": "https://es.example:9200"}
    (tmp_path / "api.key").write_text(API_KEY + "\n")
    (tmp_path / "previous.keys").write_text(f"# rotated 2026-01\nold-1 {OLD_HMAC_KEY}\n")
    env |= {"BRANDHOUND_ES_API_KEY_FILE": str(tmp_path / "api.key"), "BRANDHOUND_HMAC_KEY": HMAC_KEY,
            "BRANDHOUND_HMAC_PREVIOUS_KEYS_FILE": str(tmp_path / "previous.keys")}
    return env | extra


def assert_no_secret(text: str) -> None:
    for secret in (API_KEY, PASSWORD, HMAC_KEY, OLD_HMAC_KEY):
        assert secret not in text


# --------------------------------------------------------------------------- repr, logs, options


def test_no_secret_in_the_repr_of_settings(tmp_path):
    settings = load_settings(secrets_env(tmp_path))
    assert settings.es.api_key == API_KEY and settings.hmac_key().key == HMAC_KEY.encode()
    assert_no_secret(repr(settings))
    assert_no_secret(repr(settings.hmac_key()))
    assert "old-1" in repr(settings)  # key ids are not secret: they say which key hashed what
    basic = load_settings({"BRANDHOUND_HOME": str(tmp_path), "BRANDHOUND_ES_USERNAME": "crawler",
                           "BRANDHOUND_ES_PASSWORD": PASSWORD})
    assert basic.es.password == PASSWORD
    assert_no_secret(repr(basic) + str(basic.es))


def test_no_secret_in_the_log_of_a_command_or_its_client(tmp_path, monkeypatch, caplog, capsys):
    env = secrets_env(tmp_path, BRANDHOUND_ES_URL="http://127.0.0.1:9", BRANDHOUND_ES_TIMEOUT="2")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    caplog.set_level(logging.DEBUG)
    assert cli.main(["-vv", "es", "status"]) == 1  # nothing listens on port 9
    out = capsys.readouterr()
    assert "unreachable" in out.out
    assert caplog.records, "the command logged nothing at DEBUG: the check would prove nothing"
    assert_no_secret(out.out + out.err + caplog.text)
    assert_no_secret(repr(cluster.make_client(load_settings(env).es)))


def _options(parser: argparse.ArgumentParser, path: str = "brandhound"):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _options(sub, f"{path} {name}")
        else:
            for flag in action.option_strings:
                yield f"{path} {flag}", action


def test_no_command_line_option_takes_a_secret():
    options = list(_options(cli.build_parser()))
    assert any(o == "brandhound es api-key --role" for o, _ in options)  # the walk reaches nested commands
    secret_like = re.compile(r"pass(word)?|passwd|api.?key|secret|token|credential|hmac", re.I)
    # A flag naming a file that holds the secret (``--password-file``) is how secrets should come.
    flags = [(o, o.rsplit(" ", 1)[1], action) for o, action in options]
    offending = [o for o, flag, action in flags
                 if secret_like.search(flag) and action.nargs != 0 and not flag.endswith(("-file", "-path"))]
    assert offending == []


# --------------------------------------------------------------------------- previous keys


def test_previous_keys_from_env_or_file_with_optional_ids(tmp_path):
    key = load_settings(secrets_env(tmp_path)).hmac_key()
    assert [(k.id, k.key) for k in key.previous] == [("old-1", OLD_HMAC_KEY.encode())]
    inline = load_settings({"BRANDHOUND_HOME": str(tmp_path), "BRANDHOUND_HMAC_KEY": HMAC_KEY,
                            "BRANDHOUND_HMAC_PREVIOUS_KEYS": f"{OLD_HMAC_KEY},{HMAC_KEY}"}).hmac_key()
    # The current key among the previous ones is not a previous key; an id defaults to the key's digest.
    assert [k.key for k in inline.previous] == [OLD_HMAC_KEY.encode()]
    assert re.fullmatch(r"[0-9a-f]{12}", inline.previous[0].id)


@pytest.mark.parametrize(("value", "message"), [
    ("short", "entry 1: key too short"),
    (f"# comment\nbad/id {OLD_HMAC_KEY}", "entry 2: key id 'bad/id'"),
    (f"a b {OLD_HMAC_KEY}", "entry 1: expected KEY or KEY_ID KEY"),
])
def test_bad_previous_keys_name_the_variable_and_never_the_key(tmp_path, value, message):
    with pytest.raises(ConfigError, match=message) as raised:
        load_settings({"BRANDHOUND_HOME": str(tmp_path), "BRANDHOUND_HMAC_PREVIOUS_KEYS": value})
    assert "BRANDHOUND_HMAC_PREVIOUS_KEYS" in str(raised.value) and OLD_HMAC_KEY not in str(raised.value)


def test_rotating_away_from_the_generated_key_the_documented_way(tmp_path):
    home = tmp_path / "home"
    generated = load_settings({"BRANDHOUND_HOME": str(home)}).hmac_key()
    (tmp_path / "new.key").write_text(HMAC_KEY + "\n")
    rotated = load_settings({"BRANDHOUND_HOME": str(home), "BRANDHOUND_HMAC_KEY_FILE": str(tmp_path / "new.key"),
                             "BRANDHOUND_HMAC_PREVIOUS_KEYS_FILE": str(home / "keys" / "hmac.key")}).hmac_key()
    assert rotated.key == HMAC_KEY.encode()
    assert [(k.id, k.key) for k in rotated.previous] == [(generated.id, generated.key)]


# --------------------------------------------------------------------------- repeats across a rotation

PROFILE = load_profile(EXAMPLE_BRAND)
OLD = HmacKey(key=OLD_HMAC_KEY.encode(), id="old-1")
NEW = HmacKey(key=HMAC_KEY.encode(), id="new-2", previous=(OLD,))
DUMP = "aino.virtanen@kestrava.com:Summer12!\n"


def leak_seen(key: HmacKey, url: str, when: datetime) -> Leak:
    page = Page(url=Url(full=url), crawl=Crawl(spider="paste", source_type="paste", fetched_at=when))
    capture = Capture(page=page, keep_body=False, dump_text=DUMP)
    LeakDetector(profile=PROFILE, key=key).detect(capture)
    [leak] = capture.leaks
    return leak


def test_a_secret_hashed_under_the_previous_key_is_recognised_and_rehashed():
    old = leak_seen(OLD, "https://pastebay.net/raw/a", datetime(2026, 5, 1, tzinfo=timezone.utc))
    new = leak_seen(NEW, "https://forum.onion/t/9", datetime(2026, 6, 1, tzinfo=timezone.utc))
    assert new.secret.hmac != old.secret.hmac and new.doc_id() != old.doc_id()
    assert previous_hmacs(new.secret) == (old.secret.hmac,)
    assert superseded_ids(new) == [old.doc_id()]
    merged = merge_leak(to_document(old), new)
    assert merged.doc_id() == new.doc_id()
    assert (merged.secret.hmac, merged.secret.key_id) == (new.secret.hmac, "new-2")
    assert merged.threat.indicator.sightings == 2
    assert merged.threat.indicator.first_seen == datetime(2026, 5, 1, tzinfo=timezone.utc)
    assert merged.sources == ["https://pastebay.net/raw/a", "https://forum.onion/t/9"]
    # The previous hashes are no field: they never reach Elasticsearch.
    assert set(to_document(merged)["secret"]) == {"masked", "length", "hmac", "key_id"}
    # Without a rotation nothing changes: a plain Secret, no previous hashes.
    assert type(protect("Summer12!", OLD)).__name__ == "Secret" and superseded_ids(old) == []


class FakeClient:
    """mget and delete over a dict of leak documents; records deletions."""

    def __init__(self, docs: dict[str, dict]):
        self.docs = docs
        self.deleted: list[str] = []

    def mget(self, index, ids):
        return {"docs": [{"_id": i, "found": i in self.docs, **({"_source": self.docs[i]} if i in self.docs else {})}
                         for i in ids]}

    def delete(self, index, id):
        self.deleted.append(id)
        del self.docs[id]


class FakeStore:
    def __init__(self, client: FakeClient, pending: bool = False):
        self.client = client
        self.index_prefix = "bh"
        self.spool = SimpleNamespace(pending=lambda: pending)
        self.closed = False

    def flush(self):
        pass

    def close(self):
        self.closed = True


@pytest.mark.parametrize("spooled", [False, True])
def test_the_crawl_merges_with_the_old_document_and_retires_it_once_indexed(spooled):
    old = leak_seen(OLD, "https://pastebay.net/raw/a", datetime(2026, 5, 1, tzinfo=timezone.utc))
    new = leak_seen(NEW, "https://forum.onion/t/9", datetime(2026, 6, 1, tzinfo=timezone.utc))
    client = FakeClient({old.doc_id(): to_document(old)})
    stats: dict[str, int] = {}
    crawler = SimpleNamespace(stats=SimpleNamespace(set_value=stats.__setitem__))
    pipeline = ElasticsearchPipeline(crawler, FakeStore(client, pending=spooled))
    [merged] = pipeline._merged_leaks([new])
    assert merged.doc_id() == new.doc_id() and merged.threat.indicator.sightings == 2
    assert index_name("bh", Leak) == "bh-leaks"
    pipeline._close_store()
    assert pipeline.store.closed
    if spooled:  # the successor is not indexed yet: the old document stays
        assert client.deleted == [] and "brandhound/es/leaks_rehashed" not in stats
    else:
        assert client.deleted == [old.doc_id()] and stats["brandhound/es/leaks_rehashed"] == 1
