"""The frontier's Redis parts on a real Redis: Bloom filter, leased queue, shared per-domain slots."""

from __future__ import annotations

import pytest
import redis
import scrapy

from crawlers.frontier.bloom import BloomSize, RedisBloom
from crawlers.frontier.keys import FrontierKeys
from crawlers.frontier.politeness import SharedDomainSlotsMiddleware
from crawlers.frontier.queue import LeasedQueue
from sandbox.redis import RedisServer
from tests.polling import poll


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with RedisServer(tmp_path_factory.mktemp("redis")) as s:
        yield s


@pytest.fixture
def client(server):
    c = redis.Redis.from_url(server.url)
    c.flushdb()
    yield c
    c.close()


class Spider(scrapy.Spider):
    name = "frontier-test"

    def parse(self, response):
        return None


def test_bloom_filter_says_new_once_and_stays_within_its_size(client):
    size = BloomSize(10_000, 1e-4)
    bloom = RedisBloom(client, "b", "b:count", size)
    fingerprints = [f"request-{i}".encode() for i in range(2000)]
    assert all(bloom.add(fp) for fp in fingerprints)
    assert not any(bloom.add(fp) for fp in fingerprints)
    assert bloom.count() == 2000
    assert all(fp in bloom for fp in fingerprints)
    assert client.strlen("b") <= size.memory_bytes
    # Never added: at this load the false-positive rate is far below 1 in 1,000.
    assert sum(f"other-{i}".encode() in bloom for i in range(2000)) <= 2


def test_a_dead_workers_leases_go_back_to_the_queue_and_an_ack_after_that_is_refused(client):
    keys, spider = FrontierKeys("t"), Spider()
    a = LeasedQueue(client, spider, keys, "worker-a")
    b = LeasedQueue(client, spider, keys, "worker-b")
    for i in range(3):
        a.push(scrapy.Request(f"https://example.com/{i}", priority=i))
    first = a.pop_leased()
    assert first.request.url == "https://example.com/2"  # highest priority first
    second = a.pop_leased()
    assert len(a) == 1 and a.leased_count("worker-a") == 2
    assert a.ack(first.lease) and not a.ack(first.lease)
    assert b.requeue("worker-a") == 1  # worker-a died holding `second`
    assert len(b) == 2 and a.leased_count("worker-a") == 0
    assert not a.ack(second.lease)
    urls = {b.pop_leased().request.url, b.pop_leased().request.url}
    assert urls == {second.request.url, "https://example.com/0"}
    assert int(client.get(keys.acked)) == 1


def test_domain_slots_are_shared_between_workers(client):
    keys = FrontierKeys("p")
    w1 = SharedDomainSlotsMiddleware(client, keys, concurrency=2, delay_s=0, slot_ttl_s=30)
    w2 = SharedDomainSlotsMiddleware(client, keys, concurrency=2, delay_s=0, slot_ttl_s=30)
    assert w1.try_acquire("shop.example", "t1") == 0
    assert w2.try_acquire("shop.example", "t2") == 0
    assert w2.try_acquire("shop.example", "t3") > 0  # both of the domain's slots are taken, by two workers
    assert w1.try_acquire("other.example", "t4") == 0  # another domain has its own
    request = scrapy.Request("https://shop.example/x", meta={"frontier_domain_slot": "t1"})
    w1.release(request)
    assert w2.try_acquire("shop.example", "t3") == 0


def test_domain_delay_is_shared_between_workers(client):
    keys = FrontierKeys("d")
    w1 = SharedDomainSlotsMiddleware(client, keys, concurrency=8, delay_s=2.0, slot_ttl_s=30)
    w2 = SharedDomainSlotsMiddleware(client, keys, concurrency=8, delay_s=2.0, slot_ttl_s=30)
    assert w1.try_acquire("shop.example", "t1") == 0
    assert 1000 < w2.try_acquire("shop.example", "t2") <= 2000


def test_expired_slots_of_a_killed_worker_free_themselves(client):
    keys = FrontierKeys("e")
    dead = SharedDomainSlotsMiddleware(client, keys, concurrency=1, delay_s=0, slot_ttl_s=0.001)
    assert dead.try_acquire("shop.example", "t1") == 0
    alive = SharedDomainSlotsMiddleware(client, keys, concurrency=1, delay_s=0, slot_ttl_s=30)
    poll(lambda: alive.try_acquire("shop.example", "t2") == 0, 5, "the dead worker's slot expiring")
