"""The discovery job: follow certificate-transparency logs (or read a newly-registered-domains list),
score every name against every brand, and index the flagged ones as candidate sites and findings.

CT: every log of the log list (or ``--log``) is read from where the last run stopped. The resume
point of each log is a :class:`~brandhound.items.CtCursor` document in Elasticsearch; a worker
*claims* a range of entries (appends it to the cursor's claims and moves ``next_index`` past it)
with an optimistic-concurrency write (``if_seq_no``/``if_primary_term``) before reading it, so two
workers never read the same range; a finished range is removed from the claims once its findings
are flushed to the store. A range whose worker died is taken over when its lease has expired
(at-least-once for a crashed worker's range, exactly once otherwise); a range cut short by a
failing log gives back what was not read. A log that fails (transport, signature, a broken
answer) is reported and the others are followed; a malformed entry is logged and skipped by the
client. Progress (entries/s, the lag behind the tree size) goes to standard error.

NRD: a list of newly registered domains (plain text, ``.gz`` or ``.zip``, a file or an http(s) URL),
one domain per line (anything after a comma or a space ignored, ``#`` comments), as openSquat reads them.

A site or finding that is already in Elasticsearch (captured by the surface crawl, triaged by an
analyst) is left as it is: discovery only adds what is new.
"""

from __future__ import annotations

import gzip
import io
import json
import logging
import os
import socket
import sys
import time
import zipfile
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any, Callable, Iterable, Iterator, Protocol, Sequence

from brandhound.items import CtClaim, CtCursor, Finding, Item, Site
from brandhound.mapping import from_document, index_name, to_document
from crawlers.ct.client import DEFAULT_BATCH, CtLog, LoggedCertificate, open_log
from crawlers.ct.http import CtHttpError, HttpClient
from crawlers.ct.loglist import LogInfo, LogListError, load_log_list, log_from_url
from crawlers.ct.sth import SignatureError
from detectors.discovery import CT, NRD, Discoverer, Discovery, Sighting

log = logging.getLogger(__name__)

#: Entries one claim covers: large enough to amortise the cursor writes, small enough to lose little.
CLAIM_ENTRIES = 1024
#: A claim older than this is presumed dead and taken over.
LEASE_S = 600.0
NRD_CHUNK = 5000
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


# --------------------------------------------------------------------------- the cursor


class Conflict(Exception):
    """Another worker wrote the document since it was read."""


class Docs(Protocol):
    """Versioned documents of one index: ``get -> (source, version)``; ``put`` fails on a stale version."""

    def get(self, doc_id: str) -> tuple[dict[str, Any], Any] | None: ...

    def put(self, doc_id: str, source: dict[str, Any], version: Any | None) -> None: ...


class EsDocs:
    """:class:`Docs` in Elasticsearch: realtime GET, writes conditional on ``_seq_no``/``_primary_term``."""

    def __init__(self, client: Any, index: str):
        self.client = client
        self.index = index

    def get(self, doc_id: str) -> tuple[dict[str, Any], Any] | None:
        import elasticsearch

        try:
            resp = self.client.get(index=self.index, id=doc_id)
        except elasticsearch.NotFoundError:
            return None
        return resp["_source"], (resp["_seq_no"], resp["_primary_term"])

    def put(self, doc_id: str, source: dict[str, Any], version: Any | None) -> None:
        import elasticsearch

        body = json.loads(json.dumps(source, default=str))
        try:
            if version is None:
                self.client.index(index=self.index, id=doc_id, document=body, op_type="create")
            else:
                self.client.index(index=self.index, id=doc_id, document=body, if_seq_no=version[0],
                                  if_primary_term=version[1])
        except elasticsearch.ConflictError:
            raise Conflict(doc_id) from None


