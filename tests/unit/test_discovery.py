"""Discovery: names scored against every brand, candidates with their certificate as evidence, the
per-log cursor (claims, conflicts, leases) and a follow that resumes with no entry read twice."""

import gzip
import io
import shutil
import zipfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from brandhound.profile import load_profiles
from crawlers.ct.certs import CertificateFacts
from crawlers.ct.client import LoggedCertificate
from crawlers.ct.http import CtHttpError
from crawlers.ct.loglist import LogInfo
from crawlers.ct.sth import TreeHead
from detectors.discovery import Discoverer, Sighting, multi_brand_scorer, per_brand_scorer, site_name
from operations.discover import Conflict, Cursors, Follower, Progress, Sink, nrd_names, start_index

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 12, 3, 12, 0, tzinfo=timezone.utc)
OTHER = """id: nordvik
name: Nordvik Bank
names: [Nordvik]
official_domains: [nordvikbank.fi]
threshold: 0.7
"""


@pytest.fixture(scope="module")
def brands(tmp_path_factory):
    directory = tmp_path_factory.mktemp("brands")
    shutil.copytree(ROOT / "examples" / "brands" / "kestrava", directory / "kestrava")
    (directory / "nordvik.yaml").write_text(OTHER)
    return load_profiles(directory, detect_only=True)


@pytest.fixture(scope="module")
def discoverer(brands):
    return Discoverer(brands, job_id="job-1")


def _ct(name, index=7):
    return Sighting(name, "ct", log="https://ct.example/log/", index=index, logged_at=NOW,
                    issuer="CN=R11,O=Let's Encrypt,C=US", not_before=NOW - timedelta(minutes=5),
                    not_after=NOW + timedelta(days=90), precert=True)


def test_look_alikes_of_every_brand_are_flagged_with_their_brand(discoverer):
    names = ["kestrava-outlet.shop", "www.nordvik-bank-login.com", "kestrava.com", "shop.kestrava.com",
             "birch-harbor.com", "nordvikbank.fi", "example.org"]
    found = {d.site.url.domain: d for d in discoverer.discover([_ct(n, i) for i, n in enumerate(names)], NOW)}
    assert set(found) == {"kestrava-outlet.shop", "nordvik-bank-login.com"}
    assert found["kestrava-outlet.shop"].finding.brand.id == "kestrava"
    assert found["nordvik-bank-login.com"].finding.brand.id == "nordvik"
    assert found["nordvik-bank-login.com"].sighting.index == 1


def test_the_candidate_carries_the_certificate_as_evidence(discoverer):
    (d,) = discoverer.discover([_ct("késtrava.com")], NOW)
    assert d.site.url.full == "https://xn--kstrava-bya.com/" and d.site.tls.issuer == "CN=R11,O=Let's Encrypt,C=US"
    assert d.site.tls.not_before == NOW - timedelta(minutes=5) and d.site.crawl.source_type == "ct"
    f = d.finding
    assert (f.kind, f.verdict, f.subject.index, f.subject.id) == ("lookalike_domain", "flagged", "sites", d.site.doc_id())
    assert f.score >= 0.7 and f.crawl.job_id == "job-1" and f.threat.indicator.type == "domain-name"
    seen = [s for s in f.signals if s.name == "discovered_in"]
    assert seen[0].weight == 0 and seen[0].value == "https://ct.example/log/"
    assert "precertificate for késtrava.com issued by CN=R11,O=Let's Encrypt,C=US" in seen[0].evidence
    assert "at index 7" in f.explanation and "imitates kestrava.com" in f.explanation


def test_both_brand_scorers_give_each_name_its_best_brand(brands):
    names = ["kestrava-outlet.shop", "nordvik-bank-login.com", "birch-harbor.com"]
    for make in (per_brand_scorer, multi_brand_scorer):
        got = make(brands)(names)
        assert [b for b, _ in got[:2]] == ["kestrava", "nordvik"], make.__name__
        assert got[0][1].score >= 0.7 and got[1][1].score >= 0.7 and got[2][1].score < 0.7


