"""The takedown service: notices in the Elasticsearch ``takedowns`` index, drafted, reviewed, exported.

This is the API the CLI and the review console share::

    service = TakedownService.from_settings(settings, profile)
    result = service.draft_from_findings(by="aino")            # confirmed findings -> draft notices
    drafts = service.list(status="draft")
    notice = service.get(notice_id)
    service.edit_free_text(notice_id, {"remarks": "..."}, by="aino")
    service.approve(notice_id, by="aino")                      # refused when a legal element is missing
    service.reject(notice_id, reason, by="aino")
    service.mark(notice_id, "sent", by="aino")                 # sent, acknowledged, removed, rejected
    export = service.export(status="approved", formats=("eml", "pdf", "csv"), out_dir=Path("out"))
    verify(export.zip_path).ok                                 # takedown.bundle.verify

Status changes are conditional writes (Elasticsearch sequence numbers): when two people act
on the same notice at once, the second gets a clear error instead of silently overwriting
the first. They are written directly rather than through the buffered, spooling
:class:`~brandhound.store.Store`, because a person approving a notice must learn at once
whether it was recorded. Drafting twice from the same findings updates the same drafts (the
ids are deterministic); a notice that left ``draft`` is never redrafted: findings it does not
cover go to a follow-up notice.
"""

from __future__ import annotations

import builtins  # TakedownService.list shadows the builtin list inside the class body
import logging
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Iterable

import elasticsearch
from cryptography import x509
from elasticsearch import Elasticsearch, helpers

from brandhound import cluster
from brandhound.evidence import EvidenceStore
from brandhound.items import Finding, Leak, Listing, Page, Site, StatusChange, Takedown, utcnow
from brandhound.mapping import from_document, index_name, to_document
from brandhound.profile import BrandProfile
from takedown.drafting import draft, plan_notices, rerender
from takedown.export import FORMATS, ExportResult, export_batch
from takedown import legal
from takedown.lifecycle import STATUSES, NoticeNotFound, TakedownError, TransitionError, transition
from takedown.recipients import Case, RecipientFinder, Target
from takedown.reups import plan_follow_ups, without_reups
from takedown.timestamping import load_anchors

log = logging.getLogger(__name__)

#: Fields of a draft that people may edit; the rest comes from the findings.
EDITABLE_FIELDS = ("remarks", "language")
SUBJECT_TYPES = {t.INDEX: t for t in (Listing, Site, Leak)}


@dataclass
class DraftResult:
    """What :meth:`TakedownService.draft_from_findings` did, by notice id."""

    findings: int = 0
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)        # not drafts any more: left alone
    followups: list[str] = field(default_factory=list)   # new notices for findings a sent notice lacks
    superseded: list[str] = field(default_factory=list)  # drafts whose findings went to other recipients


