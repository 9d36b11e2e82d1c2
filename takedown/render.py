"""Notices rendered from their :class:`~brandhound.items.Takedown` document and the brand profile.

One Jinja2 template per recipient kind (``takedown/templates/<kind>.j2``, all extending
``_notice.j2``) renders both the plain-text body (e-mail, Elasticsearch) and the HTML letter
(PDF): the same template, with the ``_text.j2`` or ``_html.j2`` layout. Both environments are
:class:`~jinja2.sandbox.SandboxedEnvironment`; the HTML one autoescapes. Values reach the
templates as data only, never as template source, and every untrusted value (titles, sellers,
URLs, recipient names) is reduced to one bounded line first (:func:`takedown.text.one_line`),
so it can neither add lines to the text nor markup to the letter.

Phrases come from ``takedown/i18n/<language>.json``. A phrase missing in the notice's
language is taken from English and the notice says so in a visible note at the top; an
unknown language is all English with the same note. A notice is never left broken.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import FileSystemLoader, StrictUndefined
from jinja2.sandbox import SandboxedEnvironment

from brandhound.items import NoticeEvidence, Takedown, utcnow
from brandhound.profile import BrandProfile
from takedown.text import one_line

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
CATALOGS = HERE / "i18n"
FALLBACK = "en"
#: Longest free-text remark legal staff can add, in characters.
MAX_REMARKS = 4000


@dataclass(frozen=True)
class RenderedNotice:
    subject: str
    text: str
    html: str
    missing_phrases: tuple[str, ...] = ()


@cache
def catalog(language: str) -> dict[str, str]:
    """The phrases of ``language``; empty when there is no catalogue for it."""
    path = CATALOGS / f"{language}.json"
    if not path.is_file():
        return {}
    return json.loads(path.read_text(encoding="utf-8"))


def languages() -> list[str]:
    """Languages with a catalogue."""
    return sorted(p.stem for p in CATALOGS.glob("*.json"))


class Translator:
    """``t(key, **values)``: a phrase in the notice's language (else English), values made one-line."""

    def __init__(self, language: str):
        self.language = language
        self.phrases = catalog(language)
        self.missing: set[str] = set()

    def __call__(self, key: str, **values: Any) -> str:
        phrase = self.phrases.get(key)
        if phrase is None:
            self.missing.add(key)
            phrase = catalog(FALLBACK)[key]
        return phrase.format(**{k: one_line(v) for k, v in values.items()})


@cache
def _environment(html: bool) -> SandboxedEnvironment:
    return SandboxedEnvironment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=html, undefined=StrictUndefined,
                                trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)


def _purpose(kinds: set[str]) -> str:
    if kinds == {"phishing"}:
        return "purpose_phishing"
    if "phishing" in kinds:
        return "purpose_mixed"
    return "purpose_fake_store"


def _title_key(notice: Takedown) -> str:
    return f"title_{notice.recipient.kind}"


def _hashes(n: int, e: NoticeEvidence, t: Translator) -> list[tuple[str, str]]:
    """``(label, SHA-256)`` of an entry's evidence files: page, screenshot, images."""
    files = [("evidence_html", e.html), ("evidence_screenshot", e.screenshot), *(("evidence_image", i) for i in e.images)]
    return [(f"#{n} {t(key)}", f.hash.sha256) for key, f in files if f is not None and f.hash.sha256]


def _context(notice: Takedown, profile: BrandProfile, t: Translator, now: datetime) -> dict[str, Any]:
    holder = profile.rights_holder
    kinds = {e.kind for e in notice.evidence}
    leaks = bool(kinds) and all(k.endswith("_leak") for k in kinds)
    items = [{
        "kind": e.kind,
        "url": one_line(e.url),
        "final_url": one_line(e.final_url or e.url),
        "captured_at": e.captured_at.strftime("%Y-%m-%d %H:%M:%S") if e.captured_at else "",
        "title": one_line(e.title),
        "seller": one_line(e.seller),
        "hashes": _hashes(n, e, t),
        "account": one_line(e.account),
        "secret": one_line(e.secret),
    } for n, e in enumerate(notice.evidence, 1)]
    remarks = [one_line(line, MAX_REMARKS) for line in (notice.remarks or "")[:MAX_REMARKS].splitlines()
               if line.strip()]
    return {
        "language": t.language,
        "recipient": {"name": one_line(notice.recipient.name), "email": one_line(notice.recipient.email),
                      "form_url": one_line(notice.recipient.form_url)},
        "holder": {"legal_name": holder.legal_name, "address": holder.address, "country": holder.country,
                   "email": holder.email, "phone": holder.phone or "", "signatory": holder.signatory.name,
                   "signatory_email": holder.signatory.email},
        "brand": profile.name,
        "mark_lines": [t("mark_line", mark=m.mark, office=m.office, number=m.number,
                         classes=", ".join(map(str, m.classes))) for m in holder.trademarks],
        "works": list(holder.copyrighted_works),
        "items": items,
        "leaks": leaks,
        "purpose": t(_purpose(kinds)),
        "remarks": remarks,
        "date": now.strftime("%Y-%m-%d"),
        "reference": notice.doc_id(),
        "t": t,
    }


def render_notice(notice: Takedown, profile: BrandProfile, now: datetime | None = None) -> RenderedNotice:
    """Subject line, plain text and HTML letter of ``notice`` in its language."""
    now = now or utcnow()
    t = Translator(notice.language)
    context = _context(notice, profile, t, now)
    title = t(_title_key(notice), brand=profile.name, purpose=context["purpose"])
    subject = one_line(t("subject", title=title, brand=profile.name, count=len(notice.evidence),
                         ref=notice.doc_id()[:12]), 250)
    template = f"{notice.recipient.kind}.j2"
    # Render once to learn which phrases are missing, then with the notes on top.
    parts = {}
    for html in (False, True):
        env = _environment(html)
        parts[html] = env.get_template(template).render(
            **context, layout="_html.j2" if html else "_text.j2", title=title, notes=[])
    notes = []
    if notice.unreviewed:
        notes.append(t("unreviewed_banner"))
    if t.missing:
        name = catalog(notice.language).get("language_name") or notice.language
        notes.append(catalog(FALLBACK)["fallback_note"].format(language=one_line(name)))
    if notes:
        for html in (False, True):
            parts[html] = _environment(html).get_template(template).render(
                **context, layout="_html.j2" if html else "_text.j2", title=title, notes=notes)
    text = re.sub(r"\n{3,}", "\n\n", parts[False]).strip() + "\n"
    return RenderedNotice(subject=subject, text=text, html=parts[True], missing_phrases=tuple(sorted(t.missing)))
