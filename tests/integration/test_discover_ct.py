"""Discovery against the sandbox CT logs on 127.0.0.1 (an RFC 6962 log and a static-ct log holding the
sandbox web's look-alikes among thousands of benign certificates) and a real Elasticsearch: the
look-alikes are found in one poll and nothing benign is, a restart resumes at the stored index, a
log answering 429 is waited for, and the command line does the same."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from brandhound.items import CtCursor
from brandhound.mapping import index_name
from crawlers.ct.http import Backoff, HttpClient
from crawlers.ct.loglist import load_log_list
from operations.discover import Cursors, EsDocs, Progress, run_ct, run_nrd
from sandbox.processes import free_port

ROOT = Path(__file__).resolve().parents[2]
BRANDS = str(ROOT / "examples" / "brands")


@pytest.fixture(scope="module")
def ct_sandbox(tmp_path_factory):
    from sandbox.ct import daemon

    home = tmp_path_factory.mktemp("ct-home")
    state = daemon.up(home, port=free_port())
    truth = json.loads(Path(state["ground_truth"]).read_text())
    yield state, truth
    daemon.down(home)


def _http(sleeps=None):
    return HttpClient(allow_private=True, sleep=sleeps.append if sleeps is not None else (lambda s: None),
                      backoff=Backoff(retries=4))


def _quiet():
    import io

    return Progress(io.StringIO())


def _lookalikes(truth):
    return {c["domain"] for c in truth["certificates"] if c["label"] == "lookalike"}


def _unicode(host):
    from brandhound.urls import unicode_host

    return unicode_host(host)


def test_one_poll_finds_every_lookalike_and_no_benign_certificate(settings, es, ct_sandbox):
    state, truth = ct_sandbox
    assert len(truth["certificates"]) > 3000 and any(c["precert"] for c in truth["certificates"])
    result = run_ct(settings, BRANDS, log_list=state["log_list"], since="start", http=_http(), progress=_quiet())
    sizes = {p["log"]: (p["read"], p["tree_size"], p["skipped"], p["error"]) for p in result["logs"]}
    assert len(sizes) == 2 and all(v == (len(truth["certificates"]),) * 2 + (0, None) for v in sizes.values())
    labels = {c["index"]: c for c in truth["certificates"]}
    flagged = {f["domain"] for f in result["flagged"]}
    assert flagged == {_unicode(d) for d in _lookalikes(truth)}
    assert all(labels[f["index"]]["label"] == "lookalike" for f in result["flagged"])
    prefix = settings.es.index_prefix
    es.indices.refresh(index=f"{prefix}-findings,{prefix}-sites")
    hits = es.search(index=f"{prefix}-findings", size=100, query={"term": {"kind": "lookalike_domain"}})["hits"]["hits"]
    assert len(hits) == len(flagged)
    finding = hits[0]["_source"]
    assert finding["brand"]["id"] == "kestrava" and finding["verdict"] == "flagged"
    evidence = next(s["evidence"] for s in finding["signals"] if s["name"] == "discovered_in")
    assert "issued by CN=brandhound sandbox CA" in evidence and "at index" in evidence
    site = es.get(index=f"{prefix}-sites", id=finding["subject"]["id"])["_source"]
    assert site["tls"]["issuer"].startswith("CN=brandhound sandbox CA") and site["crawl"]["source_type"] == "ct"
    # Both cursors stand at the tree size with nothing left claimed.
    cursors = Cursors(EsDocs(es, index_name(prefix, CtCursor)))
    for info in load_log_list(state["log_list"]):
        cursor = cursors.position(info)
        assert cursor.next_index == len(truth["certificates"]) and cursor.claims == []


def test_a_restart_resumes_at_the_stored_index_with_no_entry_read_twice(settings, ct_sandbox):
    state, truth = ct_sandbox
    size = len(truth["certificates"])
    first = run_ct(settings, BRANDS, log_list=state["log_list"], since="start", claim_entries=500,
                   max_entries=1200, http=_http(), progress=_quiet())
    assert all(p["read"] == 1500 and p["position"] == 1500 for p in first["logs"])
    second = run_ct(settings, BRANDS, log_list=state["log_list"], since="start", claim_entries=500,
                    http=_http(), progress=_quiet())
    assert all(p["read"] == size - 1500 and p["position"] == size for p in second["logs"])
    found = [f["domain"] for f in first["flagged"] + second["flagged"]]
    assert sorted(found) == sorted({_unicode(d) for d in _lookalikes(truth)})  # each once
    third = run_ct(settings, BRANDS, log_list=state["log_list"], since="start", http=_http(), progress=_quiet())
    assert all(p["read"] == 0 for p in third["logs"]) and third["flagged"] == []


def test_a_log_answering_429_and_500_is_retried_and_the_follow_continues(settings, ct_sandbox):
    state, truth = ct_sandbox
    port = state["port"]
    for fault in ("status=429&count=2&retry_after=2", ):
        urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{port}/_sandbox/fault?{fault}", method="POST"))
    sleeps: list[float] = []
    result = run_ct(settings, BRANDS, log_list=state["log_list"], since="start", http=_http(sleeps),
                    progress=_quiet())
    assert len(sleeps) == 2 and all(s >= 2 for s in sleeps)
    assert all(p["error"] is None and p["read"] == len(truth["certificates"]) for p in result["logs"])
    assert len(result["flagged"]) == len(_lookalikes(truth))


def test_the_command_line_and_an_nrd_list(settings, ct_sandbox, tmp_path):
    state, truth = ct_sandbox
    env = dict(os.environ, BRANDHOUND_ES_URL=settings.es.url, BRANDHOUND_ES_INDEX_PREFIX=settings.es.index_prefix,
               BRANDHOUND_SPOOL_DIR=str(settings.spool_dir), BRANDHOUND_CT_ALLOW_PRIVATE="1",
               PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-m", "brandhound.commands", "discover", "ct", "--brands", BRANDS, "--log-list",
                           state["log_list"], "--since", "start"], env=env, capture_output=True, text=True,
                          timeout=300, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(x) for x in proc.stdout.splitlines()]
    assert {x["domain"] for x in lines} == {_unicode(d) for d in _lookalikes(truth)}
    assert "entries/s" in proc.stderr and "lag 0" in proc.stderr
    nrd = tmp_path / "nrd.txt"
    nrd.write_text("\n".join(["birch-harbor.com", "kestrava-sale.shop", "kestrava.com", "nordic-yoga.fi"]) + "\n")
    result = run_nrd(settings, BRANDS, str(nrd))
    assert result["domains"] == 4 and [f["domain"] for f in result["flagged"]] == ["kestrava-sale.shop"]


def test_a_site_already_captured_and_a_triaged_finding_are_left_alone(settings, es, tmp_path):
    from brandhound.items import Finding, Site, Subject
    from brandhound.store import open_store
    from brandhound.urls import url_fields

    site = Site(url=url_fields("https://kestrava-sale.shop/"), title="captured by the surface crawl", page_id="p1")
    finding = Finding(kind="lookalike_domain", score=0.9, threshold=0.7, verdict="flagged", status="confirmed",
                      subject=Subject(index=Site.INDEX, id=site.doc_id(), url=site.url.full))
    from brandhound import cluster

    cluster.init_indices(es, settings.es.index_prefix)
    with open_store(settings) as store:
        store.add(site)
        store.add(finding)
    nrd = tmp_path / "nrd.txt.gz"
    import gzip

    nrd.write_bytes(gzip.compress(b"kestrava-sale.shop\nkestrava-deals.shop\n"))
    result = run_nrd(settings, BRANDS, str(nrd))
    assert [f["domain"] for f in result["flagged"]] == ["kestrava-deals.shop"]  # the other was known
    prefix = settings.es.index_prefix
    assert es.get(index=f"{prefix}-sites", id=site.doc_id())["_source"]["title"] == "captured by the surface crawl"
    assert es.get(index=f"{prefix}-findings", id=finding.doc_id())["_source"]["status"] == "confirmed"


def test_two_workers_on_one_log_never_read_the_same_entry(settings, es, ct_sandbox):
    import threading

    from brandhound import cluster
    from crawlers.ct.client import open_log
    from detectors.discovery import Discoverer
    from operations.discover import Follower, Sink
    from brandhound.profile import load_profiles

    state, truth = ct_sandbox
    cluster.init_indices(es, settings.es.index_prefix)
    docs = EsDocs(es, index_name(settings.es.index_prefix, CtCursor))
    info = next(x for x in load_log_list(state["log_list"]) if x.api == "rfc6962")
    discoverer = Discoverer(load_profiles(BRANDS, detect_only=True))
    read: dict[str, list[int]] = {"a": [], "b": []}

    class Counting:
        def __init__(self, log, seen):
            self.log, self.seen, self.info = log, seen, log.info

        @property
        def skipped(self):
            return self.log.skipped

        def tree_head(self):
            return self.log.tree_head()

        def entries(self, start, end, size):
            for e in self.log.entries(start, end, size):
                self.seen.append(e.index)
                yield e

    class NoStore:
        index_prefix = settings.es.index_prefix

        def add(self, item):
            pass

        def flush(self):
            pass

    def work(worker):
        follower = Follower(discoverer, Cursors(docs, worker), Sink(NoStore()), _http(), since="start",
                            claim_entries=100, progress=_quiet(),
                            opener=lambda i, http, batch: Counting(open_log(i, http, batch), read[worker]))
        follower.poll([info])

    threads = [threading.Thread(target=work, args=(w,)) for w in read]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    both = read["a"] + read["b"]
    assert sorted(both) == list(range(len(truth["certificates"])))  # every entry once, across the two
    assert read["a"] and read["b"]  # and both did part of the work