def start_index(since: str, tree_size: int) -> int:
    """Where a log nobody has read yet is started: ``now`` (its tree size), ``start`` (0) or an index."""
    if since == "now":
        return tree_size
    if since == "start":
        return 0
    if since.isdigit():
        return min(int(since), tree_size)
    raise ValueError(f"--since {since!r}: use now, start or an entry index")


class Cursors:
    """Claims and releases ranges of a log's entries, one conditional write each."""

    def __init__(self, docs: Docs, worker: str | None = None, lease_s: float = LEASE_S,
                 clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)):
        self.docs = docs
        self.worker = worker or f"{socket.gethostname()}:{os.getpid()}"
        self.lease_s = lease_s
        self.clock = clock

    def _read(self, info: LogInfo) -> tuple[CtCursor | None, Any]:
        got = self.docs.get(CtCursor(log_url=info.url, api=info.api).doc_id())
        return (from_document(CtCursor, got[0]), got[1]) if got else (None, None)

    def position(self, info: LogInfo) -> CtCursor | None:
        return self._read(info)[0]

    def _write(self, cursor: CtCursor, version: Any) -> None:
        cursor.event = replace(cursor.event, created=self.clock(), dataset="discover.ct")
        self.docs.put(cursor.doc_id(), to_document(cursor), version)

    def claim(self, info: LogInfo, tree_size: int, since: str = "now", entries: int = CLAIM_ENTRIES) -> CtClaim | None:
        """A range to read, now this worker's: a dead worker's expired claim first, else the next
        ``entries`` unclaimed entries; None when the log has nothing unclaimed below ``tree_size``."""
        while True:
            cursor, version = self._read(info)
            if cursor is None:
                cursor = CtCursor(log_url=info.url, api=info.api, description=info.description,
                                  next_index=start_index(since, tree_size), tree_size=tree_size)
            now = self.clock()
            cursor.tree_size = max(cursor.tree_size or 0, tree_size)
            stale = [c for c in cursor.claims if (now - c.claimed_at).total_seconds() > self.lease_s]
            if stale:
                mine = CtClaim(start=stale[0].start, end=stale[0].end, worker=self.worker, claimed_at=now)
                cursor.claims = [mine if c is stale[0] else c for c in cursor.claims]
            elif cursor.next_index < tree_size:
                mine = CtClaim(start=cursor.next_index, end=min(cursor.next_index + entries, tree_size),
                               worker=self.worker, claimed_at=now)
                cursor.claims.append(mine)
                cursor.next_index = mine.end
            else:
                return None  # all claimed up to the tree size (the size is recorded with the next claim)
            try:
                self._write(cursor, version)
                return mine
            except Conflict:
                continue  # somebody else claimed meanwhile: read again and take the next range

    def release(self, info: LogInfo, claim: CtClaim, upto: int | None = None) -> None:
        """The claim is done up to ``upto`` (default: all of it). What was not read stays claimed
        with an expired lease, so the next worker takes it over at once."""
        upto = claim.end if upto is None else upto
        while True:
            cursor, version = self._read(info)
            if cursor is None:
                return
            kept = [c for c in cursor.claims if not (c.start == claim.start and c.worker == claim.worker)]
            if upto < claim.end:
                kept.append(CtClaim(start=upto, end=claim.end, worker=claim.worker, claimed_at=_EPOCH))
            cursor.claims = sorted(kept, key=lambda c: c.start)
            try:
                self._write(cursor, version)
                return
            except Conflict:
                continue


# --------------------------------------------------------------------------- writing what was found


