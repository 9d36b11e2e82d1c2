"""The item schema: one dataclass per kind of document brandhound keeps.

Each top-level item (:class:`Page`, :class:`Listing`, :class:`Site`,
:class:`Leak`, :class:`Finding`, :class:`Takedown`) is one document in its own
Elasticsearch index. Nested dataclasses are Elasticsearch objects, so the
Python attribute path is the field name analysts meet in Kibana:
``page.url.full`` is ``url.full``. Where the Elastic Common Schema has a field
for the thing, the name is ECS's (``url.*``, ``event.created``,
``file.hash.sha256``, ``http.response.status_code``, ``user.email``,
``threat.indicator.*``); the rest is brandhound's own.

Every field is documented once, here, through :func:`spec`; the index
mappings (:mod:`brandhound.mapping`) and ``docs/schema.md`` are derived from
these classes, so the three cannot drift apart.

Document ids are deterministic (:meth:`Item.doc_id`): re-running any step
updates a document instead of adding a second one.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, ClassVar

#: Text searched as words, also aggregatable and sortable as a whole.
TEXT = {"type": "text", "fields": {"keyword": {"type": "keyword", "ignore_above": 1024}}}
#: Long text (descriptions, bodies): searched as words only.
LONG_TEXT = {"type": "text"}
#: Stored for display, not searched.
STORED_ONLY = {"type": "keyword", "index": False, "doc_values": False}


def spec(doc: str, *, es: dict[str, Any] | None = None, default: Any = None, factory: Any = None) -> Any:
    """Declare a documented field. ``es`` overrides the mapping derived from the type."""
    metadata = {"doc": doc, "es": es}
    if factory is not None:
        return field(default_factory=factory, metadata=metadata)
    return field(default=default, metadata=metadata)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def stable_id(*parts: str) -> str:
    """A deterministic document id from its natural key."""
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()
    return digest[:40]


# --------------------------------------------------------------------------- objects


@dataclass(kw_only=True)
class Url:
    """ECS ``url.*``: a URL and its parts."""

    full: str = spec("Canonical absolute URL (after redirects, for fetched pages).")
    original: str | None = spec("URL as first requested or found, before redirects and canonicalisation.")
    scheme: str | None = spec("Scheme without the colon: http, https.")
    domain: str | None = spec("Host name, lowercase; IDNs in their Unicode form.")
    registered_domain: str | None = spec("Registrable domain (public suffix plus one label), e.g. example.co.uk.")
    top_level_domain: str | None = spec("Public suffix of the host, e.g. co.uk.")
    path: str | None = spec("Path component of the URL.")


@dataclass(kw_only=True)
class Hash:
    """ECS ``*.hash.*``: digests of a file's bytes."""

    sha256: str | None = spec("SHA-256 of the exact bytes, lowercase hex.")


@dataclass(kw_only=True)
class File:
    """ECS ``file.*``: a stored evidence file (HTML body, screenshot, image)."""

    path: str | None = spec("Path of the stored copy, relative to the evidence store.")
    size: int | None = spec("Size in bytes.")
    mime_type: str | None = spec("Media type of the content, e.g. image/png.")
    hash: Hash = spec("Digests of the file's bytes.", factory=Hash)


@dataclass(kw_only=True)
class Event:
    """ECS ``event.*``: when brandhound made or last changed the document."""

    created: datetime = spec("When this document was created or last updated by brandhound (UTC).", factory=utcnow)
    dataset: str | None = spec("Which brandhound step produced it, e.g. crawl.marketplace, detect.listing.")


@dataclass(kw_only=True)
class BrandRef:
    """The protected brand a document belongs to."""

    id: str = spec("Brand profile id, e.g. kestrava.")
    name: str | None = spec("Brand display name.")


