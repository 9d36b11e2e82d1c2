"""Draft notices from findings: one notice per recipient and group, rendered in its language.

A *group* is what one notice covers on one recipient: the findings of the same campaign,
the leaks seen at the same source, or else a single finding. The notice id derives from
recipient and group (:meth:`Takedown.doc_id`), so drafting the same findings again yields
the same notices. This module only plans; :mod:`takedown.service` stores.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import AbstractSet, Iterable

from brandhound.items import BrandRef, Campaign, Event, Leak, Listing, NoticeEvidence, Site, Takedown
from brandhound.profile import BrandProfile
from takedown.recipients import LEAK_KINDS, Case, RecipientFinder, Target
from takedown.render import render_notice
from takedown.reports import build_report
from takedown.text import MAX_QUOTED, mask_account, one_line

#: Untrusted titles and seller names are stored as long as notices quote them.
MAX_STORED_TEXT = MAX_QUOTED


def evidence_of(case: Case) -> NoticeEvidence:
    """The notice entry of one finding: URL, capture, evidence files; leaks masked."""
    finding, subject, page = case.finding, case.subject, case.page
    captured = (page.crawl.fetched_at if page else None) or getattr(getattr(subject, "crawl", None), "fetched_at", None) \
        or finding.threat.indicator.last_seen or finding.crawl.fetched_at
    entry = NoticeEvidence(finding_id=finding.doc_id(), kind=finding.kind, url=case.url,
                           final_url=page.url.full if page else case.url, captured_at=captured,
                           html=page.file if page else None, screenshot=page.screenshot if page else None,
                           warc=page.warc if page else None)
    if isinstance(subject, (Listing, Site)):
        entry.title = one_line(subject.title or (page.title if page else None), MAX_STORED_TEXT) or None
    if isinstance(subject, Listing):
        entry.seller = one_line(subject.seller.name, MAX_STORED_TEXT) or None
        entry.images = [i.file for i in subject.images if i.file.path and i.file.hash.sha256]
    if isinstance(subject, Leak):
        user = subject.user
        entry.account = mask_account((user.email or user.name) if user else None)
        entry.secret = subject.secret.masked
        entry.url = subject.url.full if subject.url else entry.url
        entry.final_url = entry.url
    return entry


def group_of(case: Case) -> str:
    """What a finding's notice groups on: its campaign, its leak source, or itself."""
    if case.finding.campaign.id:
        return f"campaign:{case.finding.campaign.id}"
    if case.finding.kind in LEAK_KINDS and isinstance(case.subject, Leak) and case.subject.url:
        return f"leak-source:{case.subject.url.full}"
    return f"finding:{case.finding.doc_id()}"


def plan_notices(cases: Iterable[Case], profile: BrandProfile, finder: RecipientFinder, *,
                 unreviewed: AbstractSet[str] = frozenset(), now: datetime | None = None) -> list[Takedown]:
    """Draft notices for ``cases`` (not stored). ``unreviewed``: ids of findings not yet confirmed."""
    groups: dict[tuple[str, str, str], tuple[Target, list[Case]]] = {}
    for case in cases:
        group = group_of(case)
        for target in finder.targets(case):
            r = target.recipient
            groups.setdefault((r.kind, r.email or r.name or "", group), (target, []))[1].append(case)
    notices = []
    for (_, _, group), (target, members) in sorted(groups.items(), key=lambda kv: kv[0]):
        notices.append(draft(members, target, group, profile, unreviewed=unreviewed, now=now))
    return notices


def draft(cases: list[Case], target: Target, group: str, profile: BrandProfile, *,
          unreviewed: AbstractSet[str] = frozenset(), now: datetime | None = None) -> Takedown:
    """One rendered draft for ``cases`` addressed to ``target``."""
    entries = sorted((evidence_of(c) for c in cases), key=lambda e: (e.url or "", e.finding_id))
    finding_ids = sorted({e.finding_id for e in entries})
    campaigns = {c.finding.campaign.id for c in cases}
    notice = Takedown(
        event=Event(dataset="takedown.draft"),
        brand=BrandRef(id=profile.id, name=profile.name),
        recipient=target.recipient,
        language=target.language,
        finding_ids=finding_ids,
        campaign=Campaign(id=campaigns.pop() if len(campaigns) == 1 else None),
        urls=sorted({e.url for e in entries if e.url}),
        evidence=entries,
        unreviewed=bool(set(finding_ids) & unreviewed),
        group=group,
        detected_at=min((seen for c in cases if (seen := c.finding.threat.indicator.first_seen)), default=None),
    )
    return rerender(notice, profile, now=now)


def rerender(notice: Takedown, profile: BrandProfile, now: datetime | None = None) -> Takedown:
    """Refresh the subject, body and report of ``notice`` from its fields (after an edit, say)."""
    rendered = render_notice(notice, profile, now=now)
    notice.subject_line = rendered.subject
    notice.body = rendered.text
    report = build_report(notice, profile)
    notice.report = json.dumps(report, ensure_ascii=False, sort_keys=True) if report is not None else None
    return notice
