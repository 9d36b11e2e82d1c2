"""Removal verification: re-fetch a sent notice's URLs, classify what came back, close the notice when all are gone.

A URL counts as **removed** only on a clear signal (:func:`classify`):

- ``http_404`` / ``http_410`` / ``http_451``: the server says the page is gone (or withheld for legal reasons);
- ``nxdomain``: the name no longer exists (a registrar suspension or deletion);
- ``suspended_page``: a registrar's or host's suspension page (:data:`SUSPENDED_WORDINGS`);
- ``parked_page``: a parking page, by its wording or a parking service's marker (:data:`PARKED_WORDINGS`,
  :data:`PARKING_MARKERS`);
- ``removed_page``: a marketplace's "listing removed / no longer available" page (:data:`REMOVED_WORDINGS`);
- ``content_gone``: an HTML page that no longer looks like the capture, measured with the detectors' own
  :class:`~brandhound.page_fingerprint.HtmlFingerprint` (below :data:`CONTENT_MATCH`).

A page still similar to the capture is ``online`` (``content_present``) whatever its wording, so a listing whose
footer mentions "items no longer available" stays online; a maintenance, bot-check or rate-limit page
(:data:`INTERSTITIAL_WORDINGS`) is unreachable rather than the content gone. A timeout, a connection or temporary DNS error, a 5xx,
another 4xx (a bot wall, a rate limit) or an empty body is **unreachable**: it is never counted as removed.

A URL is confirmed removed only when seen removed twice, at least ``min_gap`` apart (default
:data:`MIN_GAP`), with no ``online`` check between (:func:`confirmed_removed`); unreachable checks in between
neither confirm nor reset. Notices are re-checked hourly for :data:`HOURLY_FOR` after they were sent, then
daily (:func:`is_due`). When every URL of a ``sent`` or ``acknowledged`` notice is confirmed, the notice
moves to ``removed`` by ``recheck`` with the signals as the reason, and is watched for re-ups for
:data:`WATCH_FOR` (``watch_until``). Every check is appended to ``Takedown.checks``.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Callable

from lxml import html as lxml_html
from lxml.etree import ParserError

from brandhound.html_text import decode_html
from brandhound.items import NoticeEvidence, RemovalCheck, Takedown, utcnow
from brandhound.page_fingerprint import HtmlFingerprint
from takedown.lifecycle import TakedownError, transition

if TYPE_CHECKING:
    from takedown.service import TakedownService

log = logging.getLogger(__name__)

#: How far apart the two removed sightings must be: a page down for a deploy is back within the hour.
MIN_GAP = timedelta(hours=4)
#: How long a removed notice's content is watched for re-ups.
WATCH_FOR = timedelta(days=30)
#: HTML similarity to the capture at or above which the content is still there. The site detector calls a
#: page similar to an official one from 0.5 (``detectors.site_detector.HTML_SIMILARITY``): the same scale.
CONTENT_MATCH = 0.5
#: Notices are re-checked at every (hourly) run for this long after they were sent, then once a day; a URL
#: seen removed once is re-checked as soon as ``min_gap`` has passed, to confirm it.
HOURLY_FOR = timedelta(days=7)
DAILY = timedelta(hours=23)  # not 24: an hourly run that starts a little early must not slip a day
#: Statuses whose notices are re-checked: sent to the recipient, not yet closed.
CHECKED_STATUSES = ("sent", "acknowledged")
#: How much of a page's visible text the wordings are looked for in: removal and suspension pages say it first.
TEXT_WINDOW = 5000
BY = "recheck"

# The wordings are general (no one site's template), lower-case, matched on the title and the start of the
# visible text with whitespace collapsed; several languages, as marketplaces and hosts localise them.
REMOVED_WORDINGS = (
    # en
    r"(listing|item|product|offer|ad|page|post) (has been|was) (removed|deleted|taken down)",
    r"(listing|item|product|offer|ad|page) (is )?no longer available",
    r"this (listing|item|product|offer|ad) (has )?ended", r"no longer (listed|for sale)",
    # de
    r"(artikel|angebot|anzeige|produkt|seite) (ist )?nicht mehr verfügbar",
    r"(artikel|angebot|anzeige|produkt) wurde (entfernt|gelöscht|beendet)",
    # fr
    r"(annonce|article|produit|offre|page) (n'est|n’est) plus disponible",
    r"(annonce|article|produit|offre) a été (supprimée?|retirée?)",
    # es / pt / it
    r"(anuncio|artículo|producto|publicación) (ya )?no está disponible", r"(anuncio|publicación) (ha sido )?eliminad[oa]",
    r"(anúncio|produto) (não está mais disponível|foi removido)", r"(annuncio|articolo|prodotto) (non è più disponibile|è stato rimosso)",
    # nl / sv / fi / pl
    r"(advertentie|artikel|product) is (niet meer beschikbaar|verwijderd)",
    r"(annonsen|produkten|artikeln) (har tagits bort|finns inte längre)",
    r"(ilmoitus|tuote) (on poistettu|ei ole enää saatavilla)", r"(ogłoszenie|produkt) (zostało usunięte|nie jest już dostępn\w*)",
)
SUSPENDED_WORDINGS = (
    r"(domain|site|website|account|hosting account) (name )?(has been|is|was) (suspended|disabled|deactivated|terminated)",
    r"account suspended", r"suspended domain", r"(domain|site) (is )?on hold", r"blocked (due to|for) abuse",
    r"(domain|konto|website|webseite|seite) (wurde )?(gesperrt|deaktiviert)",
    r"(domaine|compte|site) (a été )?(suspendu|désactivé)", r"(dominio|cuenta|sitio) (ha sido )?suspendid[oa]",
    r"(domínio|conta|site) (foi )?suspens[oa]", r"(dominio|account|sito) (è stato )?sospes[oa]",
    r"(verkkotunnus|tili) on (suljettu|jäädytetty)",
)
PARKED_WORDINGS = (
    r"(this|the) domain (name )?(is|may be) for sale", r"buy this domain", r"(this )?domain (is )?parked",
    r"parked (free|domain|by)", r"domain parking", r"this domain name is available",
    r"diese domain (steht zum verkauf|kaufen)", r"ce (nom de )?domaine est à vendre",
    r"este dominio está a la venta", r"questo dominio è in vendita", r"tämä verkkotunnus on myynnissä",
)
#: Pages that stand in front of the content (maintenance, bot checks, rate limits), often served with a 200:
#: unreachable, so that they are not taken for the content gone.
INTERSTITIAL_WORDINGS = (
    r"temporarily (unavailable|down|offline)", r"under maintenance", r"(please )?try again later",
    r"checking (if the site connection is secure|your browser)", r"(enable|turn on) (javascript|cookies)",
    r"verify (that )?you are (a )?human", r"access (is )?denied", r"too many requests", r"captcha",
    r"vorübergehend nicht (verfügbar|erreichbar)", r"wartungsarbeiten", r"temporairement indisponible",
    r"temporalmente no disponible", r"en mantenimiento",
)
#: In the HTML itself (scripts included): the parking services' scripts and hosts.
PARKING_MARKERS = ("sedoparking", "parkingcrew", "bodis.com", "parklogic", "above.com/marketplace", "dan.com/buy",
                   "afternic", "domainparking", "parking-lander", "window.park")


def _pattern(wordings: tuple[str, ...]) -> re.Pattern[str]:
    # Whole words only: "ad was removed" must not match "thread was removed".
    return re.compile(r"\b(?:" + "|".join(f"(?:{w})" for w in wordings) + r")\b")


_PATTERNS = {signal: _pattern(wordings)
             for signal, wordings in (("suspended_page", SUSPENDED_WORDINGS), ("parked_page", PARKED_WORDINGS),
                                      ("removed_page", REMOVED_WORDINGS))}
_INTERSTITIAL = _pattern(INTERSTITIAL_WORDINGS)
_SPACE = re.compile(r"\s+")

#: Fetch errors that say nothing about the content: unreachable, never removed.
UNREACHABLE_ERRORS = frozenset({"timeout", "connection_error", "dns_error", "tls_error", "refused", "too_large"})


@dataclass(frozen=True)
class FetchResult:
    """What one re-fetch got: a response, or the error (``nxdomain``, or one of :data:`UNREACHABLE_ERRORS`)."""

    url: str
    status_code: int | None = None
    final_url: str | None = None
    body: bytes = b""
    content_type: str | None = None
    error: str | None = None
    detail: str | None = None
    fetched_with: str = "http"
    screenshot_sha256: str | None = None


#: ``fetch(url) -> FetchResult``: how URLs are re-fetched (injected; tests fake it).
Fetch = Callable[[str], FetchResult]


@dataclass(frozen=True)
class Capture:
    """What the notice's evidence holds of one URL: its captured page's fingerprint and title."""

    html: HtmlFingerprint | None = None
    title: str | None = None


def _fold(text: str) -> str:
    return _SPACE.sub(" ", text.replace("\u2019", "'")).strip().casefold()


def _page_text(text: str) -> tuple[str, str]:
    """(title, start of the visible text), lower-case, whitespace collapsed; empty when not HTML."""
    try:
        doc = lxml_html.document_fromstring(text)
    except (ParserError, ValueError):
        return "", ""
    for el in doc.xpath("//script|//style|//noscript|//template"):
        el.drop_tree()
    body = doc.find("body")
    # Text pieces joined with spaces: "<h1>Sorry</h1><p>This item..." must not read "sorrythis item".
    visible = " ".join((body if body is not None else doc).itertext())
    return _fold(" ".join(doc.xpath("//title/text()"))), _fold(visible)[:TEXT_WINDOW]


def wording_signal(text: str) -> tuple[str, str] | None:
    """``(signal, the words that matched)`` when the page reads like a removal, suspension or parking page."""
    lowered = text.casefold()
    marker = next((m for m in PARKING_MARKERS if m in lowered), None)
    title, visible = _page_text(text)
    for signal, pattern in _PATTERNS.items():
        m = pattern.search(title) or pattern.search(visible)
        if m:
            return signal, m.group(0)
        if signal == "parked_page" and marker:
            return signal, f"parking service marker {marker!r}"
    return None


def classify(result: FetchResult, capture: Capture | None, at: datetime | None = None) -> RemovalCheck:
    """The :class:`RemovalCheck` of one re-fetch, compared with what was captured (see the module docstring)."""
    check = RemovalCheck(url=result.url, at=at or utcnow(), outcome="unreachable", signal=result.error or "",
                         status_code=result.status_code, final_url=result.final_url,
                         fetched_with=result.fetched_with, screenshot_sha256=result.screenshot_sha256,
                         body_sha256=hashlib.sha256(result.body).hexdigest() if result.body else None,
                         detail=result.detail)

    def done(outcome: str, signal: str, detail: str | None = None) -> RemovalCheck:
        check.outcome, check.signal = outcome, signal
        if detail:
            check.detail = detail
        return check

    if result.error == "nxdomain":
        return done("removed", "nxdomain", result.detail or "the host name does not exist")
    if result.error:
        return done("unreachable", result.error if result.error in UNREACHABLE_ERRORS else "connection_error")
    status = result.status_code or 0
    if status in (404, 410, 451):
        return done("removed", f"http_{status}")
    if status >= 500:
        return done("unreachable", "http_5xx", f"HTTP {status}")
    if status >= 400 or status < 200:
        # 403 bot walls, 429 rate limits: the content may well be there.
        return done("unreachable", "http_4xx" if status >= 400 else "no_status", f"HTTP {status}")
    if not result.body.strip():
        return done("unreachable", "empty_body", f"HTTP {status} with an empty body")
    text = decode_html(result.body, result.content_type)[0]
    similarity = None
    if capture is not None and capture.html:
        similarity = HtmlFingerprint.of(text).similarity(capture.html)
        if similarity >= CONTENT_MATCH:
            return done("online", "content_present", f"{similarity:.0%} similar to the captured page")
    wording = wording_signal(text)
    if wording:
        return done("removed", wording[0], f"the page reads {wording[1]!r}")
    standin = _INTERSTITIAL.search(" ".join(_page_text(text)))
    if standin:
        return done("unreachable", "interstitial_page", f"a page in front of the content reads {standin.group(0)!r}")
    if similarity is not None:
        return done("removed", "content_gone", f"only {similarity:.0%} similar to the captured page "
                                               f"(present from {CONTENT_MATCH:.0%})")
    if capture is not None and capture.title and _fold(capture.title):
        # No captured HTML to compare with: the captured title alone is too weak to call the content gone.
        if _fold(capture.title) in " ".join(_page_text(text)):
            return done("online", "content_present", "no captured HTML; the captured title is on the page")
        return done("online", "content_unverified", "no captured HTML; the captured title is not on the page")
    return done("online", "content_unverified", "nothing captured to compare with")


def confirmed_removed(checks: list[RemovalCheck], url: str, min_gap: timedelta = MIN_GAP) -> list[RemovalCheck]:
    """The removed sightings that confirm ``url`` gone (its current run of removed checks, since the last
    online one, spanning at least ``min_gap``), or [] when it is not confirmed. Unreachable checks are ignored."""
    run: list[RemovalCheck] = []
    for c in sorted((c for c in checks if c.url == url and c.outcome != "unreachable"), key=lambda c: c.at):
        run = [*run, c] if c.outcome == "removed" else []
    if len(run) >= 2 and run[-1].at - run[0].at >= min_gap:
        return run
    return []


def is_due(notice: Takedown, now: datetime, min_gap: timedelta = MIN_GAP) -> bool:
    """Whether ``notice`` is re-checked at ``now``: hourly for :data:`HOURLY_FOR` after it was sent, then daily,
    and always once a removed sighting waits for its confirmation."""
    if not notice.checks:
        return True
    sent = [c.at for c in notice.history if c.status == "sent"]
    if not sent or now - max(sent) <= HOURLY_FOR:
        return True
    last = max(c.at for c in notice.checks)
    latest = {c.url: c for c in sorted(notice.checks, key=lambda c: c.at)}
    pending = any(c.outcome == "removed" for c in latest.values())
    return now - last >= (min_gap if pending else DAILY)


def notice_urls(notice: Takedown) -> list[str]:
    """The notice's URLs, or those of its evidence when it lists none (leak notices name files, not URLs)."""
    urls = notice.urls or [e.url for e in notice.evidence if e.url]
    return list(dict.fromkeys(urls))