@dataclass(kw_only=True)
class Crawl:
    """How and where a document was obtained."""

    spider: str | None = spec("Scrapy spider that fetched it: marketplace, surface, paste, onion_market, onion_forum.")
    source_type: str | None = spec("Kind of source: marketplace, surface, paste, onion.")
    job_id: str | None = spec("Id of the crawl run (Airflow run id or a CLI run id).")
    fetched_at: datetime | None = spec("When the response was received (UTC).")
    renderer: str | None = spec("How the page was fetched: http or browser.")


@dataclass(kw_only=True)
class HttpResponseBody:
    bytes: int | None = spec("Size of the response body in bytes.")


@dataclass(kw_only=True)
class HttpResponse:
    status_code: int | None = spec("HTTP status code of the final response.")
    mime_type: str | None = spec("Media type from the Content-Type header.")
    body: HttpResponseBody = spec("Response body facts.", factory=HttpResponseBody)


@dataclass(kw_only=True)
class Http:
    """ECS ``http.*``: the final HTTP exchange."""

    response: HttpResponse = spec("The final response.", factory=HttpResponse)


@dataclass(kw_only=True)
class Image:
    """An image seen on a page, downloaded and fingerprinted."""

    url: str = spec("Absolute URL of the image.")
    file: File = spec("The stored image file.", factory=File)
    phash: str | None = spec("Perceptual hash (imagehash pHash, 64 bits, hex).")
    dhash: str | None = spec("Difference hash (imagehash dHash, 64 bits, hex).")
    width: int | None = spec("Width in pixels.")
    height: int | None = spec("Height in pixels.")


@dataclass(kw_only=True)
class Price:
    amount: float | None = spec("Price as a number in its currency.")
    currency: str | None = spec("ISO 4217 code, e.g. EUR.")
    raw: str | None = spec("Price text as shown on the page.", es=STORED_ONLY)
    list_amount: float | None = spec("Price before a discount, when the page shows one beside the asked price.")
    max_amount: float | None = spec("Upper end of a price range (variants priced apart, \"from 10 to 20\"); amount is the lower end.")
    source: str | None = spec("Where the amount was read: jsonld, microdata, opengraph or html (the visible page).")


@dataclass(kw_only=True)
class Seller:
    name: str | None = spec("Seller's display name.", es=TEXT)
    id: str | None = spec("Seller's id on the marketplace.")
    url: str | None = spec("Seller's profile page URL.")
    rating: float | None = spec("Seller's rating on the marketplace's scale, normalised to 0-5.")
    ratings_count: int | None = spec("Number of ratings the seller has.")
    joined: datetime | None = spec("When the seller joined the marketplace, if shown.")
    ships_from: str | None = spec("Country or place the item ships from.")


@dataclass(kw_only=True)
class Product:
    name: str | None = spec("Product name claimed by the listing.", es=TEXT)
    brand: str | None = spec("Brand claimed by the listing (as written).", es=TEXT)
    sku: str | None = spec("SKU, MPN or model number claimed by the listing.")


@dataclass(kw_only=True)
class Form:
    """A form on a captured site: where it posts and what it asks for."""

    action: str | None = spec("Absolute URL the form submits to.")
    action_domain: str | None = spec("Registrable domain of the action URL.")
    method: str | None = spec("HTTP method: get or post.")
    has_password: bool = spec("The form has a password field.", default=False)
    has_card: bool = spec("The form asks for a payment card number.", default=False)


@dataclass(kw_only=True)
class Rdap:
    """Domain registration facts from RDAP."""

    registrar: str | None = spec("Registrar name.", es=TEXT)
    registrar_abuse_email: str | None = spec("Registrar abuse contact e-mail.")
    created: datetime | None = spec("Domain registration date.")


@dataclass(kw_only=True)
class Tls:
    """ECS ``tls.server.*`` facts of the site's certificate."""

    issuer: str | None = spec("Certificate issuer distinguished name.")
    not_before: datetime | None = spec("Certificate validity start.")
    not_after: datetime | None = spec("Certificate validity end.")


