"""Who a finding's notices go to, and in which language.

- counterfeit listing: the marketplace's IP-infringement desk (``marketplaces`` in the profile);
- fake store, phishing: the domain's registrar (the site's RDAP facts, else an RDAP lookup),
  its hosting provider (an RDAP ``ip`` lookup, :mod:`takedown.hosting`) and the search
  engines' phishing report forms (Google Safe Browsing, Microsoft);
- anything on an onion site, where no takedown exists: an intelligence report to the
  brand's law-enforcement liaison, or to its own team when none is configured;
- leaked credentials, cards and secrets: an internal notification, never an external one.

The profile's ``takedown_contacts`` override what RDAP says (per domain, registrar or
hosting provider). A recipient whose address cannot be found is still returned, with its
``source`` ``unknown``, so the notice is drafted and legal staff see what is missing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from urllib.parse import urlsplit

from brandhound.values import LEAK_FINDING_KINDS, SITE_FINDING_KINDS
from brandhound.items import Finding, Leak, Listing, Page, Recipient, Site
from brandhound.profile import BrandProfile, TakedownContact
from brandhound.urls import registered_domain
from detectors.rdap import RdapClient, RdapError
from takedown.hosting import HostingLookup
from takedown.legal import DNS_ABUSE_KINDS

log = logging.getLogger(__name__)

RECIPIENT_KINDS = ("marketplace", "registrar", "host", "search_engine", "law_enforcement", "internal")
LEAK_KINDS = frozenset(LEAK_FINDING_KINDS)
SITE_KINDS = frozenset(SITE_FINDING_KINDS)

#: The search engines' public report forms for phishing and deceptive sites.
SEARCH_ENGINES = (
    Recipient(kind="search_engine", name="Google Safe Browsing",
              form_url="https://safebrowsing.google.com/safebrowsing/report_phish/", source="builtin"),
    Recipient(kind="search_engine", name="Microsoft Defender SmartScreen",
              form_url="https://www.microsoft.com/en-us/wdsi/support/report-unsafe-site", source="builtin"),
)

#: A recipient's language from the country code of its address, when the brand writes in it.
LANGUAGE_OF_TLD = {"fi": "fi", "es": "es", "mx": "es", "ar": "es", "cl": "es", "co": "es", "pe": "es",
                   "pt": "pt", "br": "pt", "ao": "pt", "mz": "pt", "pl": "pl"}


@dataclass
class Case:
    """A finding with the documents it is about: its subject and the captured page."""

    finding: Finding
    subject: Listing | Site | Leak | None = None
    page: Page | None = None

    @property
    def url(self) -> str | None:
        return (self.finding.url.full if self.finding.url else None) or self.finding.subject.url

    @property
    def host(self) -> str:
        return (urlsplit(self.url or "").hostname or "").lower()

    @property
    def on_onion(self) -> bool:
        source = self.finding.crawl.source_type or getattr(getattr(self.subject, "crawl", None), "source_type", None)
        return source == "onion" or self.host.endswith(".onion")


@dataclass(frozen=True)
class Target:
    """One recipient of a notice and the language to write to it in."""

    recipient: Recipient
    language: str


class RecipientFinder:
    """Finds the recipients of a :class:`Case` for one brand profile."""

    def __init__(self, profile: BrandProfile, rdap: RdapClient | None = None, hosting: HostingLookup | None = None):
        self.profile = profile
        self.rdap = rdap
        self.hosting = hosting

    def targets(self, case: Case) -> list[Target]:
        kind = case.finding.kind
        if kind in LEAK_KINDS:
            recipients = [self._own("internal", "brand protection team")]
        elif case.on_onion:
            recipients = [self._own("law_enforcement", "intelligence desk")]
        elif kind in SITE_KINDS:
            # Registrars act on DNS abuse only (ICANN RAA 3.18: phishing, malware, botnets, pharming and the
            # spam delivering them); a counterfeit fake store goes to its host and the search engines.
            registrar = [self._registrar(case)] if kind in DNS_ABUSE_KINDS else []
            recipients = [*registrar, self._host(case), *SEARCH_ENGINES]
        else:
            recipients = [self._marketplace(case)]
        return [Target(r, self._language(r)) for r in recipients]

    # ----------------------------------------------------------------- by kind

    def _marketplace(self, case: Case) -> Recipient:
        listing = case.subject if isinstance(case.subject, Listing) else None
        zone = registered_domain(case.host) or case.host
        for market in self.profile.marketplaces:
            if (listing and listing.marketplace == market.name) or zone == registered_domain(market.domain):
                return Recipient(kind="marketplace", name=market.name, email=market.abuse_email,
                                 form_url=market.report_form_url, source="profile")
        name = (listing.marketplace if listing else None) or zone or "unknown marketplace"
        return Recipient(kind="marketplace", name=name, source="unknown")

    def _registrar(self, case: Case) -> Recipient:
        zone = registered_domain(case.host) or case.host
        rdap = case.subject.rdap if isinstance(case.subject, Site) else None
        name, email, source = (rdap.registrar, rdap.registrar_abuse_email, "site") if rdap else (None, None, None)
        if not (name and email) and self.rdap is not None and zone:
            try:
                record = self.rdap.lookup(zone)
                name, email, source = record.registrar, record.abuse_email, "rdap"
            except RdapError as exc:
                log.warning("registrar of %s: RDAP lookup failed: %s", zone, exc)
        override = self._override("registrar", zone, registrar=name)
        if override:
            return _from_contact(override)
        return Recipient(kind="registrar", name=name or f"registrar of {zone}", email=email,
                         source=source if email else "unknown")

    def _host(self, case: Case) -> Recipient:
        zone = registered_domain(case.host) or case.host
        provider = email = source = None
        if self.hosting is not None and case.host:
            try:
                record = self.hosting.lookup_host(case.host)
                provider, email, source = record.provider, record.abuse_email, "rdap"
            except RdapError as exc:
                log.warning("hosting provider of %s: RDAP lookup failed: %s", case.host, exc)
        override = self._override("host", zone, hosting_provider=provider)
        if override:
            return _from_contact(override)
        return Recipient(kind="host", name=provider or f"hosting provider of {zone}", email=email,
                         source=source if email else "unknown")

    def _own(self, kind: str, role: str) -> Recipient:
        """The configured liaison or team, else the rights holder's own address."""
        override = self._override(kind, None)
        if override:
            return _from_contact(override)
        holder = self.profile.rights_holder
        return Recipient(kind="internal", name=f"{self.profile.name} {role}", email=holder.email, source="fallback")

    # ----------------------------------------------------------------- helpers

    def _override(self, kind: str, zone: str | None, *, registrar: str | None = None,
                  hosting_provider: str | None = None) -> TakedownContact | None:
        for contact in self.profile.takedown_contacts:
            if contact.kind != kind:
                continue
            if contact.domain and zone and registered_domain(contact.domain) == zone:
                return contact
            if contact.registrar and registrar and contact.registrar.casefold() == registrar.casefold():
                return contact
            if (contact.hosting_provider and hosting_provider
                    and contact.hosting_provider.casefold() == hosting_provider.casefold()):
                return contact
            if kind in ("law_enforcement", "internal"):
                return contact
        return None

    def _language(self, recipient: Recipient) -> str:
        for contact in self.profile.takedown_contacts:
            if contact.language and contact.name == recipient.name and contact.kind == recipient.kind:
                return contact.language if contact.language in self.profile.notice_languages else "en"
        address = recipient.email or urlsplit(recipient.form_url or "").hostname or ""
        tld = address.rsplit(".", 1)[-1].lower()
        language = LANGUAGE_OF_TLD.get(tld, "en")
        return language if language in self.profile.notice_languages else "en"


def _from_contact(contact: TakedownContact) -> Recipient:
    return Recipient(kind=contact.kind, name=contact.name, email=contact.email, form_url=contact.form_url,
                     source="profile")