def test_one_candidate_per_name_in_a_batch():
    assert site_name("WWW.Kestrava-Outlet.shop.") == "kestrava-outlet.shop" and site_name("www.com") == "www.com"


def test_since():
    assert (start_index("now", 50), start_index("start", 50), start_index("20", 50), start_index("99", 50)) == \
        (50, 0, 20, 50)
    with pytest.raises(ValueError, match="--since 'yesterday'"):
        start_index("yesterday", 5)


# --------------------------------------------------------------------------- the cursor


class MemoryDocs:
    """Versioned documents like Elasticsearch's seq_no: a put with a stale version conflicts."""

    def __init__(self):
        self.docs = {}
        self.interfere = None  # called once before a put: another worker writing in between

    def get(self, doc_id):
        got = self.docs.get(doc_id)
        return (dict(got[0]), got[1]) if got else None

    def put(self, doc_id, source, version):
        if self.interfere:
            hook, self.interfere = self.interfere, None
            hook()
        current = self.docs.get(doc_id)
        if (current is None) != (version is None) or (current and current[1] != version):
            raise Conflict(doc_id)
        self.docs[doc_id] = (source, (current[1] + 1) if current else 1)


LOG = LogInfo("https://ct.example/log/", "rfc6962", description="example log")


def test_claims_are_consecutive_and_two_workers_never_get_the_same_range():
    docs = MemoryDocs()
    a, b = Cursors(docs, "a"), Cursors(docs, "b")
    first = a.claim(LOG, 2500, "start", 1000)
    # b claims between a's read and its write: a's write conflicts, a reads again and takes the next range.
    docs.interfere = lambda: b.claim(LOG, 2500, "start", 1000)
    second = a.claim(LOG, 2500, "start", 1000)
    ranges = sorted((c.start, c.end, c.worker) for c in a.position(LOG).claims)
    assert (first.start, first.end) == (0, 1000) and (second.start, second.end) == (2000, 2500)
    assert ranges == [(0, 1000, "a"), (1000, 2000, "b"), (2000, 2500, "a")]
    assert a.claim(LOG, 2500, "start", 1000) is None and a.position(LOG).next_index == 2500


def test_a_dead_workers_claim_is_taken_over_after_its_lease_and_a_partial_one_given_back():
    docs = MemoryDocs()
    clock = [NOW]
    dead, alive = Cursors(docs, "dead", 600, lambda: clock[0]), Cursors(docs, "alive", 600, lambda: clock[0])
    lost = dead.claim(LOG, 5000, "start", 1000)
    assert (alive.claim(LOG, 5000, "start", 1000).start) == 1000  # within the lease: a new range
    clock[0] = NOW + timedelta(seconds=601)
    taken = alive.claim(LOG, 5000, "start", 1000)
    assert (taken.start, taken.end, taken.worker) == (lost.start, lost.end, "alive")
    alive.release(LOG, taken, upto=400)  # the log failed at 400: the rest is claimable at once
    again = dead.claim(LOG, 5000, "start", 1000)
    assert (again.start, again.end) == (400, 1000)


# --------------------------------------------------------------------------- following


class FakeLog:
    """A log whose tree grows, counting every entry it hands out."""

    def __init__(self, info, names, fail_at=None):
        self.info, self.names, self.size, self.skipped = info, names, 0, 0
        self.handed: list[int] = []
        self.fail_at = fail_at

    def tree_head(self):
        return TreeHead(self.size, 0, b"\0" * 32)

    def entries(self, start, end, tree_size):
        for i in range(start, end):
            if i == self.fail_at:
                self.fail_at = None
                raise CtHttpError("HTTP 503, 5 retries spent")
            self.handed.append(i)
            yield LoggedCertificate(self.info.url, i, NOW, False,
                                    CertificateFacts((self.names(i),), "CN=CA", NOW, NOW, "1"))


class MemorySink(Sink):
    def __init__(self):
        super().__init__(store=None)
        self.items = []

    def write(self, found):
        self.items += found
        self.written += found
        return len(found)

    def flush(self):
        pass


def _names(i):
    return "kestrava-outlet.shop" if i == 1500 else "secure-kestrava.net" if i == 2600 else f"site{i}.example.org"