@dataclass(kw_only=True)
class User:
    """ECS ``user.*``: the account a leaked credential belongs to (kept in clear)."""

    email: str | None = spec("E-mail address, lowercase.")
    name: str | None = spec("User name when no e-mail is given.")
    domain: str | None = spec("Domain of the e-mail address.")


@dataclass(kw_only=True)
class Secret:
    """A leaked secret, never in clear: a masked form and a keyed hash."""

    masked: str = spec("Masked form showing at most the first and last character, e.g. p******d.", es=STORED_ONLY)
    length: int = spec("Length of the secret in characters.")
    hmac: str = spec("HMAC-SHA256 of the secret with the deployment's key, hex; recognises repeats.")
    key_id: str | None = spec("Id of the HMAC key used, so that keys can be rotated.")


@dataclass(kw_only=True)
class Indicator:
    """ECS ``threat.indicator.*`` sighting facts."""

    type: str | None = spec("ECS indicator type: url, domain-name, email-addr, user-account, x509-certificate.")
    first_seen: datetime | None = spec("First time brandhound saw it.")
    last_seen: datetime | None = spec("Last time brandhound saw it.")
    sightings: int | None = spec("How many times it was seen.")


@dataclass(kw_only=True)
class Threat:
    indicator: Indicator = spec("Sighting facts.", factory=Indicator)


@dataclass(kw_only=True)
class Signal:
    """One reason behind a finding's score."""

    name: str = spec("Signal name, e.g. price_ratio, image_match, domain_similarity.")
    value: str | None = spec("Observed value, as text.")
    weight: float = spec("Weight of the signal in the score.", default=0.0)
    contribution: float = spec("What the signal added to the score.", default=0.0)
    evidence: str | None = spec("Human-readable evidence: what matched what.", es=LONG_TEXT)


@dataclass(kw_only=True)
class Subject:
    """The document a finding or notice is about."""

    index: str = spec("Index of the subject document.")
    id: str = spec("Id of the subject document.")
    url: str | None = spec("URL of the subject.")


@dataclass(kw_only=True)
class Campaign:
    id: str | None = spec("Campaign id grouping findings that share an image, a seller contact or a host.")


@dataclass(kw_only=True)
class Recipient:
    """Who a takedown notice is addressed to."""

    kind: str = spec("marketplace, registrar, host, search_engine, law_enforcement or internal.")
    name: str | None = spec("Organisation name.")
    email: str | None = spec("Address the notice goes to.")
    form_url: str | None = spec("Web form URL where the recipient takes reports.")
    source: str | None = spec("Where the contact came from: profile, rdap, site (the crawl's RDAP facts), "
                                 "security_txt (the site's RFC 9116 file) or fallback.")


@dataclass(kw_only=True)
class NoticeEvidence:
    """One infringing item a takedown notice lists, with the evidence captured for it."""

    finding_id: str = spec("The finding this entry comes from.")
    kind: str = spec("The finding's kind, e.g. counterfeit_listing, phishing.")
    url: str | None = spec("The infringing URL as found.")
    final_url: str | None = spec("The URL after redirects, as captured.")
    title: str | None = spec("Listing or page title as captured (untrusted text, shown escaped).", es=STORED_ONLY)
    seller: str | None = spec("Seller name on the marketplace, for listings (untrusted text).", es=STORED_ONLY)
    captured_at: datetime | None = spec("When the evidence was captured (UTC).")
    html: File | None = spec("The stored HTML of the captured page.")
    screenshot: File | None = spec("The stored screenshot of the captured page.")
    warc: File | None = spec("The capture as WARC records (request, response, screenshot), as it was served.")
    images: list[File] = spec("The listing's stored images.", factory=list)
    account: str | None = spec("For leaks: the affected account, masked.")
    secret: str | None = spec("For leaks: the secret's masked form (never the secret).", es=STORED_ONLY)


@dataclass(kw_only=True)
class StatusChange:
    status: str = spec("Status entered.")
    at: datetime = spec("When (UTC).", factory=utcnow)
    by: str | None = spec("Who made the change.")
    reason: str | None = spec("Why, for rejections.", es=LONG_TEXT)