class Sink:
    """Writes discoveries through the store, leaving documents that already exist alone."""

    def __init__(self, store: Any, client: Any | None = None):
        self.store = store
        self.client = client
        self.written: list[Discovery] = []
        self._seen: set[str] = set()  # finding ids written by this run (the store may not have flushed them)

    def _existing(self, item_type: type[Item], ids: list[str]) -> set[str]:
        if self.client is None or not ids:
            return set()
        import elasticsearch

        try:
            resp = self.client.mget(index=index_name(self.store.index_prefix, item_type), ids=ids)
        except elasticsearch.NotFoundError:
            return set()
        except (elasticsearch.TransportError, elasticsearch.ApiError) as exc:
            log.warning("discover: cannot check which %s exist (%s); writing them all", item_type.INDEX, exc)
            return set()
        return {d["_id"] for d in resp["docs"] if d.get("found")}

    def write(self, found: Sequence[Discovery]) -> int:
        """Adds the new sites and findings; returns how many findings were new."""
        if not found:
            return 0
        sites = self._existing(Site, [d.site.doc_id() for d in found])
        findings = self._existing(Finding, [d.finding.doc_id() for d in found])
        new = 0
        for d in found:
            if d.finding.doc_id() in self._seen:
                continue
            if d.site.doc_id() not in sites:
                self.store.add(d.site)
            if d.finding.doc_id() not in findings:
                self.store.add(d.finding)
                self.written.append(d)
                self._seen.add(d.finding.doc_id())
                new += 1
        return new

    def flush(self) -> None:
        self.store.flush()


# --------------------------------------------------------------------------- progress


@dataclass
class LogProgress:
    name: str
    tree_size: int = 0
    read: int = 0
    position: int = 0
    flagged: int = 0
    skipped: int = 0
    error: str | None = None
    started: float = field(default_factory=time.monotonic)

    def rate(self) -> float:
        return self.read / max(time.monotonic() - self.started, 1e-6)

    def line(self) -> str:
        lag = max(self.tree_size - self.position, 0)
        text = (f"ct {self.name}: at {self.position:,} of {self.tree_size:,} (lag {lag:,}), {self.read:,} entries "
                f"read, {self.rate():,.0f} entries/s, {self.flagged} flagged")
        return text + (f", {self.skipped} malformed skipped" if self.skipped else "") + \
            (f"; FAILED: {self.error}" if self.error else "")


class Progress:
    """One line per log on ``out`` at most every ``every`` seconds, and when a log is done."""

    def __init__(self, out: IO[str] | None = None, every: float = 2.0):
        self.out = out if out is not None else sys.stderr
        self.every = every
        self._last = 0.0

    def tick(self, p: LogProgress, force: bool = False) -> None:
        now = time.monotonic()
        if force or now - self._last >= self.every:
            self._last = now
            print(p.line(), file=self.out, flush=True)


# --------------------------------------------------------------------------- CT


def sightings_of(entry: LoggedCertificate) -> list[Sighting]:
    f = entry.facts
    return [Sighting(name, CT, entry.log, entry.index, entry.timestamp, f.issuer, f.not_before, f.not_after,
                     entry.precert) for name in f.names]


