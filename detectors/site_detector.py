"""Score a captured site as a fake store or a phishing page of the brand, with the reasons.

A site is only considered when it is tied to the brand: its domain looks like one of the
brand's, or the page names the brand or its products, or shows its logo or favicon.
Official and allowlisted domains (and their subdomains) are never flagged. Then each
signal adds to the score (``detectors.scoring``, a noisy-OR):

- ``lookalike_domain``: the host imitates an official domain (``DomainScorer``: typo,
  homoglyph, combosquat, TLD swap, brand as a subdomain...), strength = its score;
- ``brand_name`` / ``product_names``: the brand's and its products' names on the page
  (through homoglyphs and misspellings, ``BrandMatcher``);
- ``official_logo``: a logo or the favicon is the brand's (pHash, ``OfficialImages``);
- ``credential_form_offsite``: a password or payment-card form posts to another registered
  domain than the page's (a phishing kit's collector); a card form on a shop page is
  ``checkout_posts_offsite`` instead (a fake store's checkout);
- ``login_on_lookalike``: a password form on a look-alike domain, wherever it posts;
- ``discount_wording``: "-70%", "outlet", "clearance"... in the profile's languages;
- ``young_domain``: RDAP says the domain was registered less than 90 days ago;
- ``recent_certificate`` / ``invalid_certificate``: TLS certificate facts when known;
- ``html_similar_to_official`` / ``screenshot_similar_to_official``: the page's HTML or its
  screenshot is a near copy of one of the brand's official pages (``brandhound.page_fingerprint``;
  the evidence names the official page). A copy of the official site ties a page to the brand.

The brand ties alone (name, products, logo) cannot reach the example threshold: press,
reviewers and resellers show them legitimately. The kind is ``phishing`` when the
credential signals carry more of the score than the shop signals, else ``fake_store``.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from lxml import html as lxml_html
from lxml.etree import ParserError

from brandhound.evidence import EvidenceStore
from brandhound.items import File, Finding, Form, Site, Subject
from brandhound.page_fingerprint import HtmlFingerprint, OfficialReferences, ScreenshotFingerprint
from brandhound.profile import BrandProfile
from brandhound.urls import registered_domain, unicode_host
from brandhound.values import verdict
from crawlers.paths import evidence_dir
from detectors.brand_mentions import BrandMatcher
from detectors.domain_similarity import DomainScore, DomainScorer
from detectors.official_images import OfficialImages
from detectors.scoring import Evidence, combine, explain

log = logging.getLogger(__name__)

FAKE_STORE, PHISHING = "fake_store", "phishing"

WEIGHTS = {
    "lookalike_domain": 0.6,
    "brand_name": 0.2,
    "product_names": 0.15,
    "official_logo": 0.25,
    "credential_form_offsite": 0.75,
    "checkout_posts_offsite": 0.45,
    "login_on_lookalike": 0.7,
    "discount_wording": 0.4,
    "young_domain": 0.35,
    "recent_certificate": 0.1,
    "invalid_certificate": 0.15,
    "html_similar_to_official": 0.45,
    "screenshot_similar_to_official": 0.4,
}
#: Signals of a page harvesting credentials, and of a shop; the larger share decides the kind.
PHISHING_SIGNALS = frozenset({"credential_form_offsite", "login_on_lookalike"})
STORE_SIGNALS = frozenset({"checkout_posts_offsite", "discount_wording", "product_names"})

#: A domain score from which a host counts as a look-alike (ties the site to the brand).
LOOKALIKE_MIN = 0.5
#: A domain younger than this (days) is a signal; younger than ``VERY_YOUNG_DAYS``, at full strength.
YOUNG_DAYS = 90
VERY_YOUNG_DAYS = 30
RECENT_CERT_DAYS = 30
#: (floor, full): similarity to an official page from which it is a signal, and at which it is at full
#: strength. Measured on the sandbox: copied storefronts and login pages 0.73-0.83 (HTML) and 0.77-0.95
#: (screenshots); press, reviewers and resellers at most 0.16 and 0.66.
HTML_SIMILARITY = (0.5, 0.7)
SCREENSHOT_SIMILARITY = (0.75, 0.9)

#: Sale wording per language (whole words, case-insensitive). Unlisted languages fall back to English.
DISCOUNT_WORDS: dict[str, tuple[str, ...]] = {
    "en": ("outlet", "clearance", "clearance sale", "liquidation", "closing down", "closing-down sale",
           "everything must go", "today only", "mega sale", "final sale", "huge discount", "up to"),
    "fi": ("outlet", "alennus", "alennusmyynti", "loppuunmyynti", "tyhjennysmyynti", "ale", "poistomyynti"),
    "es": ("outlet", "liquidación", "rebajas", "descuento", "oferta", "liquidacion total", "solo hoy"),
    "pt": ("outlet", "liquidação", "promoção", "desconto", "queima de estoque", "só hoje"),
    "pl": ("outlet", "wyprzedaż", "wyprzedaz", "promocja", "rabat", "zniżka", "tylko dziś", "likwidacja"),
    "de": ("outlet", "räumungsverkauf", "ausverkauf", "rabatt", "nur heute"),
    "sv": ("outlet", "utförsäljning", "rea", "slutrea", "bara idag"),
    "fr": ("outlet", "liquidation", "soldes", "déstockage", "remise", "aujourd'hui seulement"),
}
#: Weak words ("up to", "oferta", "rea", "ale") only count next to a big percentage.
_WEAK_WORDS = frozenset({"up to", "oferta", "rea", "ale", "descuento", "desconto", "rabat", "rabatt", "remise",
                         "promocja", "promoção"})
#: "-70%", "70% off", "70 % alennus", "save 70%": a percentage of 50 or more off.
_PERCENT_OFF = re.compile(
    r"(?:[-−–]\s?(\d{2})\s?%|(\d{2})\s?%\s?(?:off|de descuento|de desconto|taniej|rabatu|alennus|pois|dto)"
    r"|(?:save|ahorra|economize|oszczędź|säästä)\s(\d{2})\s?%)", re.I)
HEAVY_DISCOUNT = 50
#: Words of a shop page: a card form there is a checkout, not a "verify your card" lure.
_SHOP_WORDS = re.compile(
    r"\b(checkout|check out|cart|basket|order|shipping|add to cart|kassa|ostoskori|tilaus|toimitus|carrito|"
    r"pedido|envío|carrinho|frete|koszyk|zamówienie|dostawa)\b", re.I)
#: Certificate authorities that issue free, automated domain-validated certificates.
_FREE_DV = re.compile(r"let'?s encrypt|zerossl|buypass|google trust services|ssl\.com free", re.I)


def page_text(body: bytes | str | None) -> str:
    """The visible text of an HTML page (scripts and styles left out); '' when unreadable."""
    if not body:
        return ""
    if isinstance(body, bytes):
        from brandhound.html_text import decode_html

        body = decode_html(body)[0]
    try:
        doc = lxml_html.document_fromstring(body) if body.strip() else None
    except (ParserError, ValueError):
        return ""
    if doc is None:
        return ""
    for bad in doc.xpath("//script|//style|//noscript|//template"):
        bad.drop_tree()
    return " ".join(doc.text_content().split())


@dataclass
class SiteScore:
    score: float
    kind: str
    finding: Finding | None
    domain: DomainScore | None = None
    signals: list = field(default_factory=list)


class SiteScorer:
    """Scores captured sites against one brand. Build once per brand."""

    def __init__(self, profile: BrandProfile, images: OfficialImages | None = None,
                 domains: DomainScorer | None = None, matcher: BrandMatcher | None = None,
                 references: OfficialReferences | None = None):
        self.profile = profile
        self.images = images
        #: The official pages captures are compared with; filled while a crawl captures them.
        self.references = references if references is not None else OfficialReferences()
        self.domains = domains or DomainScorer.from_profile(profile)
        self.matcher = matcher or BrandMatcher.from_profile(profile)
        self.official_zones = {registered_domain(d) or d for d in profile.official_domains}
        self.allow_zones = {registered_domain(d) or d for d in profile.allowlist.domains}
        languages = dict.fromkeys(["en", *profile.notice_languages, *profile.counterfeit_keywords])
        words = dict.fromkeys(w for lang in languages for w in DISCOUNT_WORDS.get(lang, ()))
        self.discount_words = [(w, re.compile(r"(?<!\w)" + re.escape(w) + r"(?!\w)", re.I)) for w in words]

    @classmethod
    def from_profile(cls, profile: BrandProfile, official_images: OfficialImages | None = None,
                     references: OfficialReferences | None = None) -> SiteScorer:
        return cls(profile, official_images, references=references)

    # ----------------------------------------------------------------- pieces

    def _brand_evidence(self, site: Site, text: str) -> tuple[list[Evidence], bool]:
        """Names on the page; the second value says whether the title names the brand (impersonation)."""
        mentions = self.matcher.mentions("\n".join(t for t in (site.title, text) if t))
        brands = [m for m in mentions if m.kind == "brand"]
        products = list(dict.fromkeys(m.term for m in mentions if m.kind == "product"))
        out = []
        if brands:
            m = brands[0]
            out.append(Evidence("brand_name", m.found, WEIGHTS["brand_name"],
                                evidence=f"the page names the brand: '{m.found}' (reads as {m.term}, "
                                         f"similarity {m.score:.0f})"))
        if products:
            out.append(Evidence("product_names", ", ".join(products[:5]), WEIGHTS["product_names"],
                                min(1.0, len(products) / 2),
                                evidence=f"the page names {len(products)} of the brand's products: "
                                         + ", ".join(products[:5])))
        in_title = any(m.kind == "brand" for m in self.matcher.mentions(site.title)) if site.title else False
        return out, in_title

    def _logo_evidence(self, site: Site) -> list[Evidence]:
        if self.images is None:
            return []
        candidates = [(img, "logo") for img in site.logos] + ([(site.favicon, "favicon")] if site.favicon else [])
        matches = [(img, what, m) for img, what in candidates if (m := self.images.match(img.phash)) is not None]
        if not matches:
            return []
        img, what, m = min(matches, key=lambda x: (x[2].distance, x[1] != "logo"))
        return [Evidence("official_logo", m.official, WEIGHTS["official_logo"],
                         evidence=f"the {what} {img.url} is the brand's {m.official} "
                                  f"(pHash distance {m.distance}/64)")]

    def _similarity_evidence(self, html: HtmlFingerprint | None,
                             screenshot: ScreenshotFingerprint | None) -> list[Evidence]:
        out = []
        for name, match, (floor, full), what in (
                ("html_similar_to_official", self.references.closest_html(html), HTML_SIMILARITY, "HTML"),
                ("screenshot_similar_to_official", self.references.closest_screenshot(screenshot),
                 SCREENSHOT_SIMILARITY, "screenshot")):
            if match is None or match.similarity < floor:
                continue
            strength = max(0.3, min(1.0, (match.similarity - floor) / (full - floor)))
            view = f" ({match.view})" if match.view else ""
            out.append(Evidence(name, f"{match.similarity:.2f}", WEIGHTS[name], strength,
                                evidence=f"the page's {what}{view} is {match.similarity:.0%} similar to the official "
                                         f"page {match.url}"))
        return out

    def _is_brand_zone(self, domain: str | None) -> bool:
        if not domain:
            return False
        return any(domain == z or domain.endswith("." + z) for z in self.official_zones | self.allow_zones)

    def _form_evidence(self, site: Site, page_zone: str | None, shop: bool, impersonates: bool,
                       lookalike: float) -> list[Evidence]:
        out: list[Evidence] = []
        offsite: list[tuple[Form, str]] = []
        login_forms: list[Form] = []
        for form in site.forms:
            if not (form.has_password or form.has_card):
                continue
            action_zone = form.action_domain or (registered_domain(form.action) if form.action else None)
            if form.has_password and not form.has_card:
                login_forms.append(form)
            if action_zone and action_zone != page_zone and not self._is_brand_zone(action_zone):
                offsite.append((form, action_zone))
        if offsite:
            form, zone = offsite[0]
            asks = "payment card details" if form.has_card else "a password"
            checkout = form.has_card and shop
            name = "checkout_posts_offsite" if checkout else "credential_form_offsite"
            where = f"{unicode_host(site.url.domain or '') or page_zone}"
            out.append(Evidence(name, zone, WEIGHTS[name], 1.0 if impersonates else 0.5,
                                evidence=f"a form asking for {asks} on {where} posts to {form.action} "
                                         f"({zone}, another registered domain)"))
        if login_forms and lookalike >= LOOKALIKE_MIN:
            out.append(Evidence("login_on_lookalike", site.url.domain or "", WEIGHTS["login_on_lookalike"],
                                lookalike, evidence=f"a sign-in form (password field) on the look-alike domain "
                                                    f"{unicode_host(site.url.domain or '')}"))
        return out

    def _discount_evidence(self, text: str) -> list[Evidence]:
        if not text:
            return []
        percents = [int(next(g for g in m.groups() if g)) for m in _PERCENT_OFF.finditer(text)]
        heavy = [p for p in percents if p >= HEAVY_DISCOUNT]
        words = [w for w, pattern in self.discount_words if pattern.search(text)]
        strong = [w for w in words if w not in _WEAK_WORDS]
        if not heavy and not strong:
            return []
        shown = [f"-{max(heavy)}%"] if heavy else []
        shown += [f"'{w}'" for w in (words if heavy else strong)[:4]]
        strength = 1.0 if heavy and words else 0.7
        return [Evidence("discount_wording", ", ".join(shown), WEIGHTS["discount_wording"], strength,
                         evidence="heavy-discount wording on the page: " + ", ".join(shown))]

    def _rdap_evidence(self, site: Site, now: datetime) -> list[Evidence]:
        created = site.rdap.created if site.rdap else None
        if created is None:
            return []
        if created.tzinfo is None:
            created = created.replace(tzinfo=timezone.utc)
        age = (now - created).total_seconds() / 86400
        if age >= YOUNG_DAYS:
            return []
        strength = 1.0 if age <= VERY_YOUNG_DAYS else 0.6
        by = f" through {site.rdap.registrar}" if site.rdap and site.rdap.registrar else ""
        return [Evidence("young_domain", f"{max(age, 0):.0f} days", WEIGHTS["young_domain"], strength,
                         evidence=f"the domain was registered {created:%Y-%m-%d}{by}, "
                                  f"{max(age, 0):.0f} days ago (RDAP)")]

    def _tls_evidence(self, site: Site, now: datetime) -> list[Evidence]:
        tls = site.tls
        if tls is None:
            return []
        out = []
        nb, na = tls.not_before, tls.not_after
        nb = nb.replace(tzinfo=timezone.utc) if nb and nb.tzinfo is None else nb
        na = na.replace(tzinfo=timezone.utc) if na and na.tzinfo is None else na
        if (na and na < now) or (nb and nb > now):
            out.append(Evidence("invalid_certificate", f"{nb:%Y-%m-%d}..{na:%Y-%m-%d}" if nb and na else "dates",
                                WEIGHTS["invalid_certificate"],
                                evidence="the TLS certificate is expired or not yet valid"))
        elif nb is not None and (now - nb).days < RECENT_CERT_DAYS:
            free = bool(tls.issuer and _FREE_DV.search(tls.issuer))
            out.append(Evidence("recent_certificate", f"{(now - nb).days} days", WEIGHTS["recent_certificate"],
                                1.0 if free else 0.7,
                                evidence=f"the TLS certificate was issued {nb:%Y-%m-%d}, {(now - nb).days} days ago"
                                         + (f", by a free automated CA ({tls.issuer})" if free else "")))
        return out

    # ----------------------------------------------------------------- the verdict

    def score(self, site: Site, text: str | None = None, *, site_id: str | None = None,
              now: datetime | None = None, html: HtmlFingerprint | None = None,
              screenshot: ScreenshotFingerprint | None = None) -> SiteScore:
        """The score, kind and finding of ``site``; ``text`` is the page's visible text, ``html`` and
        ``screenshot`` the fingerprints of its HTML and screenshot, if known."""
        now = now or datetime.now(timezone.utc)
        text = text or ""
        host = site.url.domain or ""
        threshold = self.profile.threshold
        domain = self.domains.score(host or site.url.full)
        cleared = [s for s in domain.signals if s.name in ("official_domain", "allowlisted_domain")]
        page_zone = site.url.registered_domain or registered_domain(host or site.url.full)
        if cleared:
            return self._result(site, 0.0, FAKE_STORE, cleared, threshold, site_id, domain,
                                f"not flagged: {domain.explanation}.")
        evidence: list[Evidence] = []
        lookalike = domain.score if domain.score >= LOOKALIKE_MIN else 0.0
        if lookalike:
            imitates = f" (imitates {domain.matched_official})" if domain.matched_official else ""
            evidence.append(Evidence("lookalike_domain", f"{domain.score:.2f}", WEIGHTS["lookalike_domain"], lookalike,
                                     evidence=f"{domain.explanation}{imitates}"))
        names, title_names_brand = self._brand_evidence(site, text)
        logos = self._logo_evidence(site)
        copies = self._similarity_evidence(html, screenshot)
        evidence += names + logos + copies
        if not evidence:
            return self._result(site, 0.0, FAKE_STORE, [], threshold, site_id, domain,
                                "not flagged: neither the domain nor the page is tied to the brand.")
        impersonates = bool(lookalike or logos or title_names_brand or copies)
        discount = self._discount_evidence(text)
        shop = bool(discount or any(e.name == "product_names" for e in names) or _SHOP_WORDS.search(text))
        evidence += self._form_evidence(site, page_zone, shop, impersonates, lookalike)
        evidence += discount + self._rdap_evidence(site, now) + self._tls_evidence(site, now)
        score, signals = combine(evidence)
        phishing = sum(s.contribution for s in signals if s.name in PHISHING_SIGNALS)
        store = sum(s.contribution for s in signals if s.name in STORE_SIGNALS)
        kind = PHISHING if phishing > store else FAKE_STORE
        return self._result(site, score, kind, signals, threshold, site_id, domain)

    def _result(self, site: Site, score: float, kind: str, signals, threshold: float, site_id: str | None,
                domain: DomainScore, explanation: str | None = None) -> SiteScore:
        finding = Finding(
            event=site.event, brand=site.brand, kind=kind, score=score, threshold=threshold,
            verdict=verdict(score, threshold), signals=list(signals),
            explanation=explanation or explain(kind, score, threshold, list(signals)),
            subject=Subject(index=Site.INDEX, id=site_id or site.doc_id(), url=site.url.full),
            url=site.url, crawl=site.crawl,
        )
        return SiteScore(score, kind, finding, domain, list(signals))


class SiteDetector:
    """The Scrapy hook (``BRANDHOUND_DETECTORS``): one finding per captured site off the brand's domains.

    Fills ``site.rdap`` from RDAP when a client is configured (``detectors.rdap.RdapClient.from_settings``:
    ``BRANDHOUND_RDAP_BOOTSTRAP``, ``BRANDHOUND_RDAP_PROXY``, ``BRANDHOUND_RDAP_CA_BUNDLE``), so the
    registration facts are indexed with the site. Compares each capture with the official pages the
    spider captured as references (its ``official_references``, see ``crawlers.spiders.surface``).

    The evidence pipeline stores the HTML and the screenshot and lets their bytes go before the
    detectors run; the detector reads them back from the evidence store (``BRANDHOUND_EVIDENCE_DIR``).
    Both the RDAP lookups and those reads wait, so the detector hook runs it in a thread of its own.
    """

    #: See ``pipelines.detect``: RDAP over the network and evidence reads from disk, off the reactor.
    waits_on_network = True

    def __init__(self, crawler=None, *, profile: BrandProfile | None = None, rdap=None,
                 scorer: SiteScorer | None = None):
        self.crawler = crawler
        self._profile = profile
        self._scorer = scorer
        self._rdap = rdap
        self._rdap_ready = rdap is not None
        self._evidence: EvidenceStore | None = None

    @classmethod
    def from_crawler(cls, crawler) -> SiteDetector:
        return cls(crawler)

    def scorer(self) -> SiteScorer:
        if self._scorer is None:
            # Scrapy sets crawler.spider before the first item reaches a pipeline.
            spider: Any = getattr(self.crawler, "spider", None)
            profile = self._profile or spider.profile
            self._scorer = SiteScorer.from_profile(profile, OfficialImages.from_profile(profile),
                                                   getattr(spider, "official_references", None))
        return self._scorer

    def rdap(self):
        if not self._rdap_ready:
            from detectors.rdap import RdapClient, RdapError

            settings = getattr(self.crawler, "settings", None)
            try:
                self._rdap = RdapClient.from_settings(settings)
            except RdapError:
                self._rdap = None
            self._rdap_ready = True
        return self._rdap

    def _stored(self, file: File | None) -> bytes | None:
        """A stored evidence file's bytes; None when there is none or it cannot be read."""
        if file is None or not file.path or self.crawler is None:
            return None
        if self._evidence is None:
            self._evidence = EvidenceStore(evidence_dir(self.crawler.settings))
        try:
            return self._evidence.read(file)
        except OSError as exc:
            log.warning("evidence file %s unreadable: %s", file.path, exc)
            return None

    def evidence(self, capture) -> tuple[bytes | None, bytes | None]:
        """The capture's HTML and screenshot, from the capture or, once stored, from the evidence store."""
        page = capture.page
        body = capture.body if capture.body is not None else self._stored(page.file if page else None)
        shot = capture.screenshot if capture.screenshot is not None else self._stored(page.screenshot if page else None)
        return body, shot

    def detect(self, capture) -> list[Finding]:
        site: Site | None = capture.site
        if site is None:
            return []
        scorer = self.scorer()
        host = site.url.domain or ""
        if any(s.name == "official_domain" for s in scorer.domains.score(host or site.url.full).signals):
            return []  # the brand's own site: nothing to find
        client = self.rdap()
        if site.rdap is None and client is not None and host:
            record = client.try_lookup(host)
            if record is not None:
                site.rdap = record.to_item()
        body, shot = self.evidence(capture)
        refs = scorer.references
        result = scorer.score(site, page_text(body), site_id=site.doc_id(),
                              html=HtmlFingerprint.of(body) if refs.html else None,
                              screenshot=ScreenshotFingerprint.of(shot) if refs.screenshots else None)
        return [result.finding] if result.finding is not None else []
