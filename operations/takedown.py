"""The takedown jobs: drafting (never sending) notices for the brand's findings, and re-checking sent ones.

Wraps :meth:`takedown.service.TakedownService.draft_from_findings`: notices are grouped per
recipient and campaign, and their ids come from those, so a repeated or retried run updates the
same drafts (and leaves notices past draft alone) instead of creating new ones. Recipients are
found from the profile (marketplace abuse contacts) and, with ``lookups``, from RDAP and hosting
records (network traffic: off unless the operator asks for it). :func:`recheck_takedowns` wraps
:func:`takedown.recheck.recheck`: sent notices' URLs re-fetched, notices whose every URL is confirmed removed closed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Callable

from brandhound.config import Settings
from brandhound.profile import load_profile


def draft_takedowns(settings: Settings, brand: str, *, by: str = "airflow", include_flagged: bool = False,
                    lookups: bool = False) -> dict[str, Any]:
    """Draft notices for the brand's confirmed findings (plus merely flagged ones with ``include_flagged``,
    labelled unreviewed); counts for the task's XCom."""
    from takedown.recipients import RecipientFinder
    from takedown.service import TakedownService

    profile = load_profile(brand)
    finder = RecipientFinder(profile)
    if lookups:
        from detectors.rdap import RdapClient
        from takedown.hosting import HostingLookup

        finder = RecipientFinder(profile, RdapClient.from_settings(), HostingLookup.from_env())
    service = TakedownService.from_settings(settings, profile, finder)
    service.ensure_indices()
    result = service.draft_from_findings(by=by, include_flagged=include_flagged)
    return {"brand": profile.id, "findings": result.findings, "created": len(result.created),
            "updated": len(result.updated), "followups": len(result.followups), "kept": len(set(result.kept))}


def recheck_takedowns(settings: Settings, brand: str, *, min_gap_hours: float | None = None,
                      allow_private: bool = False, now: datetime | None = None,
                      fetch: Callable[[str], Any] | None = None) -> dict[str, Any]:
    """Re-fetch the URLs of the brand's sent and acknowledged notices (``takedown.recheck``), closing those
    whose every URL is confirmed removed; totals for the task's XCom. ``now`` and ``fetch`` (the re-fetcher,
    else plain HTTP configured from the environment) are for a simulated clock and a sandbox's resolver."""
    from datetime import timedelta

    from takedown.recheck import MIN_GAP, recheck
    from takedown.refetch import HttpRefetcher
    from takedown.service import TakedownService

    profile = load_profile(brand)
    service = TakedownService.from_settings(settings, profile)
    gap = MIN_GAP if min_gap_hours is None else timedelta(hours=min_gap_hours)
    if fetch is None:
        fetch = HttpRefetcher.from_env(allow_private=True) if allow_private else HttpRefetcher.from_env()
    summary = recheck(service, fetch, now=now, min_gap=gap)
    return {"brand": profile.id, **summary.totals(),
            "closed_ids": [n.notice_id for n in summary.notices if n.closed]}
