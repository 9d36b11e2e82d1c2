"""Leaked credentials, cards and secrets of the brand in crawled dumps (pastes, forum posts).

For a capture with ``dump_text`` the :class:`LeakScanner` finds the brand's leaks; hits of the
same account and secret (same HMAC) within the capture are merged into one
:class:`~brandhound.items.Leak` with its sightings counted, and each leak gets one
:class:`~brandhound.items.Finding` whose signals say why:

- ``credential_leak``: an account at a corporate e-mail domain with a password
  (``corporate_domain``; ``brand_service`` when the dump names a brand site as the service);
- ``card_leak``: a Luhn-valid number in one of the brand's BIN ranges (``brand_bin``;
  ``expiry_follows`` when an expiry date follows it, as in card dumps). Numbers outside the
  brand's ranges are not the brand's business and are skipped unless ``report_other_cards``
  (setting ``BRANDHOUND_LEAKS_OTHER_CARDS``); they then score below the threshold;
- ``secret_leak``: an API key, token or private key (``key_type``; ``brand_secret_prefix`` for
  the profile's own prefixes; ``assigned`` when it is the value of a variable, as in ``.env``
  files).

Every finding also has ``sightings_in_dump``: how many lines of the dump hold it.

The leak documents go on ``capture.leaks`` for the indexer, which merges them with what is
already indexed through :func:`merge_leak`. Nothing here ever holds a clear password, card
number or key: the scanner hands over masked and keyed-hashed forms only.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from brandhound.config import HmacKey
from crawlers.config import core_settings
from brandhound.items import (
    BrandRef, Crawl, Event, Finding, Indicator, Leak, Subject, Threat, Url, User, utcnow,
)
from brandhound.mapping import from_document
from brandhound.profile import BrandProfile
from brandhound.values import LEAK_FINDING_KINDS, leak_finding_kind, verdict
from detectors.leak_scan import LeakHit, LeakScanner
from detectors.secret_masking import previous_hmacs
from detectors.scoring import Evidence, combine, explain

log = logging.getLogger(__name__)

DATASET = "detect.leak"
#: How sure a key type alone makes us that the secret is a live, leaked one.
KEY_TYPE_WEIGHTS = {
    "brand_api_key": 0.9,
    "private_key": 0.8,
    "aws_access_key_id": 0.8,
    "aws_secret_access_key": 0.8,
    "aws_session_token": 0.8,
    "github_token": 0.8,
    "gitlab_token": 0.8,
    "slack_token": 0.8,
    "slack_webhook": 0.75,
    "stripe_key": 0.8,
    "google_api_key": 0.75,
    "digitalocean_token": 0.8,
    "heroku_api_key": 0.75,
    "mailchimp_api_key": 0.75,
    "npm_token": 0.8,
    "pypi_token": 0.8,
    "sendgrid_api_key": 0.8,
    "shopify_token": 0.8,
    "twilio_api_key": 0.75,
    "datadog_api_key": 0.75,
    "dropbox_token": 0.75,
    "travis_token": 0.75,
    "circleci_token": 0.75,
    "azure_storage_key": 0.8,
    "azure_client_secret": 0.8,
    "google_oauth_secret": 0.8,
    "alibaba_access_key_id": 0.75,
    "databricks_token": 0.8,
    "vault_token": 0.8,
    "openai_api_key": 0.8,
    "anthropic_api_key": 0.8,
    "huggingface_token": 0.75,
    "atlassian_api_token": 0.8,
    "square_token": 0.8,
    "postman_api_key": 0.75,
    "grafana_token": 0.75,
    "newrelic_api_key": 0.75,
    "facebook_access_token": 0.75,
    # base64 of user:password for a package registry (npm's _auth, Docker's auth).
    "registry_auth": 0.75,
    # A token known only by the name of the setting it is assigned to: flagged with that assignment.
    "api_token": 0.6,
    "jwt": 0.6,
}
WEIGHTS = {
    "corporate_domain": 0.85,
    "brand_service": 0.3,
    "luhn_valid": 0.3,
    "brand_bin": 0.85,
    "expiry_follows": 0.2,
    "assigned": 0.25,
    "sightings_in_dump": 0.1,
}
#: Most sources a merged leak lists (the newest are kept).
MAX_SOURCES = 500


@dataclass
class _Group:
    """Hits of one leak within one capture."""

    first: LeakHit
    lines: list[int] = field(default_factory=list)
    services: list[str] = field(default_factory=list)
    contexts: set[str] = field(default_factory=set)
    formats: list[str] = field(default_factory=list)

    def add(self, hit: LeakHit) -> None:
        self.lines.append(hit.line)
        if hit.service and hit.service not in self.services:
            self.services.append(hit.service)
        if hit.context:
            self.contexts.add(hit.context)
        if hit.kind == "credential" and hit.secret_type and hit.secret_type not in self.formats:
            self.formats.append(hit.secret_type)


class LeakDetector:
    """The Scrapy hook (``BRANDHOUND_DETECTORS``) for leak dumps."""

    def __init__(self, crawler: Any = None, *, profile: BrandProfile | None = None, key: HmacKey | None = None,
                 report_other_cards: bool | None = None):
        self.crawler = crawler
        self._profile = profile
        self._key = key
        if report_other_cards is None:
            settings = getattr(crawler, "settings", None)
            report_other_cards = bool(settings.getbool("BRANDHOUND_LEAKS_OTHER_CARDS", False)) if settings else False
        self.report_other_cards = report_other_cards
        self._scanner: LeakScanner | None = None

    @classmethod
    def from_crawler(cls, crawler: Any) -> LeakDetector:
        return cls(crawler)

    @property
    def profile(self) -> BrandProfile:
        if self._profile is None:
            self._profile = self.crawler.spider.profile
        return self._profile

    def scanner(self) -> LeakScanner:
        if self._scanner is None:
            key = self._key or core_settings(self.crawler.settings).hmac_key()
            self._scanner = LeakScanner.from_profile(self.profile, key, other_cards=self.report_other_cards)
        return self._scanner

    # ----------------------------------------------------------------- the hook

    def detect(self, capture: Any) -> list[Finding]:
        text = getattr(capture, "dump_text", None)
        if not text:
            return []
        findings, leaks = self.leaks_in(text, capture.page.url, capture.page.crawl)
        capture.leaks.extend(leaks)
        return findings

    def leaks_in(self, text: str, url: Url | None = None, crawl: Crawl | None = None) -> tuple[list[Finding], list[Leak]]:
        """The findings and leak documents for one dump's text."""
        groups: dict[tuple[str, str, str], _Group] = {}
        skipped_cards = 0
        for hit in self.scanner().scan_text(text):
            if hit.kind == "card" and not hit.brand and not self.report_other_cards:
                skipped_cards += 1
                continue
            group = groups.setdefault((hit.kind, hit.account, hit.secret.hmac), _Group(hit))
            group.add(hit)
        crawl = crawl or Crawl()
        seen_at = crawl.fetched_at or utcnow()
        brand = BrandRef(id=self.profile.id, name=self.profile.name)
        findings: list[Finding] = []
        leaks: list[Leak] = []
        for group in groups.values():
            leak = self._leak(group, url, crawl, seen_at, brand)
            leaks.append(leak)
            findings.append(self._finding(group, leak, url, crawl, seen_at, brand))
        counts = {kind: sum(1 for f in findings if f.kind == kind and f.verdict == "flagged")
                  for kind in LEAK_FINDING_KINDS}
        log.info("leaks in %s: %d credentials, %d brand cards, %d secrets flagged; %d other cards skipped",
                 url.full if url else "dump", counts["credential_leak"], counts["card_leak"], counts["secret_leak"],
                 skipped_cards)
        return findings, leaks

    # ----------------------------------------------------------------- documents

    def _leak(self, group: _Group, url: Url | None, crawl: Crawl, seen_at: datetime, brand: BrandRef) -> Leak:
        hit = group.first
        user = None
        indicator_type = None
        if hit.kind == "credential":
            if hit.user and "@" in hit.user:
                user, indicator_type = User(email=hit.user, domain=hit.domain), "email-addr"
            else:
                user, indicator_type = User(name=hit.user, domain=hit.domain), "user-account"
        return Leak(
            event=Event(dataset=DATASET), brand=brand, kind=hit.kind, user=user, secret=hit.secret,
            secret_type=hit.secret_type if hit.kind == "secret" else None, url=url,
            sources=[url.full] if url else [],
            threat=Threat(indicator=Indicator(type=indicator_type, first_seen=seen_at, last_seen=seen_at,
                                              sightings=len(group.lines))),
            crawl=crawl,
        )

    def _finding(self, group: _Group, leak: Leak, url: Url | None, crawl: Crawl, seen_at: datetime,
                 brand: BrandRef) -> Finding:
        kind = leak_finding_kind(group.first.kind)
        score, signals = combine(self._evidence(group))
        threshold = self.profile.threshold
        return Finding(
            event=Event(dataset=DATASET), brand=brand, kind=kind, score=score, threshold=threshold,
            verdict=verdict(score, threshold), signals=signals,
            explanation=explain(kind, score, threshold, signals),
            subject=Subject(index=Leak.INDEX, id=leak.doc_id(), url=url.full if url else None),
            url=url, crawl=crawl,
            threat=Threat(indicator=Indicator(type=leak.threat.indicator.type, first_seen=seen_at, last_seen=seen_at,
                                              sightings=len(group.lines))),
        )

    def _evidence(self, group: _Group) -> list[Evidence]:
        hit = group.first
        n = len(group.lines)
        shown = ", ".join(str(line) for line in group.lines[:10]) + (", ..." if n > 10 else "")
        out = [Evidence("sightings_in_dump", str(n), WEIGHTS["sightings_in_dump"], strength=min(1.0, n / 5),
                        evidence=f"seen on {n} line{'s' if n > 1 else ''} of the dump: {shown}")]
        if hit.kind == "credential":
            out.append(Evidence("corporate_domain", hit.matched or "", WEIGHTS["corporate_domain"],
                                evidence=f"account {hit.user} is at the corporate domain {hit.matched}, "
                                         f"with a password of {hit.secret.length} characters ({hit.secret.masked}); "
                                         f"format {', '.join(group.formats)}"))
            brand_domains = {*self.profile.official_domains, *self.profile.corporate_email_domains}
            for service in group.services:
                host = _service_host(service)
                if host and any(host == d or host.endswith("." + d) for d in brand_domains):
                    out.append(Evidence("brand_service", host, WEIGHTS["brand_service"],
                                        evidence=f"the dump gives the brand's site {service} as where it is used"))
                    break
        elif hit.kind == "card":
            out.append(Evidence("luhn_valid", hit.secret.masked, WEIGHTS["luhn_valid"],
                                evidence=f"card number {hit.secret.masked} ({hit.secret.length} digits) "
                                         f"passes the Luhn check"))
            if hit.brand:
                out.append(Evidence("brand_bin", hit.matched or "", WEIGHTS["brand_bin"],
                                    evidence=f"BIN {hit.secret.masked[:6]} is in the brand's range {hit.matched}"))
            if "expiry" in group.contexts:
                out.append(Evidence("expiry_follows", "yes", WEIGHTS["expiry_follows"],
                                    evidence="an expiry date follows the number, as in card dumps"))
        else:
            key_type = hit.secret_type or "secret"
            out.append(Evidence("key_type", key_type, KEY_TYPE_WEIGHTS.get(key_type, 0.6),
                                evidence=f"a {key_type.replace('_', ' ')} ({hit.secret.length} characters, "
                                         f"{hit.secret.masked})"))
            if hit.brand:
                out.append(Evidence("brand_secret_prefix", hit.matched or "", 0.5,
                                    evidence=f"starts with {hit.matched}, one of the brand's own key prefixes"))
            if "assignment" in group.contexts:
                out.append(Evidence("assigned", "yes", WEIGHTS["assigned"],
                                    evidence="assigned to a variable, as in a configuration file"))
        return out


