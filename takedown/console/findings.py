"""The findings the console shows: those a notice covers, and those awaiting triage."""

from __future__ import annotations

from elasticsearch import Elasticsearch

from brandhound.items import Finding
from brandhound.mapping import from_document, index_name
from takedown.service import TakedownService
from takedown.triage import set_finding_status

#: How many findings the triage page lists, newest first.
TRIAGE_PAGE = 200


class FindingsView:
    """Findings of one brand over one index prefix."""

    def __init__(self, client: Elasticsearch, index_prefix: str, brand_id: str, service: TakedownService):
        self.client = client
        self.prefix = index_prefix
        self.brand_id = brand_id
        self._service = service

    @classmethod
    def of_service(cls, service: TakedownService) -> FindingsView:
        return cls(service.client, service.prefix, service.profile.id, service)

    def by_id(self, ids: list[str]) -> list[Finding]:
        found = self._service._documents(Finding, ids)
        return [found[i] for i in ids if i in found]

    def for_triage(self, status: str = "new") -> list[Finding]:
        index = index_name(self.prefix, Finding)
        if not self.client.indices.exists(index=index):
            return []
        query = {"bool": {"filter": [{"term": {"brand.id": self.brand_id}}, {"term": {"status": status}}]}}
        hits = self.client.search(index=index, query=query, size=TRIAGE_PAGE,
                                  sort=[{"score": "desc"}, {"event.created": "desc"}])["hits"]["hits"]
        return [from_document(Finding, h["_source"]) for h in hits]

    def set_status(self, finding_id: str, status: str, by: str, reason: str | None = None) -> None:
        set_finding_status(self.client, self.prefix, [finding_id], status, by, reason)
