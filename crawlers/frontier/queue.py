"""scrapy-redis's priority queue, made reliable: popping a request leases it to its worker.

A plain pop (``ZRANGE`` + ``ZREM``) loses every request a worker holds when it dies. Here a pop
moves the request, atomically, from the queue into the worker's lease hash; the worker
acknowledges it once Scrapy has finished with it, and a worker whose heartbeat key expired has
its leases put back in the queue by whichever worker notices first. So a request is lost by
nobody, and at most the requests a dead worker held in flight are fetched a second time.
"""

from __future__ import annotations

from dataclasses import dataclass

from scrapy import Request
from scrapy_redis.queue import PriorityQueue

from crawlers.frontier.keys import FrontierKeys

_POP = """
local top = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if #top == 0 then return false end
redis.call('ZREM', KEYS[1], top[1])
local id = redis.sha1hex(top[1])
redis.call('HSET', KEYS[2], id, top[1])
redis.call('HSET', KEYS[3], id, top[2])
return {id, top[1]}
"""

_ACK = """
local n = redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
if n == 1 then redis.call('INCR', KEYS[3]) end
return n
"""

_REQUEUE = """
local data = redis.call('HGETALL', KEYS[2])
for i = 1, #data, 2 do
  local score = redis.call('HGET', KEYS[3], data[i]) or '0'
  redis.call('ZADD', KEYS[1], score, data[i + 1])
end
redis.call('DEL', KEYS[2], KEYS[3])
return #data / 2
"""


@dataclass
class Leased:
    """A request popped from the frontier, and the id its worker acknowledges it by."""

    lease: str
    request: Request


class LeasedQueue(PriorityQueue):
    """The frontier's queue as one worker sees it: push, pop into a lease, ack, requeue a worker's leases."""

    def __init__(self, server, spider, keys: FrontierKeys, worker: str, serializer=None):
        super().__init__(server, spider, keys.queue, serializer=serializer)
        self.keys, self.worker = keys, worker
        self._pop = server.register_script(_POP)
        self._ack = server.register_script(_ACK)
        self._requeue = server.register_script(_REQUEUE)

    def pop_leased(self) -> Leased | None:
        found = self._pop(keys=[self.key, self.keys.leases(self.worker), self.keys.lease_scores(self.worker)])
        if not found:
            return None
        lease, data = found
        return Leased(lease.decode() if isinstance(lease, bytes) else lease, self._decode_request(data))

    def pop(self, timeout: int = 0) -> Request | None:
        leased = self.pop_leased()
        return leased.request if leased else None

    def ack(self, lease: str) -> bool:
        """The leased request is done; False when its lease was no longer ours (it was requeued)."""
        keys = [self.keys.leases(self.worker), self.keys.lease_scores(self.worker), self.keys.acked]
        return bool(self._ack(keys=keys, args=[lease]))

    def requeue(self, worker: str) -> int:
        """Put every request leased to ``worker`` back in the queue; how many."""
        return int(self._requeue(keys=[self.key, self.keys.leases(worker), self.keys.lease_scores(worker)]))

    def leased_count(self, worker: str) -> int:
        return self.server.hlen(self.keys.leases(worker))
