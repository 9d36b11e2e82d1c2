"""The structured report a recipient's web form asks for, as JSON (``Takedown.report``).

- a marketplace's IP-infringement report: rights owner, type of right, registrations,
  the listings with their sellers and capture times, and the statements the forms make
  you tick (the fields Amazon's, eBay VeRO's and similar forms share);
- Google Safe Browsing's phishing report (``url`` and ``dq``, its "additional details");
- Microsoft's "report an unsafe site" (URL, threat type, what it impersonates, comments).

No network call is made: legal staff (or a later integration) submit the data.
Registrars, hosts and internal recipients get the letter only (``None``).
"""

from __future__ import annotations

from typing import Any

from brandhound.items import NoticeEvidence, Takedown
from brandhound.profile import BrandProfile
from takedown.text import one_line

REPORT_VERSION = 1


def _capture(e: NoticeEvidence) -> dict[str, Any]:
    return {
        "captured_at": e.captured_at.isoformat() if e.captured_at else None,
        "final_url": one_line(e.final_url or e.url, 2000),
        "html_sha256": e.html.hash.sha256 if e.html else None,
        "screenshot_sha256": e.screenshot.hash.sha256 if e.screenshot else None,
    }


def _details(e: NoticeEvidence, profile: BrandProfile) -> str:
    official = ", ".join(profile.official_domains)
    when = e.captured_at.strftime("%Y-%m-%d %H:%M UTC") if e.captured_at else "unknown time"
    what = "phishing page" if e.kind == "phishing" else "fake store selling counterfeits"
    return (f"{what} impersonating {profile.name} (official sites: {official}); captured {when}; "
            f"screenshot SHA-256 {e.screenshot.hash.sha256 if e.screenshot else 'n/a'}")


def _form(name: str, notice: Takedown) -> dict[str, Any]:
    """What every report carries: the form, where it is submitted, the notice it belongs to."""
    return {"form": name, "version": REPORT_VERSION, "submit_to": notice.recipient.form_url,
            "reference": notice.doc_id()}


def marketplace_report(notice: Takedown, profile: BrandProfile) -> dict[str, Any]:
    holder = profile.rights_holder
    return {
        **_form("marketplace_ip_infringement_report", notice),
        "marketplace": notice.recipient.name,
        "rights_owner": {"name": holder.legal_name, "address": holder.address, "country": holder.country,
                         "email": holder.email, "phone": holder.phone},
        "reporter": {"name": holder.signatory.name, "email": holder.signatory.email,
                     "relationship": "authorised agent of the rights owner"},
        "right_type": "trademark",
        "infringement_type": "counterfeit",
        "trademarks": [{"mark": m.mark, "office": m.office, "registration_number": m.number, "classes": m.classes}
                       for m in holder.trademarks],
        "copyrighted_works": list(holder.copyrighted_works),
        "listings": [{"url": one_line(e.url, 2000), "title": one_line(e.title), "seller": one_line(e.seller),
                      **_capture(e)} for e in notice.evidence],
        "statements": {"good_faith_belief": True, "accurate_under_penalty_of_perjury": True,
                       "authorised_to_act": True},
        "signature": holder.signatory.name,
    }


def google_safe_browsing_report(notice: Takedown, profile: BrandProfile) -> dict[str, Any]:
    return {
        **_form("google_safe_browsing_report_phish", notice),
        "reports": [{"url": one_line(e.url, 2000), "dq": _details(e, profile), **_capture(e)}
                    for e in notice.evidence],
    }


def microsoft_report(notice: Takedown, profile: BrandProfile) -> dict[str, Any]:
    return {
        **_form("microsoft_report_unsafe_site", notice),
        "reports": [{"url": one_line(e.url, 2000), "threat_type": "phishing" if e.kind == "phishing" else "fraud",
                     "impersonated_brand": profile.name,
                     "official_site": f"https://{profile.official_domains[0]}/",
                     "comments": _details(e, profile), **_capture(e)} for e in notice.evidence],
        "reporter_email": profile.rights_holder.email,
    }


def build_report(notice: Takedown, profile: BrandProfile) -> dict[str, Any] | None:
    """The form data for ``notice``'s recipient, or None when its recipient takes letters only."""
    kind = notice.recipient.kind
    if kind == "marketplace":
        return marketplace_report(notice, profile)
    if kind == "search_engine":
        name = (notice.recipient.name or "").lower()
        return google_safe_browsing_report(notice, profile) if "google" in name else microsoft_report(notice, profile)
    return None
