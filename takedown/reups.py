"""Re-ups: removed content that comes back within its watch window becomes a follow-up notice citing the first.

For ``WATCH_FOR`` (30 days) after a notice is removed (until the ``watch_until`` the re-check
sets), a finding seen after the removal *matches* the notice, by the first of these rules that holds (:func:`reup_rule`):

- ``same_url``: its URL (as found or after redirects) is one the notice listed;
- ``same_seller``: the same seller name (case-insensitive) on the same marketplace, i.e. the
  same registrable domain (else host) as one of the notice's listings;
- ``same_campaign``: the finding belongs to the notice's campaign;
- ``same_images``: one of its listing images has the SHA-256 of an image the notice listed;
- ``same_page``: its captured HTML or screenshot has the SHA-256 of one the notice listed, or
  the caller's ``same_page`` test (the detectors' page fingerprints, which need the evidence
  store) says the captures look alike.

A match drafts a follow-up (:func:`follow_up_notice`) to the same recipient, with
``follow_up_of`` set and its remarks citing the earlier notice and its removal date.
:func:`repeat_infringers` names the sellers and registrants seen in several removals.
Everything here is pure: the caller lists the removed notices and the new cases.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import AbstractSet, Callable, Iterable, Mapping
from urllib.parse import urlsplit

from brandhound.items import File, NoticeEvidence, Takedown
from brandhound.profile import BrandProfile
from brandhound.urls import registered_domain
from takedown.drafting import draft, evidence_of, rerender
from takedown.recheck import WATCH_FOR
from takedown.recipients import Case, Target

#: The matching rules, in the order they are tried.
RULES = ("same_url", "same_seller", "same_campaign", "same_images", "same_page")

RULE_WORDS = {"same_url": "the same URL", "same_seller": "the same seller on the same marketplace",
              "same_campaign": "the same campaign", "same_images": "the same product images",
              "same_page": "the same page"}

SamePage = Callable[[NoticeEvidence, Case], bool]


def status_time(notice: Takedown, status: str) -> datetime | None:
    """When ``notice`` first entered ``status``, from its history; None if it never did."""
    times = [c.at for c in notice.history if c.status == status]
    return min(times) if times else None


def watch_end(notice: Takedown) -> datetime | None:
    """Until when the removed content of ``notice`` is watched: ``watch_until``, else removal + WATCH_FOR
    (a notice marked removed by hand has no ``watch_until``)."""
    if notice.watch_until:
        return notice.watch_until
    removed = status_time(notice, "removed")
    return removed + WATCH_FOR if removed else None


def start_watch(notice: Takedown, watch: timedelta = WATCH_FOR) -> Takedown:
    """Set ``watch_until`` to ``watch`` after the removal of ``notice`` (for a notice marked removed by hand)."""
    removed = status_time(notice, "removed")
    if removed is None:
        raise ValueError(f"notice {notice.doc_id()} is {notice.status}: only a removed notice is watched for re-ups")
    notice.watch_until = removed + watch
    return notice


def _site(url: str) -> str:
    """The registrable domain of ``url``, else its host (names under no public suffix, IP addresses)."""
    return registered_domain(url) or (urlsplit(url).hostname or "").lower()


def _fold(text: str | None) -> str:
    return " ".join((text or "").split()).casefold()


def _shas(files: Iterable[File | None]) -> set[str]:
    return {f.hash.sha256 for f in files if f is not None and f.hash.sha256}


def reup_rule(notice: Takedown, case: Case, same_page: SamePage | None = None) -> str | None:
    """The first rule by which ``case`` is ``notice``'s content back again, or None. Ignores time."""
    entry = evidence_of(case)
    listed = notice.evidence
    urls = set(notice.urls) | {u for e in listed for u in (e.url, e.final_url) if u}
    if {entry.url, entry.final_url} & urls - {None}:
        return "same_url"
    if entry.seller and entry.url:
        market = _site(entry.url)
        if any(_fold(e.seller) == _fold(entry.seller) and e.url and _site(e.url) == market
               for e in listed if e.seller):
            return "same_seller"
    if case.finding.campaign.id and case.finding.campaign.id == notice.campaign.id:
        return "same_campaign"
    if _shas(entry.images) & _shas(i for e in listed for i in e.images):
        return "same_images"
    if _shas([entry.html, entry.screenshot]) & _shas(f for e in listed for f in (e.html, e.screenshot)):
        return "same_page"
    if same_page is not None and any(same_page(e, case) for e in listed):
        return "same_page"
    return None


def match_reups(removed_notices: Iterable[Takedown], cases: Iterable[Case], now: datetime,
                same_page: SamePage | None = None) -> list[tuple[Takedown, Case]]:
    """Each (removed notice, case) where the case, seen after the removal and within the watch, matches it.

    A case's sighting time is its capture time (as the notice would quote it), else ``now``.
    Notices not removed, or whose watch ended before ``now``, are not watched.
    """
    cases = list(cases)
    matches = []
    for notice in removed_notices:
        removed, until = status_time(notice, "removed"), watch_end(notice)
        if notice.status != "removed" or removed is None or until is None or now > until:
            continue
        for case in cases:
            seen = evidence_of(case).captured_at or now
            if removed < seen <= until and reup_rule(notice, case, same_page) is not None:
                matches.append((notice, case))
    return matches


def follow_up_group(earlier: Takedown) -> str:
    """The group of the follow-up to ``earlier``: one follow-up per removed notice, re-drafted in place."""
    return f"reup-of:{earlier.doc_id()}"