@dataclass
class NoticeRecheck:
    """What one notice's re-check found."""

    notice_id: str
    status: str
    checks: list[RemovalCheck] = field(default_factory=list)
    confirmed: list[str] = field(default_factory=list)  # URLs confirmed removed
    closed: bool = False
    error: str | None = None


@dataclass
class RecheckSummary:
    notices: list[NoticeRecheck] = field(default_factory=list)

    def totals(self) -> dict[str, int]:
        checks = [c for n in self.notices for c in n.checks]
        out = {"notices": len(self.notices), "urls": len(checks),
               "closed": sum(n.closed for n in self.notices), "errors": sum(bool(n.error) for n in self.notices)}
        for outcome in ("removed", "unreachable", "online"):
            out[outcome] = sum(c.outcome == outcome for c in checks)
        return out


def recheck_notice(notice: Takedown, fetch: Fetch, captures: dict[str, Capture], now: datetime,
                   min_gap: timedelta = MIN_GAP) -> NoticeRecheck:
    """Re-fetch every URL of ``notice``, append the checks, and close it when every URL is confirmed removed."""
    result = NoticeRecheck(notice.doc_id(), notice.status)
    if notice.status not in CHECKED_STATUSES:
        return result
    urls = notice_urls(notice)
    for url in urls:
        try:
            fetched = fetch(url)
        except (OSError, ValueError) as exc:  # fetchers report errors in the result; a stray one stays one URL's
            log.warning("recheck %s: fetching %s failed: %s", notice.doc_id(), url, exc)
            fetched = FetchResult(url, error="connection_error", detail=f"{type(exc).__name__}: {exc}")
        check = classify(fetched, captures.get(url), at=now)
        notice.checks.append(check)
        result.checks.append(check)
    proofs = {url: confirmed_removed(notice.checks, url, min_gap) for url in urls}
    result.confirmed = [u for u, proof in proofs.items() if proof]
    if urls and len(result.confirmed) == len(urls):
        reason = "; ".join(f"{u}: {'/'.join(dict.fromkeys(c.signal for c in p))} seen {len(p)} times from "
                           f"{p[0].at:%Y-%m-%d %H:%M} to {p[-1].at:%Y-%m-%d %H:%M} UTC" for u, p in proofs.items())
        transition(notice, "removed", BY, reason=f"every URL removed: {reason}", at=now)
        notice.watch_until = now + WATCH_FOR
        result.closed, result.status = True, notice.status
    return result