def _follower(discoverer, docs, log, sink, worker):
    return Follower(discoverer, Cursors(docs, worker), sink, http=None, since="start", claim_entries=256,
                    progress=Progress(io.StringIO()), opener=lambda info, http, batch: log)


def test_a_restart_resumes_at_the_stored_index_and_reads_no_entry_twice(discoverer):
    docs, sink = MemoryDocs(), MemorySink()
    log = FakeLog(LOG, _names)
    log.size = 2000
    (p,) = _follower(discoverer, docs, log, sink, "w1").poll([LOG])
    assert (p.read, p.position, p.tree_size, p.flagged) == (2000, 2000, 2000, 1)
    log.size = 3000  # the log grew while nobody watched; a new process starts
    (p,) = _follower(discoverer, docs, log, sink, "w2").poll([LOG])
    assert (p.read, p.position) == (1000, 3000)
    assert log.handed == list(range(3000))  # every entry once, none twice
    assert [d.site.url.domain for d in sink.items] == ["kestrava-outlet.shop", "secure-kestrava.net"]
    assert Cursors(docs).position(LOG).claims == []


def test_a_log_failing_mid_range_gives_back_the_rest_and_the_next_poll_continues_there(discoverer):
    docs, sink = MemoryDocs(), MemorySink()
    log = FakeLog(LOG, _names, fail_at=700)
    log.size = 1000
    out = io.StringIO()
    follower = _follower(discoverer, docs, log, sink, "w1")
    follower.progress = Progress(out)
    (p,) = follower.poll([LOG])
    assert p.error and p.read == 700 and "FAILED" in out.getvalue() and "lag" in out.getvalue()
    (p,) = _follower(discoverer, docs, log, sink, "w2").poll([LOG])
    assert p.error is None and log.handed == list(range(1000))


def test_a_log_that_breaks_the_follow_is_reported_and_the_next_log_still_followed(discoverer):
    docs, sink = MemoryDocs(), MemorySink()
    good = FakeLog(LogInfo("https://good.example/", "rfc6962"), _names)
    good.size = 300

    class Broken(FakeLog):
        def tree_head(self):
            raise RuntimeError("the cursor store is away")

    broken = Broken(LOG, _names)
    follower = _follower(discoverer, docs, None, sink, "w1")
    follower.opener = lambda info, http, batch: broken if info is LOG else good
    first, second = follower.poll([LOG, good.info])
    assert "RuntimeError: the cursor store is away" in first.error
    assert second.error is None and second.read == 300


def test_a_name_seen_twice_in_one_run_is_written_once(discoverer):
    class Store:
        added = []

        def add(self, item):
            self.added.append(item)

    sink = Sink(Store())
    first = discoverer.discover([_ct("kestrava-outlet.shop", 1)], NOW)
    again = discoverer.discover([_ct("kestrava-outlet.shop", 900)], NOW)  # a later batch, not yet flushed
    assert sink.write(first) == 1 and sink.write(again) == 0
    assert [type(i).__name__ for i in Store.added] == ["Site", "Finding"] and len(sink.written) == 1


def test_nrd_lists_plain_gzip_and_zip(tmp_path):
    text = "# newly registered 2026-12-02\nkestrava-outlet.shop\nExample.ORG.\nbad\nsecure-kestrava.net,2026-12-02\n\n"
    (tmp_path / "nrd.txt").write_text(text)
    (tmp_path / "nrd.txt.gz").write_bytes(gzip.compress(text.encode()))
    with zipfile.ZipFile(tmp_path / "nrd.zip", "w") as z:
        z.writestr("domain-names.txt", text)
    expected = ["kestrava-outlet.shop", "example.org", "secure-kestrava.net"]
    for name in ("nrd.txt", "nrd.txt.gz", "nrd.zip"):
        assert list(nrd_names(str(tmp_path / name))) == expected
    (tmp_path / "broken.gz").write_bytes(gzip.compress(text.encode())[:20])
    with pytest.raises(ValueError, match="broken.gz: not a readable gzip"):
        list(nrd_names(str(tmp_path / "broken.gz")))
