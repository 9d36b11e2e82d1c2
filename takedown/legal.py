"""What the law asks of a notice, per recipient kind, checked on the rendered notice before approval.

Three regimes, each a list of elements with the rule's own numbering:

- ``dmca_512c3``: 17 U.S.C. 512(c)(3)(A)(i)-(vi), for US hosts and marketplaces, and for search
  engines (512(d)(3) asks the same elements of a notice to an information location tool);
- ``dsa_art16``: EU Digital Services Act, Regulation (EU) 2022/2065, Article 16(2)(a)-(d), for
  hosting services and online platforms (marketplaces) in the EU;
- ``icann_raa_3_18``: the "actionable evidence" of DNS abuse a registrar must act on under section
  3.18 of ICANN's Registrar Accreditation Agreement (2024 amendment). DNS abuse there is malware,
  botnets, phishing, pharming, and spam that delivers them: a counterfeit fake store without
  phishing is not DNS abuse, so it goes to its host and the search engines, not the registrar.

Elements are looked for in the rendered body (the statements in the notice's language, or in
English where the notice fell back to it), so an edit or a template that drops one is caught.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Callable
from urllib.parse import urlsplit

from brandhound.items import LegalCheck, Takedown, utcnow
from brandhound.profile import BrandProfile
from brandhound.urls import registered_domain
from takedown.render import FALLBACK, catalog
from takedown.text import one_line

DMCA, DSA, RAA = "dmca_512c3", "dsa_art16", "icann_raa_3_18"

#: Finding kinds that are DNS abuse under RAA 3.18 (of the kinds brandhound finds, only phishing).
DNS_ABUSE_KINDS = frozenset({"phishing", "malware", "botnet", "pharming", "spam"})

#: Country-code TLDs of the EU member states, and .eu: a recipient there is under the DSA.
EU_TLDS = frozenset("at be bg hr cy cz dk ee fi fr de gr hu ie it lv lt lu mt nl pl pt ro sk si es se eu".split())
US_TLDS = frozenset({"us", "gov", "mil"})


@dataclass(frozen=True)
class Facts:
    """What the elements are checked against: the notice, its body on one line, the brand's profile."""

    notice: Takedown
    text: str
    profile: BrandProfile

    def has_phrase(self, key: str) -> bool:
        """Whether the catalogue phrase ``key`` (its fixed words around any values) is in the body."""
        for language in (self.notice.language, FALLBACK):
            phrase = catalog(language).get(key)
            if phrase and _phrase_pattern(phrase).search(self.text):
                return True
        return False

    def has(self, value: str | None) -> bool:
        return bool(value) and " ".join(str(value).split()) in self.text


def _phrase_pattern(phrase: str) -> re.Pattern[str]:
    pieces = [" ".join(p.split()) for p in re.split(r"\{[^}]*\}", phrase)]
    return re.compile(".+?".join(re.escape(p) for p in pieces if p.strip()))


Test = Callable[[Facts], str | None]  # None when the element is there, else what is wrong


@dataclass(frozen=True)
class Element:
    ref: str
    name: str
    test: Test

    def missing(self, facts: Facts) -> str | None:
        problem = self.test(facts)
        return None if problem is None else f"{self.ref} {self.name} ({problem})"


# --------------------------------------------------------------------------- element tests


def _phrase(key: str, what: str) -> Test:
    return lambda f: None if f.has_phrase(key) else f"no {what}"


def _signature(f: Facts) -> str | None:
    signatory = f.profile.rights_holder.signatory
    if not (f.has(signatory.name) and f.has_phrase("signature")):
        return f"no signature of {signatory.name}"
    return None


def _works(f: Facts) -> str | None:
    holder = f.profile.rights_holder
    if any(f.has(m.number) for m in holder.trademarks) or any(f.has(w) for w in holder.copyrighted_works):
        return None
    return "no registered trade mark or work of the rights holder is identified"


def _locations(f: Facts) -> str | None:
    urls = sorted({u for u in f.notice.urls} | {e.url for e in f.notice.evidence if e.url})
    if not urls:
        return "the notice lists no URL"
    # A URL cut short in the text (takedown.text.MAX_QUOTED) does not locate the material either.
    absent = [one_line(u, 120) for u in urls if not f.has(u)]
    return f"URL not in the text: {', '.join(absent)}" if absent else None


def _contact(*, phone: bool) -> Test:
    def test(f: Facts) -> str | None:
        holder = f.profile.rights_holder
        wanted: dict[str, str | None] = {"name": holder.legal_name, "e-mail": holder.email}
        if phone:
            wanted |= {"address": holder.address, "telephone": holder.phone}
        absent = [label for label, value in wanted.items() if value and not f.has(value)]
        return f"rights holder's {', '.join(absent)} not in the text" if absent else None
    return test


def _dns_abuse(f: Facts) -> str | None:
    kinds = {e.kind for e in f.notice.evidence}
    other = sorted(kinds - DNS_ABUSE_KINDS)
    if other:
        return (f"{', '.join(k.replace('_', ' ') for k in other)} is not DNS abuse (phishing, malware, botnets, "
                "pharming, spam delivering them): it belongs to the host and the search engines (DSA / DMCA), "
                "not the registrar")
    if not kinds:
        return "the notice lists no finding"
    if not f.has_phrase("dns_abuse"):
        return "the notice does not name the abuse as DNS abuse under RAA 3.18"
    return None


