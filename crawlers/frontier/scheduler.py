"""scrapy-redis's scheduler on a leased queue: many workers, one frontier, nothing lost when one dies.

Each worker process registers under a fresh id, keeps a heartbeat key alive (TTL
``FRONTIER_LEASE_TTL``) from a thread of its own (so seconds of CPU work in the reactor, such as
hashing the official photos, never make a live worker look dead), and leases what it pops. A
lease is acknowledged when its request has left Scrapy's engine: its callback or errback ran,
the requests it yielded are in the frontier, its items went through every pipeline, and then the
Elasticsearch pipeline's buffer was flushed (group commit: one flush per tick acknowledges
everything that finished before it), so a worker killed at any moment loses no document of an
acknowledged request. A redirect or retry is queued
as a new request before the old one leaves the engine, so it is acknowledged only then too.

Every tick (``FRONTIER_TICK``), a worker acknowledges what finished, puts back the leases of
workers whose heartbeat expired, and wakes its engine when the shared queue has work. A worker
closes when the frontier is drained: nothing queued and nothing leased by any live worker (which
could still yield new requests), for ``FRONTIER_IDLE_GRACE`` seconds.

Seeding is idempotent through the shared duplicate filter: every worker yields its spider's
start requests, and the first to add one to the filter queues it; the others' copies are
duplicates, and so are all of them when a stopped crawl is resumed.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid

from scrapy import Request, signals
from scrapy.utils.misc import load_object
from scrapy_redis.connection import get_redis_from_settings
from scrapy_redis.scheduler import Scheduler
from twisted.internet import task
from twisted.internet.defer import Deferred, succeed
from twisted.internet.threads import deferToThread

from crawlers.frontier.keys import FrontierKeys
from crawlers.frontier.queue import LeasedQueue

log = logging.getLogger(__name__)


class FrontierScheduler(Scheduler):
    """The Redis scheduler of one worker of a shared frontier."""

    def __init__(self, crawler, server, keys: FrontierKeys):
        s = crawler.settings
        super().__init__(server, persist=True, queue_key=keys.queue, dupefilter_key=keys.bloom,
                         dupefilter_cls=s.get("DUPEFILTER_CLASS"), serializer=None)
        self.crawler, self.keys = crawler, keys
        self.stats = crawler.stats
        self.worker = f"{s.get('BOT_NAME', 'worker')}-{uuid.uuid4().hex[:10]}"
        self.lease_ttl = s.getfloat("FRONTIER_LEASE_TTL")
        self.tick = s.getfloat("FRONTIER_TICK")
        self.idle_grace = s.getfloat("FRONTIER_IDLE_GRACE")
        self.retain = s.getint("FRONTIER_RETAIN_SECONDS")
        #: Requests this worker leased, by lease id, until they have left the engine.
        self._leased: dict[str, Request] = {}
        self._drained_since: float | None = None
        self._loops: list[task.LoopingCall] = []
        self._stop_heartbeat = threading.Event()
        self._heartbeat_thread = threading.Thread(target=self._heartbeat_forever, name="frontier-heartbeat",
                                                  daemon=True)

    @classmethod
    def from_crawler(cls, crawler) -> FrontierScheduler:
        s = crawler.settings
        if not s.get("FRONTIER_KEY"):
            raise ValueError("FRONTIER_KEY is not set: every worker of a frontier must name it")
        server = get_redis_from_settings(s)
        server.ping()
        instance = cls(crawler, server, FrontierKeys(s.get("FRONTIER_KEY")))
        crawler.signals.connect(instance._engine_started, signals.engine_started)
        return instance

    # ----------------------------------------------------------------- Scrapy's scheduler interface

    def open(self, spider) -> None:
        self.spider = spider
        self.queue = LeasedQueue(self.server, spider, self.keys, self.worker)
        self.df = load_object(self.dupefilter_cls).from_crawler(self.crawler)
        self._heartbeat()
        self._heartbeat_thread.start()
        queued = len(self.queue)
        log.info("frontier %s: worker %s joined; %d requests queued", self.keys.crawl, self.worker, queued)
        self.stats.set_value("frontier/worker", self.worker)

    def close(self, reason: str) -> None:
        for loop in self._loops:
            if loop.running:
                loop.stop()
        self._stop_heartbeat.set()
        self._heartbeat_thread.join(timeout=5)
        if reason == "finished":
            self._ack_finished()
        # Not finished (shutdown cancels downloads): what we still hold goes back for the others.
        requeued = self.queue.requeue(self.worker)
        self._leased.clear()
        self.server.srem(self.keys.workers, self.worker)
        self.server.delete(self.keys.alive(self.worker))
        self.stats.set_value("frontier/requeued_on_close", requeued)
        if reason == "finished" and self._frontier_drained() and self.retain > 0:
            # Kept a while so a retried task resumes (and finds it done) instead of crawling again.
            for key in self.server.scan_iter(match=self.keys.pattern(), count=500):
                self.server.expire(key, self.retain)

    def enqueue_request(self, request: Request) -> bool:
        if not request.dont_filter and self.df.request_seen(request):
            self.df.log(request, self.spider)
            self.stats.inc_value("frontier/filtered_duplicates")
            return False
        self.queue.push(request)
        self.stats.inc_value("frontier/enqueued")
        return True

    def next_request(self) -> Request | None:
        leased = self.queue.pop_leased()
        if leased is None:
            return None
        self._leased[leased.lease] = leased.request
        self.stats.inc_value("frontier/leased")
        return leased.request

    def has_pending_requests(self) -> bool:
        """Pending while anything is queued or leased by a live worker, and through the idle grace."""
        if not self._frontier_drained():
            self._drained_since = None
            return True
        now = time.monotonic()
        if self._drained_since is None:
            self._drained_since = now
        return now - self._drained_since < self.idle_grace

    def __len__(self) -> int:
        return len(self.queue)

    # ----------------------------------------------------------------- leases and liveness

    def _engine_started(self) -> None:
        # Two loops: a slow Elasticsearch flush must not hold up finding dead workers and new work.
        self._loops = [task.LoopingCall(self._look_after_peers), task.LoopingCall(self._commit_finished)]
        for loop in self._loops:
            loop.start(self.tick, now=False)

    def _heartbeat_forever(self) -> None:
        while not self._stop_heartbeat.wait(self.tick):
            try:
                self._heartbeat()
            except Exception:  # noqa: BLE001 - Redis away for a moment: the next beat retries
                log.exception("frontier %s: heartbeat failed", self.keys.crawl)

    def _look_after_peers(self) -> None:
        try:
            self._requeue_dead_workers()
            if len(self.queue):
                self._wake_engine()
        except Exception:  # noqa: BLE001 - a Redis hiccup must not stop the loop; the next tick retries
            log.exception("frontier %s: looking after peers failed", self.keys.crawl)

    def _commit_finished(self) -> Deferred:
        """Flush, then ack what had finished before the flush; LoopingCall waits for it, so never two at once."""
        finished = self._take_finished()
        if not finished:
            return succeed(None)
        d = deferToThread(self._flush_documents)
        d.addCallback(lambda _: self._ack(finished))
        d.addErrback(lambda f: log.error("frontier %s: flush or ack failed, %d leases stay held: %s",
                                         self.keys.crawl, len(finished), f.getErrorMessage()))
        return d

    def _take_finished(self) -> list[str]:
        in_engine = self._requests_in_engine()
        finished = [lease for lease, request in self._leased.items() if request not in in_engine]
        for lease in finished:
            del self._leased[lease]
        return finished

    def _ack_finished(self) -> None:
        self._ack(self._take_finished())

    def _ack(self, leases: list[str]) -> None:
        for lease in leases:
            if self.queue.ack(lease):
                self.stats.inc_value("frontier/acked")
            else:
                self.stats.inc_value("frontier/acked_after_requeue")

    def _flush_documents(self) -> None:
        """Send what the item pipelines buffered (the Elasticsearch store), so acked means indexed or spooled."""
        scraper = getattr(self.crawler.engine, "scraper", None)
        for pipeline in getattr(getattr(scraper, "itemproc", None), "middlewares", ()):
            store = getattr(pipeline, "store", None)
            if store is not None and callable(getattr(store, "flush", None)):
                store.flush()

    def _requests_in_engine(self) -> set:
        # A request is in the engine's in-progress set from the moment it is popped (the engine
        # downloads it synchronously after next_request) until its output and items are handled.
        engine = self.crawler.engine
        slot = getattr(engine, "_slot", None) if engine is not None else None
        return slot.inprogress if slot is not None else set()

    def _wake_engine(self) -> None:
        slot = getattr(self.crawler.engine, "_slot", None)
        if slot is not None:
            slot.nextcall.schedule()

    def _heartbeat(self) -> None:
        pipe = self.server.pipeline()
        pipe.set(self.keys.alive(self.worker), "1", px=int(self.lease_ttl * 1000))
        pipe.sadd(self.keys.workers, self.worker)
        _, added = pipe.execute()
        if added and self._heartbeat_thread.is_alive():
            # We were taken for dead (a pause longer than the TTL): our leases were requeued.
            log.warning("frontier %s: worker %s was presumed dead and rejoins; requests it held were requeued",
                        self.keys.crawl, self.worker)

    def _requeue_dead_workers(self) -> None:
        for raw in self.server.smembers(self.keys.workers):
            worker = raw.decode() if isinstance(raw, bytes) else raw
            if worker == self.worker or self.server.exists(self.keys.alive(worker)):
                continue
            requeued = self.queue.requeue(worker)
            self.server.srem(self.keys.workers, worker)
            self.stats.inc_value("frontier/requeued_from_dead_workers", requeued)
            log.warning("frontier %s: worker %s stopped answering; %d requests it held are queued again",
                        self.keys.crawl, worker, requeued)

    def _frontier_drained(self) -> bool:
        if len(self.queue):
            return False
        for raw in self.server.smembers(self.keys.workers):
            worker = raw.decode() if isinstance(raw, bytes) else raw
            if self.queue.leased_count(worker):
                return False
        return True