class TakedownService:
    """Notices of one brand over one Elasticsearch index prefix."""

    def __init__(self, client: Elasticsearch, index_prefix: str, profile: BrandProfile, evidence: EvidenceStore,
                 finder: RecipientFinder | None = None, tsa: tuple[str, list[x509.Certificate]] | None = None):
        self.client = client
        #: The Time-Stamp Authority exports have their manifests stamped by (URL, trust anchors), if any.
        self.tsa = tsa
        self.prefix = index_prefix
        self.profile = profile
        self.evidence = evidence
        self.finder = finder or RecipientFinder(profile)
        self.index = index_name(index_prefix, Takedown)

    @classmethod
    def from_settings(cls, settings: Any, profile: BrandProfile, finder: RecipientFinder | None = None
                      ) -> TakedownService:
        tsa_url, anchor = getattr(settings, "tsa_url", None), getattr(settings, "tsa_trust_anchor", None)
        tsa = (tsa_url, load_anchors(anchor)) if tsa_url and anchor else None
        return cls(cluster.make_client(settings.es), settings.es.index_prefix, profile,
                   EvidenceStore(settings.evidence_dir), finder, tsa=tsa)

    def ensure_indices(self) -> None:
        cluster.init_indices(self.client, self.prefix)

    # ----------------------------------------------------------------- reading

    def get(self, notice_id: str) -> Takedown:
        return self._get(notice_id)[0]

    def _get(self, notice_id: str) -> tuple[Takedown, dict[str, int]]:
        try:
            hit = self.client.get(index=self.index, id=notice_id)
        except elasticsearch.NotFoundError:
            raise NoticeNotFound(f"no takedown notice {notice_id!r} in {self.index}") from None
        return from_document(Takedown, hit["_source"]), {"if_seq_no": hit["_seq_no"],
                                                         "if_primary_term": hit["_primary_term"]}

    def list(self, status: str | None = None, recipient_kind: str | None = None) -> list[Takedown]:
        """This brand's notices, newest first, optionally of one status and recipient kind."""
        if status is not None and status not in STATUSES:
            raise TakedownError(f"unknown status {status!r}; one of {', '.join(STATUSES)}")
        filters: list[dict] = [{"term": {"brand.id": self.profile.id}}]
        if status:
            filters.append({"term": {"status": status}})
        if recipient_kind:
            filters.append({"term": {"recipient.kind": recipient_kind}})
        if not self.client.indices.exists(index=self.index):
            return []
        hits = helpers.scan(self.client, index=self.index, query={"query": {"bool": {"filter": filters}}})
        notices = [from_document(Takedown, h["_source"]) for h in hits]
        return sorted(notices, key=lambda n: (n.event.created, n.doc_id()), reverse=True)

    # ----------------------------------------------------------------- writing

    def _write(self, notice: Takedown, condition: dict[str, int] | None) -> None:
        try:
            if condition:
                self.client.index(index=self.index, id=notice.doc_id(), document=to_document(notice),
                                  refresh=True, if_seq_no=condition["if_seq_no"], if_primary_term=condition["if_primary_term"])
            else:
                self.client.index(index=self.index, id=notice.doc_id(), document=to_document(notice),
                                  refresh=True, op_type="create")
        except elasticsearch.ConflictError:
            raise TakedownError(f"notice {notice.doc_id()} was changed by someone else meanwhile; "
                                "reload it and try again") from None

    def mark(self, notice_id: str, status: str, by: str, reason: str | None = None,
             at: datetime | None = None) -> Takedown:
        """Move a notice along its lifecycle (:mod:`takedown.lifecycle`), recording who and when.

        Approval first checks the notice against what the law asks of its recipient
        (:mod:`takedown.legal`): a draft lacking an element is refused, naming the regime and each
        missing element, and left as it was; an approved notice keeps its checks (``legal``).
        """
        notice, condition = self._get(notice_id)
        if status == "approved" and notice.status == "draft":
            checks = legal.check(notice, self.profile)
            problem = legal.refusal(notice, checks)
            if problem:
                raise TransitionError(problem)
            notice.legal = checks
        transition(notice, status, by, reason=reason, at=at)
        self._write(notice, condition)
        return notice

    def approve(self, notice_id: str, by: str, at: datetime | None = None) -> Takedown:
        return self.mark(notice_id, "approved", by, at=at)

    def reject(self, notice_id: str, reason: str, by: str) -> Takedown:
        return self.mark(notice_id, "rejected", by, reason=reason)

    def edit_free_text(self, notice_id: str, fields: dict[str, str | None], by: str) -> Takedown:
        """Change a draft's free text (``remarks``) or language and re-render it."""
        unknown = set(fields) - set(EDITABLE_FIELDS)
        if unknown:
            raise TakedownError(f"cannot edit {', '.join(sorted(unknown))}: editable fields are "
                                f"{', '.join(EDITABLE_FIELDS)}")
        notice, condition = self._get(notice_id)
        if notice.status != "draft":
            raise TakedownError(f"notice {notice_id} is {notice.status}: only drafts can be edited")
        language = fields.get("language")
        if "language" in fields and language not in self.profile.notice_languages:
            raise TakedownError(f"language {language!r} is not one of the brand's notice languages "
                                f"({', '.join(self.profile.notice_languages)})")
        for name, value in fields.items():
            setattr(notice, name, value)
        rerender(notice, self.profile)
        notice.history.append(StatusChange(status="draft", by=by, reason=f"edited {', '.join(sorted(fields))}"))
        self._write(notice, condition)
        return notice

    # ----------------------------------------------------------------- drafting

    def _findings(self, include_flagged: bool) -> builtins.list[Finding]:
        index = index_name(self.prefix, Finding)
        if not self.client.indices.exists(index=index):
            return []
        status: dict[str, Any] = {"term": {"status": "confirmed"}}
        if include_flagged:
            status = {"bool": {"should": [status, {"bool": {"filter": [{"term": {"status": "new"}},
                                                                       {"term": {"verdict": "flagged"}}]}}]}}
        query = {"query": {"bool": {"filter": [{"term": {"brand.id": self.profile.id}}, status]}}}
        return [from_document(Finding, h["_source"]) for h in helpers.scan(self.client, index=index, query=query)]

    def _documents(self, item_type: type, ids: Iterable[str]) -> dict[str, Any]:
        ids = sorted(set(ids))
        if not ids:
            return {}
        index = index_name(self.prefix, item_type)
        try:
            docs = self.client.mget(index=index, ids=ids)["docs"]
        except elasticsearch.NotFoundError:
            return {}
        return {d["_id"]: from_document(item_type, d["_source"]) for d in docs if d.get("found")}

    def cases(self, findings: builtins.list[Finding]) -> builtins.list[Case]:
        """Each finding with its subject document and captured page."""
        subjects: dict[tuple[str, str], Any] = {}
        for index, item_type in SUBJECT_TYPES.items():
            wanted = [f.subject.id for f in findings if f.subject.index == index]
            subjects.update({(index, k): v for k, v in self._documents(item_type, wanted).items()})
        page_ids = [getattr(s, "page_id", None) for s in subjects.values()]
        pages = self._documents(Page, [p for p in page_ids if p])
        out = []
        for f in findings:
            subject = subjects.get((f.subject.index, f.subject.id))
            if subject is None:
                log.warning("finding %s: its subject %s/%s is missing; drafted from the finding alone",
                            f.doc_id(), f.subject.index, f.subject.id)
            out.append(Case(f, subject, pages.get(getattr(subject, "page_id", None) or "")))
        return out

    def draft_from_findings(self, by: str, include_flagged: bool = False, now: datetime | None = None) -> DraftResult:
        """Draft (or refresh) the notices of the brand's confirmed findings (and, for demos, flagged ones)."""
        if not self.client.indices.exists(index=self.index):
            self.ensure_indices()
        findings = self._findings(include_flagged)
        unreviewed = {f.doc_id() for f in findings if f.status != "confirmed"}
        result = DraftResult(findings=len(findings))
        cases = {f.doc_id(): c for f, c in zip(findings, self.cases(findings))}
        at = now or utcnow()
        # A finding that brings back what a removed notice took down re-opens that case as a follow-up
        # citing it, rather than a new notice to the same recipient.
        follow_ups = plan_follow_ups(self.list(status="removed"), cases.values(), self.profile, now=at,
                                     unreviewed=unreviewed)
        planned = plan_notices(cases.values(), self.profile, self.finder, unreviewed=unreviewed, now=now)
        for notice in [*without_reups(planned, follow_ups, cases, self.profile, now=at, unreviewed=unreviewed),
                       *follow_ups]:
            self._store_draft(notice, cases, unreviewed, by, result, now)
        self._retire_superseded(set(cases), result, by)
        return result

    def _known_recipient(self, planned: Takedown) -> Takedown | None:
        """A notice of the same kind and group whose recipient's address was found, if any."""
        query = {"bool": {"filter": [{"term": {"brand.id": self.profile.id}}, {"term": {"group": planned.group}},
                                     {"term": {"recipient.kind": planned.recipient.kind}}],
                          "must_not": [{"term": {"recipient.source": "unknown"}}]}}
        hits = self.client.search(index=self.index, query=query, size=1,
                                  sort=[{"event.created": "asc"}])["hits"]["hits"]
        return from_document(Takedown, hits[0]["_source"]) if hits else None

    def _retire_superseded(self, finding_ids: set[str], result: DraftResult, by: str) -> None:
        """Reject (with the reason) drafts this run did not produce although it covered all their findings:
        their recipient changed (an address found or lost, a profile override), so a new draft replaced them."""
        touched = set(result.created) | set(result.updated) | set(result.followups)
        for notice in self.list(status="draft"):
            if notice.doc_id() not in touched and set(notice.finding_ids) <= finding_ids:
                self.mark(notice.doc_id(), "rejected", by,
                          reason="superseded on re-drafting: the findings' recipient changed")
                result.superseded.append(notice.doc_id())

    def _store_draft(self, planned: Takedown, cases: dict[str, Case], unreviewed: set[str], by: str,
                     result: DraftResult, now: datetime | None) -> None:
        if planned.recipient.source == "unknown":
            # A run that could not find the address (RDAP down, lookups off) keeps the one found before.
            known = self._known_recipient(planned)
            if known is not None:
                planned.recipient, planned.language = known.recipient, known.language
        covered: set[str] = set()
        base_group = planned.group
        while True:
            try:
                existing, condition = self._get(planned.doc_id())
            except NoticeNotFound:
                existing, condition = None, None
            if existing is None or existing.status == "draft":
                break
            # Sent (or at least approved) notices stay as they are; what they lack follows up.
            covered |= set(existing.finding_ids)
            result.kept.append(existing.doc_id())
            planned.group = f"{base_group}/after:{existing.doc_id()}"
        missing = [fid for fid in planned.finding_ids if fid not in covered]
        if not missing:
            return
        if covered:
            original = planned
            planned = draft([cases[fid] for fid in missing], Target(planned.recipient, planned.language),
                            planned.group or "", self.profile, unreviewed=unreviewed, now=now)
            if original.follow_up_of:  # a re-up's follow-up keeps citing the removed notice
                planned.follow_up_of, planned.remarks = original.follow_up_of, original.remarks
                planned = rerender(planned, self.profile, now=now)
        if existing is None:
            planned.history = [StatusChange(status="draft", at=now or utcnow(), by=by)]
            self._write(planned, None)
            (result.followups if covered else result.created).append(planned.doc_id())
            return
        # Refresh a draft: the findings' facts are new; people's edits and the history stay.
        planned.remarks, planned.history = existing.remarks, existing.history
        if existing.language != planned.language and existing.language in self.profile.notice_languages:
            planned.language = existing.language
        rerender(planned, self.profile, now=now)
        self._write(planned, condition)
        result.updated.append(planned.doc_id())

    # ----------------------------------------------------------------- export

    def export(self, out_dir: Path, *, ids: Iterable[str] | None = None, status: str | None = None,
               formats: Iterable[str] = FORMATS, progress: Callable[[str], object] | None = None) -> ExportResult:
        """Export notices (by id, or every one of a status) to ``out_dir``; records each manifest's SHA-256.
        ``progress`` hears each step (see :func:`takedown.export.export_batch`)."""
        if ids:
            notices = [self._get(i) for i in ids]
        else:
            notices = [self._get(n.doc_id()) for n in self.list(status=status)]
        if not notices:
            raise TakedownError(f"no {status or ''} notices of {self.profile.id} to export".replace("  ", " "))
        result = export_batch([n for n, _ in notices], self.profile, self.evidence, Path(out_dir), formats,
                              tsa=self.tsa, progress=progress)
        for notice, condition in notices:
            self._write(notice, condition)
        return result