def captures_of(notice: Takedown, read: Callable[[NoticeEvidence], bytes | None]) -> dict[str, Capture]:
    """The captured page of each of the notice's URLs, from its evidence (``read`` returns the stored HTML)."""
    out: dict[str, Capture] = {}
    for ev in notice.evidence:
        try:
            html = read(ev)
        except OSError as exc:
            log.warning("recheck %s: the captured HTML of %s is unreadable: %s", notice.doc_id(), ev.url, exc)
            html = None
        capture = Capture(HtmlFingerprint.of(html) if html else None, ev.title)
        for url in (ev.url, ev.final_url):
            if url:
                out.setdefault(url, capture)
    return out


def recheck(service: TakedownService, fetch: Fetch, now: datetime | None = None,
            min_gap: timedelta = MIN_GAP) -> RecheckSummary:
    """Re-check every sent or acknowledged notice of the service's brand; each notice is written back
    conditionally, so a person acting on it meanwhile wins and this run's checks of it are dropped (logged)."""
    now = now or utcnow()
    summary = RecheckSummary()

    def read(ev: NoticeEvidence) -> bytes | None:
        return service.evidence.read(ev.html) if ev.html and ev.html.path else None

    for status in CHECKED_STATUSES:
        for listed in service.list(status=status):
            notice, condition = service._get(listed.doc_id())
            if notice.status not in CHECKED_STATUSES or not is_due(notice, now, min_gap):
                continue
            result = recheck_notice(notice, fetch, captures_of(notice, read), now, min_gap)
            try:
                service._write(notice, condition)
            except TakedownError as exc:
                result.error, result.closed = str(exc), False
                log.warning("recheck: %s", exc)
            summary.notices.append(result)
    return summary