def _domains(f: Facts) -> str | None:
    hosts = {(urlsplit(e.url).hostname or "") for e in f.notice.evidence if e.url}
    domains = sorted({registered_domain(h) or h for h in hosts if h})
    if not domains:
        return "no domain name"
    absent = [d for d in domains if not f.has(d)]
    return f"domain not in the text: {', '.join(absent)}" if absent else None


def _timestamps(f: Facts) -> str | None:
    absent = [e.url or e.finding_id for e in f.notice.evidence
              if not (e.captured_at and f.has(e.captured_at.strftime("%Y-%m-%d %H:%M:%S")))]
    return f"no capture time for {', '.join(absent)}" if absent else None


def _hashes(f: Facts) -> str | None:
    absent = [e.url or e.finding_id for e in f.notice.evidence
              if not any(x is not None and f.has(x.hash.sha256) for x in (e.screenshot, e.html))]
    return f"no SHA-256 of a captured page or screenshot for {', '.join(absent)}" if absent else None


REGIMES: dict[str, tuple[Element, ...]] = {
    DMCA: (
        Element("512(c)(3)(A)(i)", "signature", _signature),
        Element("512(c)(3)(A)(ii)", "identification of the work or mark infringed", _works),
        Element("512(c)(3)(A)(iii)", "identification and location of the infringing material", _locations),
        Element("512(c)(3)(A)(iv)", "contact information", _contact(phone=True)),
        Element("512(c)(3)(A)(v)", "good-faith statement", _phrase("good_faith", "good-faith statement")),
        Element("512(c)(3)(A)(vi)", "accuracy and authority under penalty of perjury",
                _phrase("accuracy", "statement under penalty of perjury")),
    ),
    DSA: (
        Element("16(2)(a)", "explanation of why the information is illegal",
                _phrase("illegality", "substantiated explanation")),
        Element("16(2)(b)", "exact electronic location (URLs)", _locations),
        Element("16(2)(c)", "name and e-mail address of the notifier", _contact(phone=False)),
        Element("16(2)(d)", "statement of bona fide belief that it is accurate and complete",
                _phrase("bona_fide", "bona fide statement")),
    ),
    RAA: (
        Element("3.18.2", "DNS abuse type", _dns_abuse),
        Element("3.18.2", "domain names", _domains),
        Element("3.18.2", "evidence URLs", _locations),
        Element("3.18.2", "timestamps of the evidence", _timestamps),
        Element("3.18.2", "evidence hashes (page, screenshot)", _hashes),
        Element("3.18.1", "reporter's name and e-mail address", _contact(phone=False)),
    ),
}


def jurisdictions(notice: Takedown, jurisdiction: str | None = None) -> set[str]:
    """``{"US"}``, ``{"EU"}`` or both: where the recipient is, as far as the notice knows.

    ``jurisdiction`` (``US`` or ``EU``) wins when given. Otherwise the country-code TLD of the
    recipient's e-mail address, else of its report form's host, decides: an EU member state's
    or ``.eu`` is EU, ``.us``/``.gov`` is US. When that says nothing (``.com``, no address), both
    apply, so a notice that satisfies both laws is never refused for a guess about where it goes.
    """
    if jurisdiction:
        return {jurisdiction.upper()}
    r = notice.recipient
    host = (r.email or "").rpartition("@")[2] or urlsplit(r.form_url or "").hostname or ""
    tld = host.rstrip(".").rpartition(".")[2].lower()
    if tld in EU_TLDS:
        return {"EU"}
    if tld in US_TLDS:
        return {"US"}
    return {"US", "EU"}


def regimes(notice: Takedown, jurisdiction: str | None = None) -> list[str]:
    """The regimes a notice to its recipient must satisfy; none for internal and law-enforcement reports."""
    kind = notice.recipient.kind
    if kind == "registrar":
        return [RAA]
    if kind == "marketplace":
        # Online platforms' IP programmes take DMCA-style notices whatever their seat; the DSA binds them in the EU.
        return [DMCA, DSA]
    if kind in ("host", "search_engine"):
        where = jurisdictions(notice, jurisdiction)
        return [r for r, j in ((DMCA, "US"), (DSA, "EU")) if j in where]
    return []


def check(notice: Takedown, profile: BrandProfile, *, jurisdiction: str | None = None,
          now: datetime | None = None) -> list[LegalCheck]:
    """One :class:`LegalCheck` per regime that applies to ``notice``, listing the elements its body lacks."""
    facts = Facts(notice, " ".join((notice.body or "").split()), profile)
    at = now or utcnow()
    out = []
    for regime in regimes(notice, jurisdiction):
        missing = [m for m in (e.missing(facts) for e in REGIMES[regime]) if m]
        out.append(LegalCheck(regime=regime, missing=missing, checked_at=at))
    return out


def refusal(notice: Takedown, checks: list[LegalCheck]) -> str | None:
    """Why ``notice`` cannot be approved, naming each regime and missing element; None when complete."""
    failed = [c for c in checks if c.missing]
    if not failed:
        return None
    lines = "; ".join(f"{c.regime} lacks {'; '.join(c.missing)}" for c in failed)
    return f"notice {notice.doc_id()} cannot be approved: {lines}"
