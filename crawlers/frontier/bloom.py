"""A Bloom filter in one Redis bitmap: a duplicate filter whose memory does not grow with the crawl.

Sized for ``capacity`` fingerprints at false-positive rate ``error_rate``:
m = -n ln p / (ln 2)^2 bits and k = (m / n) ln 2 hash functions. The default (2 million
requests at 1e-6) is 57.5 million bits, 6.9 MiB, k = 20: a request wrongly taken for seen (and
so never fetched) about once per million. Past its capacity the filter keeps working with a
rising error rate (about 1e-3 at twice the capacity); the count of added fingerprints is kept
so the crawl can warn when that happens. Adding is one Lua script, atomic across workers: two
workers adding the same fingerprint at once get exactly one "new".
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

import redis

_ADD = """
local new = 0
for i = 1, #ARGV do
  if redis.call('SETBIT', KEYS[1], ARGV[i], 1) == 0 then new = 1 end
end
if new == 1 then redis.call('INCR', KEYS[2]) end
return new
"""

#: Redis strings stop at 512 MiB.
MAX_BITS = 2**32


@dataclass(frozen=True)
class BloomSize:
    """Bits and hash functions for a capacity and error rate."""

    capacity: int
    error_rate: float

    def __post_init__(self) -> None:
        if self.capacity < 1:
            raise ValueError(f"Bloom filter capacity {self.capacity}: must be at least 1")
        if not 0 < self.error_rate < 1:
            raise ValueError(f"Bloom filter error rate {self.error_rate}: must be between 0 and 1")
        if self.bits > MAX_BITS:
            raise ValueError(f"Bloom filter of {self.capacity} at {self.error_rate} needs {self.bits} bits; "
                             f"a Redis bitmap holds at most {MAX_BITS}")

    @property
    def bits(self) -> int:
        return math.ceil(-self.capacity * math.log(self.error_rate) / math.log(2) ** 2)

    @property
    def hashes(self) -> int:
        return max(1, round(self.bits / self.capacity * math.log(2)))

    @property
    def memory_bytes(self) -> int:
        return math.ceil(self.bits / 8)

    def offsets(self, fingerprint: bytes) -> list[int]:
        """k bit positions by double hashing (Kirsch-Mitzenmacher) of a 128-bit digest."""
        digest = hashlib.blake2b(fingerprint, digest_size=16).digest()
        h1, h2 = int.from_bytes(digest[:8], "big"), int.from_bytes(digest[8:], "big") | 1
        return [(h1 + i * h2) % self.bits for i in range(self.hashes)]


class RedisBloom:
    """The filter at ``key`` (its count of distinct additions at ``count_key``)."""

    def __init__(self, server: redis.Redis, key: str, count_key: str, size: BloomSize):
        self.server, self.key, self.count_key, self.size = server, key, count_key, size
        self._add = server.register_script(_ADD)

    def add(self, fingerprint: bytes) -> bool:
        """Add; True when the fingerprint was not there before."""
        return bool(self._add(keys=[self.key, self.count_key], args=self.size.offsets(fingerprint)))

    def __contains__(self, fingerprint: bytes) -> bool:
        pipe = self.server.pipeline(transaction=False)
        for offset in self.size.offsets(fingerprint):
            pipe.getbit(self.key, offset)
        return all(pipe.execute())

    def count(self) -> int:
        return int(self.server.get(self.count_key) or 0)

    def clear(self) -> None:
        self.server.delete(self.key, self.count_key)
