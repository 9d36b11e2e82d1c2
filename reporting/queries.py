"""What the brand-risk report says, read from Elasticsearch with aggregations.

Every number is counted by Elasticsearch over one brand's documents in a time
window (``event.created`` from ``start`` to ``end``); the previous window of the
same length gives the trend. Leaked accounts leave this module masked.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from brandhound.items import Finding, Leak, Listing, Page, Site, Takedown
from brandhound.mapping import index_name
from brandhound.profile import BrandProfile
from detectors.secret_masking import mask

TOP_CAMPAIGNS = 8
THUMBNAILS_PER_CAMPAIGN = 3


@dataclass
class Campaign:
    id: str
    findings: int
    kinds: dict[str, int]
    domains: list[str]
    #: ``(evidence file path relative to the store, caption)`` of a few of its captures.
    evidence: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class Takedowns:
    total: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    #: Hours from a notice's sending (or drafting, if never marked sent) to its removal.
    hours_to_removal: list[float] = field(default_factory=list)

    @property
    def median_hours_to_removal(self) -> float | None:
        return statistics.median(self.hours_to_removal) if self.hours_to_removal else None


@dataclass
class LeakDomain:
    domain: str
    accounts: int
    examples: list[str]  # masked


@dataclass
class ReportData:
    brand_id: str
    brand_name: str
    start: datetime
    end: datetime
    by_kind: dict[str, int]
    previous_by_kind: dict[str, int]
    by_source: dict[str, int]
    by_marketplace: dict[str, int]
    #: ``(bucket start, {kind: count})`` over the window.
    timeline: list[tuple[datetime, dict[str, int]]]
    campaigns: list[Campaign]
    takedowns: Takedowns
    leak_domains: list[LeakDomain]
    previous_leaked_accounts: int
    #: Distinct campaigns among the flagged findings (the table shows the largest).
    campaign_count: int = 0

    @property
    def flagged(self) -> int:
        return sum(self.by_kind.values())

    @property
    def leaked_accounts(self) -> int:
        return sum(d.accounts for d in self.leak_domains)


def mask_account(account: str) -> str:
    """``mikko.jensen@corp.example.com`` -> ``m**********n@corp.example.com``: the domain stays."""
    local, at, domain = account.partition("@")
    return mask(local) + at + domain


def _buckets(agg: dict[str, Any]) -> dict[str, int]:
    return {str(b["key"]): b["doc_count"] for b in agg["buckets"]}


class ReportQueries:
    """The report's queries over one brand's indices."""

    def __init__(self, es: Any, prefix: str, profile: BrandProfile):
        self.es = es
        self.prefix = prefix
        self.profile = profile

    def _index(self, item_type: type) -> str:
        return index_name(self.prefix, item_type)

    def _brand_window(self, start: datetime, end: datetime, time_field: str = "event.created") -> list[dict]:
        return [{"term": {"brand.id": self.profile.id}},
                {"range": {time_field: {"gte": start.isoformat(), "lt": end.isoformat()}}}]

    def _search(self, item_type: type, **body: Any) -> dict[str, Any]:
        return self.es.search(index=self._index(item_type), ignore_unavailable=True, **body)

    def collect(self, start: datetime, end: datetime) -> ReportData:
        window = end - start
        flagged = {"bool": {"filter": [*self._brand_window(start, end), {"term": {"verdict": "flagged"}}]}}
        interval = "1h" if window <= timedelta(days=2) else "1d"
        result = self._search(Finding, size=0, query=flagged, aggs={
            "kinds": {"terms": {"field": "kind", "size": 50}},
            "sources": {"terms": {"field": "crawl.source_type", "size": 20, "missing": "unknown"}},
            "domains": {"terms": {"field": "url.registered_domain", "size": 12}},
            "campaigns": {"cardinality": {"field": "campaign.id"}},
            "timeline": {"date_histogram": {"field": "event.created", "fixed_interval": interval,
                                            "min_doc_count": 0,
                                            "extended_bounds": {"min": start.isoformat(), "max": end.isoformat()}},
                         "aggs": {"kinds": {"terms": {"field": "kind", "size": 50}}}},
        })
        aggs = result.get("aggregations")
        previous = self._search(Finding, size=0, query={"bool": {"filter": [
            *self._brand_window(start - window, start), {"term": {"verdict": "flagged"}}]}},
            aggs={"kinds": {"terms": {"field": "kind", "size": 50}}}).get("aggregations")
        names = {m.domain: m.name for m in self.profile.marketplaces}
        return ReportData(
            brand_id=self.profile.id, brand_name=self.profile.name, start=start, end=end,
            by_kind=_buckets(aggs["kinds"]) if aggs else {},
            previous_by_kind=_buckets(previous["kinds"]) if previous else {},
            by_source=_buckets(aggs["sources"]) if aggs else {},
            by_marketplace={names.get(k, k): v for k, v in _buckets(aggs["domains"]).items()} if aggs else {},
            timeline=[(datetime.fromisoformat(b["key_as_string"]), _buckets(b["kinds"]))
                      for b in aggs["timeline"]["buckets"]] if aggs else [],
            campaigns=self.campaigns(flagged),
            takedowns=self.takedowns(start, end),
            leak_domains=self.leak_domains(start, end),
            previous_leaked_accounts=self.leaked_account_count(start - window, start),
            campaign_count=aggs["campaigns"]["value"] if aggs else 0,
        )

    def campaigns(self, flagged: dict[str, Any]) -> list[Campaign]:
        """The campaigns with the most flagged findings, with evidence images of a few of them."""
        result = self._search(Finding, size=0, query=flagged, aggs={"campaigns": {
            "terms": {"field": "campaign.id", "size": TOP_CAMPAIGNS},
            "aggs": {"kinds": {"terms": {"field": "kind"}},
                     "domains": {"terms": {"field": "url.registered_domain", "size": 3}},
                     "examples": {"top_hits": {"size": THUMBNAILS_PER_CAMPAIGN, "sort": [{"score": "desc"}],
                                               "_source": ["subject", "url.full"]}}}}})
        if not result.get("aggregations"):
            return []
        campaigns = []
        for bucket in result["aggregations"]["campaigns"]["buckets"]:
            subjects = [h["_source"]["subject"] for h in bucket["examples"]["hits"]["hits"]]
            campaigns.append(Campaign(
                id=bucket["key"], findings=bucket["doc_count"], kinds=_buckets(bucket["kinds"]),
                domains=list(_buckets(bucket["domains"])), evidence=self.evidence_images(subjects)))
        return campaigns

    def evidence_images(self, subjects: list[dict[str, str]]) -> list[tuple[str, str]]:
        """An image per subject from the evidence store: a listing's stored photo, else a page screenshot."""
        images: list[tuple[str, str]] = []
        for subject in subjects:
            if subject.get("index") == Listing.INDEX:
                doc = self._get(Listing, subject["id"])
                stored = [i for i in (doc or {}).get("images", []) if i.get("file", {}).get("path")]
                if stored and doc:
                    images.append((stored[0]["file"]["path"], (doc.get("title") or "")[:80]))
                    continue
            if subject.get("index") in (Listing.INDEX, Site.INDEX):
                doc = self._get(Listing if subject["index"] == Listing.INDEX else Site, subject["id"])
                page = self._get(Page, doc["page_id"]) if doc and doc.get("page_id") else None
                shot = (page or {}).get("screenshot") or {}
                if shot.get("path") and page:
                    images.append((shot["path"], (page.get("title") or "")[:80]))
        return images

    def _get(self, item_type: type, doc_id: str) -> dict[str, Any] | None:
        found = self.es.options(ignore_status=404).get(index=self._index(item_type), id=doc_id)
        return found.get("_source") if found.get("found") else None

    def takedowns(self, start: datetime, end: datetime) -> Takedowns:
        """Notices changed in the window: status counts and the time each removal took."""
        query = {"bool": {"filter": [{"term": {"brand.id": self.profile.id}}, {"nested": {"path": "history", "query": {
            "range": {"history.at": {"gte": start.isoformat(), "lt": end.isoformat()}}}}}]}}
        result = self._search(Takedown, size=10_000, query=query, _source=["status", "history", "event.created"])
        hits = result["hits"]["hits"]
        out = Takedowns(total=len(hits))
        for hit in hits:
            doc = hit["_source"]
            out.by_status[doc["status"]] = out.by_status.get(doc["status"], 0) + 1
            if (hours := _hours_to_removal(doc.get("history", []))) is not None:
                out.hours_to_removal.append(hours)
        return out

    def _leaks_query(self, start: datetime, end: datetime) -> dict[str, Any]:
        return {"bool": {"filter": [*self._brand_window(start, end, "threat.indicator.first_seen"),
                                    {"term": {"kind": "credential"}}, {"exists": {"field": "user.domain"}}]}}

    def leak_domains(self, start: datetime, end: datetime) -> list[LeakDomain]:
        """Accounts first seen leaked in the window, by corporate domain, with masked examples."""
        result = self._search(Leak, size=0, query=self._leaks_query(start, end), aggs={"domains": {
            "terms": {"field": "user.domain", "size": 20},
            "aggs": {"examples": {"top_hits": {"size": 3, "_source": ["user.email", "user.name"],
                                               "sort": [{"threat.indicator.first_seen": "desc"}]}}}}})
        if not result.get("aggregations"):
            return []
        domains = []
        for bucket in result["aggregations"]["domains"]["buckets"]:
            accounts = [h["_source"]["user"].get("email") or h["_source"]["user"].get("name") or ""
                        for h in bucket["examples"]["hits"]["hits"]]
            domains.append(LeakDomain(bucket["key"], bucket["doc_count"], [mask_account(a) for a in accounts if a]))
        return domains

    def leaked_account_count(self, start: datetime, end: datetime) -> int:
        result = self.es.options(ignore_status=404).count(index=self._index(Leak), query=self._leaks_query(start, end))
        return result.get("count", 0)


def _hours_to_removal(history: list[dict[str, Any]]) -> float | None:
    changes = sorted(history, key=lambda c: c["at"])
    removed = next((c for c in changes if c["status"] == "removed"), None)
    if removed is None or not changes:
        return None
    began = next((c for c in changes if c["status"] == "sent"), changes[0])
    seconds = (datetime.fromisoformat(removed["at"]) - datetime.fromisoformat(began["at"])).total_seconds()
    return max(0.0, seconds / 3600)
