"""What a captured page shows about itself: title, favicon, logos, forms and outgoing links."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

from lxml import html as lxml_html
from lxml.etree import ParserError

from brandhound.items import Form
from brandhound.urls import registered_domain

_CARD_FIELD = re.compile(r"card|cc-?num|kortti|tarjeta|cart[aã]o|karty|cvv|cvc|expir", re.I)
_LOGO = re.compile(r"logo|brand", re.I)
MAX_LINKS = 500


@dataclass
class PageFacts:
    title: str | None = None
    favicon_url: str | None = None
    logo_urls: list[str] = field(default_factory=list)
    forms: list[Form] = field(default_factory=list)
    links: list[str] = field(default_factory=list)


def page_facts(text: str, url: str) -> PageFacts:
    facts = PageFacts()
    try:
        doc = lxml_html.document_fromstring(text) if text.strip() else None
    except (ParserError, ValueError):
        doc = None
    if doc is None:
        return facts
    title = doc.xpath("//title")
    facts.title = " ".join(title[0].text_content().split())[:1000] or None if title else None
    icons = doc.xpath("//link[contains(concat(' ', translate(@rel,'ICON','icon'), ' '), ' icon ')]/@href")
    facts.favicon_url = urljoin(url, icons[0]) if icons else urljoin(url, "/favicon.ico")
    for img in doc.xpath("//img[@src]"):
        hint = " ".join(filter(None, [img.get("src"), img.get("alt"), img.get("class"), img.get("id")]))
        if _LOGO.search(hint):
            facts.logo_urls.append(urljoin(url, img.get("src")))
    for form in doc.xpath("//form"):
        action = urljoin(url, form.get("action") or url)
        inputs = form.xpath(".//input|.//select")
        names = " ".join(" ".join(filter(None, [i.get("name"), i.get("id"), i.get("autocomplete"), i.get("placeholder")])) for i in inputs)
        facts.forms.append(Form(
            action=action,
            action_domain=registered_domain(action) if urlsplit(action).scheme in {"http", "https"} else None,
            method=(form.get("method") or "get").lower(),
            has_password=any((i.get("type") or "").lower() == "password" for i in inputs),
            has_card=bool(_CARD_FIELD.search(names)),
        ))
    seen = set()
    for href in doc.xpath("//a/@href"):
        link = urljoin(url, href.strip())
        if urlsplit(link).scheme in {"http", "https"} and link not in seen:
            seen.add(link)
            facts.links.append(link)
            if len(facts.links) >= MAX_LINKS:
                break
    facts.logo_urls = list(dict.fromkeys(facts.logo_urls))[:10]
    return facts