@dataclass
class Follower:
    """Reads every log once up to its current tree size (one poll), claiming as it goes."""

    discoverer: Discoverer
    cursors: Cursors
    sink: Sink
    http: HttpClient
    since: str = "now"
    claim_entries: int = CLAIM_ENTRIES
    batch: int = DEFAULT_BATCH
    max_entries: int | None = None          # per log and poll; None: catch up fully
    progress: Progress = field(default_factory=Progress)
    opener: Callable[[LogInfo, HttpClient, int], CtLog] = open_log

    def poll(self, logs: Sequence[LogInfo]) -> list[LogProgress]:
        out = []
        for info in logs:
            try:
                out.append(self.follow(info))
            except Exception as exc:  # Elasticsearch away, a bug on one log's data: the other logs go on
                log.exception("ct: %s: following failed", info.url)
                p = LogProgress(info.name, error=f"{type(exc).__name__}: {exc}")
                self.progress.tick(p, force=True)
                out.append(p)
        return out

    def follow(self, info: LogInfo) -> LogProgress:
        p = LogProgress(info.name)
        client = self.opener(info, self.http, self.batch)
        try:
            head = client.tree_head()
        except (CtHttpError, SignatureError) as exc:
            p.error = str(exc)
            log.error("ct: %s: %s", info.url, exc)
            self.progress.tick(p, force=True)
            return p
        p.tree_size = head.tree_size
        cursor = self.cursors.position(info)
        p.position = cursor.next_index if cursor else start_index(self.since, head.tree_size)
        while self.max_entries is None or p.read < self.max_entries:
            claim = self.cursors.claim(info, head.tree_size, self.since, self.claim_entries)
            if claim is None:
                break
            done = claim.start
            try:
                pending: list[Sighting] = []
                for entry in client.entries(claim.start, claim.end, head.tree_size):
                    pending += sightings_of(entry)
                    p.read += 1
                    done = entry.index + 1
                    if len(pending) >= 2000:
                        p.flagged += self.sink.write(self.discoverer.discover(pending))
                        pending = []
                        p.position = max(p.position, done)
                        self.progress.tick(p)
                p.flagged += self.sink.write(self.discoverer.discover(pending))
                self.sink.flush()
                done = claim.end  # entries skipped as malformed at the end of the range count as read
            except CtHttpError as exc:
                self.sink.flush()
                p.error = str(exc)
                log.error("ct: %s: %s (entries %d-%d given back)", info.url, exc, done, claim.end - 1)
                self.cursors.release(info, claim, done)
                break
            self.cursors.release(info, claim)
            p.position = max(p.position, claim.end)
            p.skipped = client.skipped
            self.progress.tick(p)
        p.skipped = client.skipped
        self.progress.tick(p, force=True)
        return p


def ct_logs(log_list: str | None, log_urls: Sequence[str], http: HttpClient) -> list[LogInfo]:
    """The logs to follow: the log list's, plus every ``--log URL``."""
    logs = load_log_list(log_list, http.get) if log_list else []
    known = {x.url for x in logs}
    return logs + [x for x in (log_from_url(u) for u in log_urls) if x.url not in known]


# --------------------------------------------------------------------------- NRD


def nrd_names(source: str, http: HttpClient | None = None) -> Iterator[str]:
    """Domains of a newly-registered-domains list: a path or URL, plain text, gzip or zip."""
    if source.startswith(("http://", "https://")):
        raw = (http or HttpClient.from_env()).get(source)
    else:
        raw = Path(source).read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise ValueError(f"{source}: not a readable gzip file: {exc}") from None
        texts: Iterable[bytes] = [raw]
    elif raw[:4] == b"PK\x03\x04":
        try:
            archive = zipfile.ZipFile(io.BytesIO(raw))
            texts = [archive.read(i) for i in archive.infolist() if not i.is_dir()]
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            raise ValueError(f"{source}: not a readable zip file: {exc}") from None
    else:
        texts = [raw]
    for text in texts:
        for line in text.decode("utf-8", errors="replace").splitlines():
            name = line.strip().split("#", 1)[0].replace(",", " ").split(" ", 1)[0].strip().lower().rstrip(".")
            if name and "." in name:
                yield name


def discover_nrd(source: str, discoverer: Discoverer, sink: Sink, http: HttpClient | None = None,
                 out: IO[str] | None = None) -> dict[str, Any]:
    out = out if out is not None else sys.stderr
    started, read, flagged = time.monotonic(), 0, 0
    now = datetime.now(timezone.utc)
    chunk: list[Sighting] = []
    for name in nrd_names(source, http):
        chunk.append(Sighting(name, NRD, logged_at=now, list_source=source))
        read += 1
        if len(chunk) >= NRD_CHUNK:
            flagged += sink.write(discoverer.discover(chunk, now))
            chunk = []
    flagged += sink.write(discoverer.discover(chunk, now))
    sink.flush()
    rate = read / max(time.monotonic() - started, 1e-6)
    print(f"nrd {source}: {read:,} domains, {rate:,.0f} domains/s, {flagged} flagged", file=out, flush=True)
    return {"source": source, "domains": read, "flagged": flagged}


