"""The sandbox's labelled sites as the surface spider captures them, scored by the site detector.

JavaScript-only shells are rendered the way their script would in a browser, RDAP is answered
by the build's registry and certificate dates are the ones the sandbox serves, so the site
detector sees what a crawl of the running sandbox would give it, in seconds and without sockets.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from html import escape
from urllib.parse import urlsplit

from brandhound.items import Image, Site, Tls
from brandhound.page_fingerprint import HtmlFingerprint, OfficialReferences
from brandhound.urls import url_fields
from crawlers.page_facts import page_facts
from detectors.rdap import RdapClient
from detectors.site_detector import SiteScore, SiteScorer, page_text
from sandbox.web.routes import Request
from sandbox.web.tls import VALIDITY_DAYS


@dataclass
class SandboxSiteResult:
    """A labelled sandbox site and its verdict: the highest-scoring of its pages."""

    truth: dict
    best: SiteScore
    pages: list[SiteScore]

    @property
    def flagged(self) -> bool:
        return self.best.finding is not None and self.best.finding.verdict == "flagged"

    @property
    def predicted(self) -> str | None:
        return self.best.kind if self.flagged else None


def render_js_shell(html: str) -> str:
    """The DOM the sandbox's JavaScript-only shells build in a browser (their script, done in Python)."""
    found = re.search(r'atob\("([A-Za-z0-9+/=]+)"\)', html)
    if not found:
        return html
    d = json.loads(base64.b64decode(found.group(1)).decode("utf-8"))
    form = d["form"]
    parts = [f"<!doctype html><html><head><title>{escape(form['title'] + ' | ' + d['brand'])}</title>",
             '<link rel="icon" type="image/png" href="/favicon.ico"></head><body><div id="app">',
             f'<header class="site-header"><img src="{escape(d["logo"])}" alt="{escape(d["brand"])}"></header>']
    if d.get("banner"):
        parts.append(f'<div class="banner">{escape(d["banner"])}</div>')
    parts.append("<main>")
    if d.get("products"):
        parts.append(f"<h1>{escape(d['brand'])} \u2013 Nordic design for everyday life</h1><section>")
        for p in d["products"]:
            parts.append(f'<div class="card"><img src="{escape(p["image"])}" alt="{escape(p["name"])}">'
                         f'<h2>{escape(p["name"])}</h2><p class="price">{escape(p["price_text"])}</p></div>')
        parts.append("</section>")
    parts.append(f'<h2>{escape(form["title"])}</h2><form class="account" action="{escape(form["action"])}" '
                 'method="post">')
    for f in form["fields"]:
        parts.append(f'<label for="{escape(f["name"])}">{escape(f["label"])}</label>'
                     f'<input id="{escape(f["name"])}" name="{escape(f["name"])}" type="{escape(f["type"])}">')
    parts.append(f'<button type="submit">{escape(form["submit"])}</button></form></main>'
                 f'<footer>\u00a9 {escape(d["legal_name"])}</footer></div></body></html>')
    return "".join(parts)


def sandbox_rdap_client(build):
    """An RDAP client for a :class:`evaluation.sandbox.SandboxBuild`: its bootstrap and RDAP
    service answered through the build's route table, without sockets."""
    def fetch(url: str, timeout: float):
        parts = urlsplit(url)
        resp = build.table.respond(Request("GET", parts.hostname or "", parts.path or "/", parts.query,
                                           headers={"Accept": "application/rdap+json"}, scheme=parts.scheme))
        return resp.status, dict(resp.headers), resp.body

    return RdapClient(build.truth["rdap"]["bootstrap"], fetch=fetch)


def sandbox_html(build, truth: dict, url: str) -> str:
    """A sandbox page's HTML as a browser has it (JavaScript-only shells rendered)."""
    html = build.body(url).decode("utf-8", "replace")
    return render_js_shell(html) if truth.get("rendering") == "js" else html


def sandbox_site_pages(build, truth: dict, rdap=None, now: datetime | None = None) -> list[tuple[Site, str, str]]:
    """Every page of a labelled sandbox site as the surface spider captures it at ``now`` (title, favicon,
    logos with their pHashes, forms, RDAP facts, certificate dates) with its visible text and its HTML."""
    now = now or datetime.now(timezone.utc)
    record = rdap.try_lookup(truth["domain"]) if rdap is not None else None
    issued = now - timedelta(days=truth["certificate_age_days"]) if "certificate_age_days" in truth else None
    out = []
    for url in truth["pages"] or [truth["url"]]:
        html = sandbox_html(build, truth, url)
        facts = page_facts(html, url)
        site = Site(
            url=url_fields(url), title=facts.title,
            favicon=Image(url=facts.favicon_url, phash=build.phash(facts.favicon_url)) if facts.favicon_url else None,
            logos=[Image(url=u, phash=build.phash(u)) for u in facts.logo_urls],
            forms=facts.forms, rdap=record.to_item() if record else None,
            tls=Tls(issuer="CN=brandhound sandbox CA,O=brandhound sandbox", not_before=issued,
                    not_after=issued + timedelta(days=VALIDITY_DAYS)) if issued else None,
        )
        out.append((site, page_text(html), html))
    return out


def sandbox_official_references(build) -> OfficialReferences:
    """The HTML of the sandbox's official pages as references (the sandbox build has no screenshots)."""
    references = OfficialReferences()
    for truth in (p for p in build.truth["pages"] if p["kind"] == "site" and p["label"] == "official"):
        for url in truth["pages"] or [truth["url"]]:
            references.add(url, sandbox_html(build, truth, url))
    return references


def score_sandbox_sites(scorer: SiteScorer, build, rdap=None, now: datetime | None = None) -> list[SandboxSiteResult]:
    """Every labelled site of a sandbox build, scored page by page."""
    results = []
    for truth in (p for p in build.truth["pages"] if p["kind"] == "site"):
        scores = [scorer.score(site, text, now=now, html=HtmlFingerprint.of(html))
                  for site, text, html in sandbox_site_pages(build, truth, rdap, now)]
        best = max(scores, key=lambda s: s.score)
        results.append(SandboxSiteResult(truth, best, scores))
    return results