@dataclass(kw_only=True)
class RemovalCheck:
    """One re-fetch of a notice's URL after it was sent: is the infringing content still there?"""

    url: str = spec("The URL re-fetched, as listed in the notice.")
    at: datetime = spec("When it was fetched (UTC).", factory=utcnow)
    outcome: str = spec("removed, unreachable or online. A timeout or a 5xx is unreachable, never removed.")
    signal: str = spec("What decided the outcome, e.g. http_404, http_410, removed_page, suspended_page, parked_page, "
                       "nxdomain, content_gone, content_present, timeout, http_5xx.")
    status_code: int | None = spec("HTTP status of the final response, when there was one.")
    final_url: str | None = spec("The URL after redirects.")
    fetched_with: str | None = spec("http, browser or tor: the same fetcher the capture used.")
    body_sha256: str | None = spec("SHA-256 of the response body fetched.")
    screenshot_sha256: str | None = spec("SHA-256 of the screenshot taken, for browser re-checks.")
    detail: str | None = spec("Why, in words: the page text or fingerprint that matched.", es=LONG_TEXT)


@dataclass(kw_only=True)
class LegalCheck:
    """The legal elements a notice to this kind of recipient must hold, and whether it holds them."""

    regime: str = spec("The rule checked: dmca_512c3 (17 U.S.C. 512(c)(3)(A)), dsa_art16 (EU DSA Art. 16(2)) or "
                       "icann_raa_3_18 (ICANN RAA 3.18, DNS abuse).")
    missing: list[str] = spec("Required elements the notice lacks, by the rule's own numbering; empty when complete.",
                              factory=list)
    checked_at: datetime = spec("When the notice was last checked (UTC).", factory=utcnow)


# --------------------------------------------------------------------------- items


@dataclass(kw_only=True)
class Item:
    """Fields every document carries."""

    #: Index name suffix: the index is ``<prefix>-<INDEX>``.
    INDEX: ClassVar[str]

    event: Event = spec("When brandhound made the document.", factory=Event)
    brand: BrandRef | None = spec("The protected brand.")

    def doc_id(self) -> str:
        raise NotImplementedError


@dataclass(kw_only=True)
class Page(Item):
    """A fetched web page with its evidence."""

    INDEX: ClassVar[str] = "pages"

    url: Url = spec("The page's URL.")
    crawl: Crawl = spec("How it was fetched.", factory=Crawl)
    http: Http = spec("The final HTTP response.", factory=Http)
    title: str | None = spec("Page title.", es=TEXT)
    language: str | None = spec("Language of the page, ISO 639-1.")
    file: File | None = spec("The stored HTML body.")
    screenshot: File | None = spec("Full-page screenshot, for browser captures.")
    warc: File | None = spec("The capture as WARC records: request, response and the screenshot as a resource.")
    links: list[str] = spec("Outgoing absolute link URLs.", factory=list, es={"type": "keyword", "index": False})

    def doc_id(self) -> str:
        return stable_id(self.INDEX, self.url.full)


@dataclass(kw_only=True)
class Listing(Item):
    """A product listing on a marketplace or a shop."""

    INDEX: ClassVar[str] = "listings"

    url: Url = spec("The listing's URL.")
    crawl: Crawl = spec("How it was fetched.", factory=Crawl)
    marketplace: str | None = spec("Marketplace name from the brand profile, or the site's domain.")
    title: str | None = spec("Listing title.", es=TEXT)
    description: str | None = spec("Listing description.", es=LONG_TEXT)
    price: Price = spec("Asked price.", factory=Price)
    product: Product = spec("Product facts claimed by the listing.", factory=Product)
    seller: Seller = spec("Who sells it.", factory=Seller)
    quantity: int | None = spec("Quantity available, if shown.")
    availability: str | None = spec("in_stock or out_of_stock, as the page says; empty when it does not say.")
    images: list[Image] = spec("Listing images.", factory=list, es={"type": "nested"})
    extraction: str | None = spec("How the listing was extracted: jsonld, microdata, opengraph or html.")
    page_id: str | None = spec("Id of the Page document holding the evidence.")

    def doc_id(self) -> str:
        return stable_id(self.INDEX, self.url.full)