# --------------------------------------------------------------------------- the commands


def _setup(settings: Any, brands: str, job_id: str | None) -> tuple[Discoverer, Any, Sink]:
    from brandhound import cluster
    from brandhound.profile import load_profiles
    from brandhound.store import open_store

    profiles = load_profiles(brands, detect_only=True)
    client = cluster.make_client(settings.es)
    cluster.init_indices(client, settings.es.index_prefix)
    store = open_store(settings, spool_dir=settings.spool_dir / "discover")
    return Discoverer(profiles, job_id=job_id), client, Sink(store, client)


def _summary(found: Sequence[Discovery]) -> list[dict[str, Any]]:
    return [{"domain": d.site.url.domain, "url": d.site.url.full, "brand": d.brand.id, "score": d.score.score,
             "source": d.sighting.source, "log": d.sighting.log, "index": d.sighting.index,
             "finding_id": d.finding.doc_id()} for d in found]


def seeds_of(summary: dict[str, Any]) -> list[str]:
    """The surface crawl's seeds from a discovery run's summary: the new flagged URLs, sorted, each once."""
    return sorted({f["url"] for f in summary["flagged"]})


def seed_event_extra(seeds: Sequence[str]) -> dict[str, Any]:
    """The extra of the ``brandhound-discovered`` Asset event, which the surface crawl reads its seeds from."""
    if not seeds:
        raise ValueError("a discovery Asset event without seeds would start a surface crawl with nothing to crawl")
    return {"seeds": list(seeds)}


def run_ct(settings: Any, brands: str, *, log_list: str | None = None, log_urls: Sequence[str] = (),
           since: str = "now", follow: bool = False, interval: float = 60.0, claim_entries: int = CLAIM_ENTRIES,
           max_entries: int | None = None, job_id: str | None = None, http: HttpClient | None = None,
           progress: Progress | None = None) -> dict[str, Any]:
    """One poll of every log (``follow``: poll every ``interval`` seconds until interrupted); the flagged."""
    if not log_list and not log_urls:
        raise ValueError("discover ct needs --log-list FILE|URL or at least one --log URL")
    start_index(since, 0)  # refuse a bad --since before any network
    http = http or HttpClient.from_env()
    discoverer, client, sink = _setup(settings, brands, job_id)
    # `brandhound es init` made the cursor index (here _setup's init_indices, with admin rights),
    # so the crawler role only reads and writes it.
    docs = EsDocs(client, index_name(settings.es.index_prefix, CtCursor))
    follower = Follower(discoverer, Cursors(docs), sink, http, since, claim_entries, max_entries=max_entries,
                        progress=progress or Progress())
    polls: list[LogProgress] = []
    try:
        while True:
            try:
                polls = follower.poll(ct_logs(log_list, log_urls, http))
            except (CtHttpError, LogListError) as exc:
                if not follow:
                    raise
                log.error("ct: the log list is unreadable (%s); trying again in %.0f s", exc, interval)
            if not follow:
                break
            time.sleep(interval)
    except KeyboardInterrupt:
        pass
    finally:
        sink.store.close()
        client.close()
    return {"logs": [{"log": p.name, "tree_size": p.tree_size, "position": p.position, "read": p.read,
                      "flagged": p.flagged, "skipped": p.skipped, "error": p.error} for p in polls],
            "names_scored": discoverer.scored, "flagged": _summary(sink.written)}


def run_nrd(settings: Any, brands: str, source: str, job_id: str | None = None,
            http: HttpClient | None = None) -> dict[str, Any]:
    discoverer, client, sink = _setup(settings, brands, job_id)
    try:
        result = discover_nrd(source, discoverer, sink, http)
    finally:
        sink.store.close()
        client.close()
    return result | {"flagged": _summary(sink.written)}


EXPECTED = (CtHttpError, LogListError, ValueError, OSError)
