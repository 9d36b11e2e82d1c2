"""The Redis keys of one crawl's frontier, in one place."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FrontierKeys:
    """Every key lives under ``brandhound:frontier:<crawl>:``, so one crawl is one prefix to inspect or drop."""

    crawl: str

    @property
    def prefix(self) -> str:
        return f"brandhound:frontier:{self.crawl}"

    @property
    def queue(self) -> str:
        """Sorted set of serialized requests, score = -priority (scrapy-redis's PriorityQueue)."""
        return f"{self.prefix}:queue"

    @property
    def bloom(self) -> str:
        return f"{self.prefix}:bloom"

    @property
    def bloom_count(self) -> str:
        return f"{self.prefix}:bloom:count"

    @property
    def workers(self) -> str:
        return f"{self.prefix}:workers"

    @property
    def acked(self) -> str:
        return f"{self.prefix}:acked"

    def alive(self, worker: str) -> str:
        return f"{self.prefix}:alive:{worker}"

    def leases(self, worker: str) -> str:
        return f"{self.prefix}:leases:{worker}"

    def lease_scores(self, worker: str) -> str:
        return f"{self.prefix}:lease-scores:{worker}"

    def domain_slots(self, domain: str) -> str:
        return f"{self.prefix}:domain:{domain}:slots"

    def domain_next(self, domain: str) -> str:
        return f"{self.prefix}:domain:{domain}:next"

    def pattern(self) -> str:
        return f"{self.prefix}:*"