@dataclass(kw_only=True)
class Site(Item):
    """A captured web site: a candidate fake store or phishing site."""

    INDEX: ClassVar[str] = "sites"

    url: Url = spec("The captured URL.")
    crawl: Crawl = spec("How it was captured.", factory=Crawl)
    title: str | None = spec("Page title.", es=TEXT)
    favicon: Image | None = spec("The site's favicon.")
    logos: list[Image] = spec("Logo-like images on the page.", factory=list, es={"type": "nested"})
    forms: list[Form] = spec("Forms on the page.", factory=list, es={"type": "nested"})
    tls: Tls | None = spec("TLS certificate facts, where available.")
    rdap: Rdap | None = spec("Domain registration facts.")
    page_id: str | None = spec("Id of the Page document holding the evidence.")

    def doc_id(self) -> str:
        return stable_id(self.INDEX, self.url.full)


@dataclass(kw_only=True)
class Leak(Item):
    """A leaked credential, card or secret, merged across sightings."""

    INDEX: ClassVar[str] = "leaks"

    kind: str = spec("credential, card or secret.")
    user: User | None = spec("The account, for credentials.")
    secret: Secret = spec("The secret in masked and hashed form.")
    secret_type: str | None = spec("For secrets: the key type, e.g. aws_access_key_id, github_token.")
    url: Url | None = spec("Where it was last seen.")
    sources: list[str] = spec("Every URL it was seen at.", factory=list)
    threat: Threat = spec("Sighting facts.", factory=Threat)
    crawl: Crawl = spec("How it was last fetched.", factory=Crawl)

    def doc_id(self) -> str:
        account = (self.user.email or self.user.name or "") if self.user else ""
        return stable_id(self.INDEX, self.kind, account, self.secret.hmac)


@dataclass(kw_only=True)
class Finding(Item):
    """A detector's verdict on an item, with the signals that explain it."""

    INDEX: ClassVar[str] = "findings"

    kind: str = spec("counterfeit_listing, fake_store, phishing, credential_leak, card_leak or secret_leak.")
    score: float = spec("Score in [0, 1].")
    threshold: float = spec("The brand's threshold the score was compared with.")
    verdict: str = spec("flagged when score >= threshold, else clear.")
    status: str = spec("Triage status: new, confirmed, dismissed.", default="new")
    signals: list[Signal] = spec("Why: each signal with its value, weight and evidence.", factory=list, es={"type": "nested"})
    explanation: str | None = spec("The signals summarised in one sentence.", es=LONG_TEXT)
    subject: Subject = spec("The document the finding is about.")
    url: Url | None = spec("URL of the subject.")
    campaign: Campaign = spec("The campaign the finding belongs to.", factory=Campaign)
    crawl: Crawl = spec("Where the subject came from.", factory=Crawl)
    threat: Threat = spec("Sighting facts.", factory=Threat)

    def doc_id(self) -> str:
        return stable_id(self.INDEX, self.kind, self.subject.index, self.subject.id)


