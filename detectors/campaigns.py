"""Group flagged findings into campaigns: one network of listings or sites, acted on at once.

Two findings belong to the same campaign when they share a *link*: a photo of their own (the
same pHash, or one within a few bits of it), a seller on the same marketplace, or a host (for
sites). The brand's official photos and logos are not links: every counterfeiter copies them,
so sharing one says nothing about who is behind a listing. Links are transitive:
union-find over all flagged findings of a brand. A campaign's id is derived from its
smallest member id, so re-running over the same findings gives the same ids.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Iterable

from detectors.official_images import OfficialImages, is_degenerate

#: Photos within this Hamming distance (of 64 bits) are the same photo for grouping.
IMAGE_DISTANCE = 6
#: A photo this near an official one is taken for a copy of it (looser than detection: a
#: false link merges two campaigns, a missed one only leaves them apart).
OFFICIAL_COPY_DISTANCE = 16


@dataclass
class Member:
    id: str
    #: Exact links: ("seller", "bazaarhub.com|bestdeal_factory88"), ("host", "kestrava-outlet.shop"), ...
    links: set[tuple[str, str]] = field(default_factory=set)
    #: Photo pHashes (hex), linked by distance.
    phashes: set[str] = field(default_factory=set)


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        self.parent.setdefault(x, x)
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def _near_pairs(phashes: dict[str, list[str]], distance: int) -> Iterable[tuple[str, str]]:
    """Pairs of distinct hashes within ``distance`` bits. Hashes are bucketed by each of their
    ``distance + 1`` 64-bit slices (pigeonhole: two hashes within ``distance`` bits agree on at
    least one slice), so only hashes sharing a slice are compared."""
    values = {h: int(h, 16) for h in phashes}
    parts = distance + 1
    bounds = [(64 * i // parts, 64 * (i + 1) // parts) for i in range(parts)]
    seen: set[tuple[str, str]] = set()
    for lo, hi in bounds:
        mask = ((1 << (hi - lo)) - 1) << lo
        buckets: dict[int, list[str]] = defaultdict(list)
        for h, v in values.items():
            buckets[v & mask].append(h)
        for bucket in buckets.values():
            for i, a in enumerate(bucket):
                for b in bucket[i + 1:]:
                    pair = (a, b) if a < b else (b, a)
                    if pair not in seen and bin(values[a] ^ values[b]).count("1") <= distance:
                        seen.add(pair)
                        yield pair


def group(members: list[Member], image_distance: int = IMAGE_DISTANCE) -> dict[str, str]:
    """Campaign id for every member that shares a link with another; singletons get none."""
    uf = _UnionFind()
    by_link: dict[tuple[str, str], list[str]] = defaultdict(list)
    by_hash: dict[str, list[str]] = defaultdict(list)
    for m in members:
        uf.find(m.id)
        for link in m.links:
            by_link[link].append(m.id)
        for h in m.phashes:
            by_hash[h].append(m.id)
    for ids in list(by_link.values()) + list(by_hash.values()):
        for other in ids[1:]:
            uf.union(ids[0], other)
    for a, b in _near_pairs(by_hash, image_distance):
        uf.union(by_hash[a][0], by_hash[b][0])
    sizes: dict[str, int] = defaultdict(int)
    for m in members:
        sizes[uf.find(m.id)] += 1
    return {m.id: "cmp-" + hashlib.sha256(uf.find(m.id).encode()).hexdigest()[:16]
            for m in members if sizes[uf.find(m.id)] > 1}


def member_of(finding: dict, subject: dict | None, official: OfficialImages | None = None) -> Member:
    """The links of a finding document, read from the listing or site document it is about."""
    m = Member(id=finding["subject"]["id"])
    subject = subject or {}
    seller = (subject.get("seller") or {}).get("name")
    if seller:
        m.links.add(("seller", f"{subject.get('marketplace') or ''}|{seller.casefold()}"))
    if finding.get("kind") in ("fake_store", "phishing"):
        host = (finding.get("url") or {}).get("registered_domain") or (finding.get("url") or {}).get("domain")
        if host:
            m.links.add(("host", host))
    images = [*(subject.get("images") or []), subject.get("favicon") or {}, *(subject.get("logos") or [])]
    for img in images:
        h = img.get("phash")
        if h and not is_degenerate(h) and (official is None or official.match(h, OFFICIAL_COPY_DISTANCE) is None):
            m.phashes.add(h)
    return m


def assign_campaigns(client, index_prefix: str, brand_id: str, official: OfficialImages | None) -> dict[str, int]:
    """Group the brand's flagged findings in Elasticsearch and write ``campaign.id`` on each
    (cleared on findings that no longer share a link). Returns counts for the job's log.

    ``official``: the brand's official photos, which link nothing (genuine resellers and
    counterfeiters alike show them); required, because without it one stolen catalogue photo
    would merge every network into one. None only for a brand without official photos."""
    from elasticsearch import helpers

    findings_index = f"{index_prefix}-findings"
    query = {"bool": {"filter": [{"term": {"brand.id": brand_id}}, {"term": {"verdict": "flagged"}}]}}
    findings = [(hit["_id"], hit["_source"]) for hit in helpers.scan(client, index=findings_index, query={"query": query})]
    by_index: dict[str, list[str]] = defaultdict(list)
    for _, f in findings:
        by_index[f["subject"]["index"]].append(f["subject"]["id"])
    subjects: dict[str, dict] = {}
    for kind, ids in by_index.items():
        for start in range(0, len(ids), 1000):
            docs = client.mget(index=f"{index_prefix}-{kind}", ids=ids[start:start + 1000])["docs"]
            subjects.update({d["_id"]: d["_source"] for d in docs if d.get("found")})
    members = [member_of(f, subjects.get(f["subject"]["id"]), official) for _, f in findings]
    campaign_of = group(members)
    actions = [{"_op_type": "update", "_index": findings_index, "_id": fid,
                "doc": {"campaign": {"id": campaign_of.get(f["subject"]["id"])}}}
               for fid, f in findings if (f.get("campaign") or {}).get("id") != campaign_of.get(f["subject"]["id"])]
    helpers.bulk(client, actions, refresh="wait_for")
    return {"findings": len(findings), "campaigns": len(set(campaign_of.values())),
            "in_campaigns": len(campaign_of), "updated": len(actions)}