def _service_host(service: str) -> str | None:
    try:
        return urlsplit(service if "://" in service else f"//{service}").hostname
    except ValueError:
        return None


# --------------------------------------------------------------------------- merging across sightings


def superseded_ids(leak: Leak) -> list[str]:
    """The ids the same leak's document had under the HMAC keys the current one replaced."""
    return [replace(leak, secret=replace(leak.secret, hmac=h)).doc_id() for h in previous_hmacs(leak.secret)]


def merge_leak(existing: dict[str, Any] | None, new: Leak) -> Leak:
    """``new`` merged into the indexed document ``existing`` (its ``_source``) of the same leak:
    first seen is the earliest, last seen the latest, sightings add up, sources are united
    (newest kept when over :data:`MAX_SOURCES`); the rest is taken from the newer sighting,
    except the secret's hash, which is always the new one (current key, after a rotation).
    Pure: neither argument is changed."""
    if existing is None:
        return replace(new, sources=list(dict.fromkeys(new.sources))[-MAX_SOURCES:])
    old: Leak = from_document(Leak, existing)
    if old.doc_id() != new.doc_id() and old.doc_id() not in superseded_ids(new):
        raise ValueError(f"merge_leak: documents of different leaks ({old.doc_id()} vs {new.doc_id()})")
    old_ind, new_ind = old.threat.indicator, new.threat.indicator
    firsts = [t for t in (old_ind.first_seen, new_ind.first_seen) if t is not None]
    lasts = [t for t in (old_ind.last_seen, new_ind.last_seen) if t is not None]
    newer = new_ind.last_seen is None or old_ind.last_seen is None or new_ind.last_seen >= old_ind.last_seen
    latest, earlier = (new, old) if newer else (old, new)
    sources = [s for s in old.sources if s not in set(new.sources)] + list(new.sources) if newer else \
        [s for s in new.sources if s not in set(old.sources)] + list(old.sources)
    indicator = Indicator(
        type=new_ind.type or old_ind.type,
        first_seen=min(firsts) if firsts else None,
        last_seen=max(lasts) if lasts else None,
        sightings=(old_ind.sightings or 0) + (new_ind.sightings or 1),
    )
    return replace(
        latest,
        event=new.event,
        brand=latest.brand or earlier.brand,
        user=latest.user or earlier.user,
        secret=new.secret,
        secret_type=latest.secret_type or earlier.secret_type,
        url=latest.url or earlier.url,
        sources=list(dict.fromkeys(sources))[-MAX_SOURCES:],
        threat=replace(latest.threat, indicator=indicator),
    )