@dataclass(kw_only=True)
class Takedown(Item):
    """A takedown notice and its lifecycle."""

    INDEX: ClassVar[str] = "takedowns"

    recipient: Recipient = spec("Who it is addressed to.")
    status: str = spec("draft, approved, sent, acknowledged, removed or rejected.", default="draft")
    history: list[StatusChange] = spec("Every status change, and every edit of a draft (status draft, the reason "
                                       "says what was edited).", factory=list, es={"type": "nested"})
    language: str = spec("Language of the notice, ISO 639-1.", default="en")
    finding_ids: list[str] = spec("Findings the notice covers.", factory=list)
    campaign: Campaign = spec("The campaign the notice covers.", factory=Campaign)
    urls: list[str] = spec("Infringing URLs listed in the notice.", factory=list)
    subject_line: str | None = spec("Notice subject line.", es=TEXT)
    body: str | None = spec("Rendered notice text.", es=LONG_TEXT)
    manifest_sha256: str | None = spec("SHA-256 of the evidence bundle's manifest.")
    evidence: list[NoticeEvidence] = spec("The infringing items listed, with their evidence files.", factory=list,
                                          es={"type": "nested"})
    report: str | None = spec("The recipient's report form fields as JSON (marketplace, search engines).", es=STORED_ONLY)
    remarks: str | None = spec("Free text legal staff add to the notice.", es=LONG_TEXT)
    unreviewed: bool = spec("Drafted with flagged findings no analyst has confirmed (demo only).", default=False)
    group: str | None = spec("What the notice groups on this recipient: campaign, leak source or finding; "
                             "a follow-up to a sent notice names it.")
    detected_at: datetime | None = spec("When the earliest finding the notice covers was first detected (UTC): the "
                                        "start of time-to-notice.")
    checks: list[RemovalCheck] = spec("Every removal re-check of the notice's URLs after it was sent.", factory=list,
                                      es={"type": "nested"})
    follow_up_of: str | None = spec("Id of the earlier, removed notice whose content came back (a re-up).")
    watch_until: datetime | None = spec("Until when (UTC) the removed content is watched for re-ups.")
    legal: list[LegalCheck] = spec("The legal elements checked before approval, per rule that applies.",
                                   factory=list, es={"type": "nested"})
    timestamp_token: File | None = spec("RFC 3161 time-stamp token over the bundle manifest, from the configured TSA.")

    def doc_id(self) -> str:
        key = self.group or self.campaign.id or ",".join(sorted(self.finding_ids))
        return stable_id(self.INDEX, self.recipient.kind, self.recipient.email or self.recipient.name or "", key)


#: Every top-level item kind, in index order.
ITEM_TYPES: tuple[type[Item], ...] = (Page, Listing, Site, Leak, Finding, Takedown)


# --------------------------------------------------------------------------- discovery state


@dataclass(kw_only=True)
class CtClaim:
    """A range of a CT log's entries one worker has taken to read."""

    start: int = spec("First entry index of the range.")
    end: int = spec("Index after the range's last entry.")
    worker: str = spec("Who claimed it: host name and process id.")
    claimed_at: datetime = spec("When (UTC); a claim older than the lease is taken over by another worker.",
                                factory=utcnow)


@dataclass(kw_only=True)
class CtCursor(Item):
    """How far discovery has read one certificate-transparency log: where a restart resumes.

    Not an analyst's document, so not in :data:`ITEM_TYPES` but in :data:`STATE_TYPES`, whose index
    ``brandhound es init`` creates with the items' (the crawler role may read and write it, not create
    it). Workers claim ranges with optimistic-concurrency writes (``if_seq_no``/``if_primary_term``),
    so no two read the same entries.
    """

    INDEX: ClassVar[str] = "ct-cursors"

    log_url: str = spec("The log's URL: RFC 6962 base URL or static-ct monitoring prefix.")
    api: str = spec("rfc6962 or static.")
    description: str | None = spec("The log's description from the log list.", es=TEXT)
    next_index: int = spec("First entry index nobody has claimed yet: where the next read starts.", default=0)
    tree_size: int | None = spec("The log's tree size when last looked at.")
    claims: list[CtClaim] = spec("Ranges claimed and not finished yet.", factory=list)

    def doc_id(self) -> str:
        return stable_id(self.INDEX, self.log_url)


#: Jobs' state kept beside the items (where discovery resumes each CT log): created, checked and
#: reset with them by ``brandhound es``, but no analyst's document (no data view, not in the schema docs).
STATE_TYPES: tuple[type[Item], ...] = (CtCursor,)
#: Every index brandhound creates, in index order.
INDEXED_TYPES: tuple[type[Item], ...] = ITEM_TYPES + STATE_TYPES
