"""The takedown-drafting job: drafts (never sends) notices for the brand's findings.

Wraps :meth:`takedown.service.TakedownService.draft_from_findings`: notices are grouped per
recipient and campaign, and their ids come from those, so a repeated or retried run updates the
same drafts (and leaves notices past draft alone) instead of creating new ones. Recipients are
found from the profile (marketplace abuse contacts) and, with ``lookups``, from RDAP and hosting
records (network traffic: off unless the operator asks for it).
"""

from __future__ import annotations

from typing import Any

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