def follow_up_notice(earlier: Takedown, cases: list[Case], profile: BrandProfile, *, now: datetime,
                     same_page: SamePage | None = None, unreviewed: AbstractSet[str] = frozenset()) -> Takedown:
    """A draft to ``earlier``'s recipient for ``cases`` (its re-ups), citing it by id and removal date."""
    if not cases:
        raise ValueError(f"a follow-up of notice {earlier.doc_id()} needs at least one re-upped finding")
    removed = status_time(earlier, "removed")
    if removed is None:
        raise ValueError(f"notice {earlier.doc_id()} is {earlier.status}: only a removed notice has re-ups")
    notice = draft(cases, Target(earlier.recipient, earlier.language), follow_up_group(earlier), profile,
                   unreviewed=set(unreviewed), now=now)
    notice.follow_up_of = earlier.doc_id()
    seen = [evidence_of(c).captured_at for c in cases]
    notice.detected_at = min((s for s in seen if s), default=now)
    rules = sorted({r for c in cases if (r := reup_rule(earlier, c, same_page))}, key=RULES.index)
    how = ", ".join(RULE_WORDS[r] for r in rules) or "the same content"
    notice.remarks = (f"This is a follow-up to our notice {earlier.doc_id()}, which you acted on by removing the "
                      f"content on {removed:%Y-%m-%d}. It is online again ({how}); we ask you to remove it again "
                      "and to take the measures against repeat infringers your terms provide for.")
    return rerender(notice, profile, now=now)


def plan_follow_ups(removed_notices: Iterable[Takedown], cases: Iterable[Case], profile: BrandProfile, *,
                    now: datetime, same_page: SamePage | None = None,
                    unreviewed: AbstractSet[str] = frozenset()) -> list[Takedown]:
    """One follow-up draft per removed notice that ``cases`` re-up (not stored), in id order."""
    matched: dict[str, tuple[Takedown, list[Case]]] = {}
    for earlier, case in match_reups(removed_notices, cases, now, same_page):
        matched.setdefault(earlier.doc_id(), (earlier, []))[1].append(case)
    return [follow_up_notice(earlier, members, profile, now=now, same_page=same_page, unreviewed=unreviewed)
            for _, (earlier, members) in sorted(matched.items())]


def _recipient_key(notice: Takedown) -> tuple[str, str]:
    return notice.recipient.kind, notice.recipient.email or notice.recipient.name or ""


def without_reups(planned: Iterable[Takedown], follow_ups: Iterable[Takedown], cases: Mapping[str, Case],
                  profile: BrandProfile, *, now: datetime, unreviewed: AbstractSet[str] = frozenset()
                  ) -> list[Takedown]:
    """``planned`` notices less the findings a follow-up to the same recipient already covers.

    A re-up goes to its recipient once, as the follow-up citing the removed notice; the ordinary
    plan would otherwise draft it again as a new notice. ``cases``: by finding id.
    """
    covered: dict[tuple[str, str], set[str]] = {}
    for f in follow_ups:
        covered.setdefault(_recipient_key(f), set()).update(f.finding_ids)
    out = []
    for notice in planned:
        taken = covered.get(_recipient_key(notice), set())
        rest = [fid for fid in notice.finding_ids if fid not in taken]
        if len(rest) == len(notice.finding_ids):
            out.append(notice)
        elif rest:
            out.append(draft([cases[fid] for fid in rest], Target(notice.recipient, notice.language),
                             notice.group or "", profile, unreviewed=set(unreviewed), now=now))
    return out


@dataclass
class RepeatInfringer:
    """A seller (on a marketplace) or a registrant seen in ``len(notice_ids)`` removed notices' cases."""

    kind: str  # seller or registrant
    name: str
    where: str | None  # the marketplace's registrable domain, for sellers
    notice_ids: list[str] = field(default_factory=list)


def _case_key(notice: Takedown) -> str:
    # One case goes to several recipients (registrar, host, search engines): count it once.
    return notice.group or notice.doc_id()


def repeat_infringers(notices: Iterable[Takedown], n: int = 2,
                      registrants: Mapping[str, str] | None = None) -> list[RepeatInfringer]:
    """Sellers and registrants in ``n`` or more removed notices, counted once per case across recipients.

    ``registrants`` maps a registrable domain to its registrant (from RDAP; the notices do not
    carry it). Sorted by most removals first.
    """
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n!r}")
    seen: dict[tuple[str, str, str | None], tuple[str, dict[str, str]]] = {}
    for notice in notices:
        if notice.status != "removed":
            continue
        for e in notice.evidence:
            if e.seller:
                market = _site(e.url) if e.url else None
                entry = seen.setdefault(("seller", _fold(e.seller), market), (e.seller, {}))
                entry[1].setdefault(_case_key(notice), notice.doc_id())
        for url in notice.urls:
            registrant = (registrants or {}).get(_site(url))
            if registrant:
                entry = seen.setdefault(("registrant", _fold(registrant), None), (registrant, {}))
                entry[1].setdefault(_case_key(notice), notice.doc_id())
    out = [RepeatInfringer(kind=kind, name=name, where=where, notice_ids=sorted(ids.values()))
           for (kind, _, where), (name, ids) in seen.items() if len(ids) >= n]
    return sorted(out, key=lambda r: (-len(r.notice_ids), r.kind, _fold(r.name), r.where or ""))
