"""How much a captured page looks like one of the brand's official pages: its HTML and its screenshot.

Fake stores are scraped copies of the official storefront: the same template (tag structure,
class and id names), most of the same text, and therefore nearly the same rendering, with
prices, a sale banner or the logo's colours changed. Two fingerprints measure that, each
robust to such edits and cheap enough to compare every capture with every reference page:

- :class:`HtmlFingerprint`: three sets of hashed features (tag paths three deep with their
  classes, class and id names, word 3-grams of the visible text), compared by Jaccard
  similarity, family by family, then averaged with ``HTML_WEIGHTS``;
- :class:`ScreenshotFingerprint`: pHash and dHash (64 bits each, imagehash) of the whole
  screenshot and of its top viewport (what a visitor sees first: header, logo, hero),
  compared by Hamming distance.

:class:`OfficialReferences` holds the fingerprints of the official pages (the surface spider
captures the official domains first, see ``crawlers.spiders.surface``) and answers which
reference a capture resembles most.
"""

from __future__ import annotations

import hashlib
import io
import re
from dataclasses import dataclass, field

import imagehash
from lxml import html as lxml_html
from lxml.etree import ParserError
from PIL import Image

from brandhound.html_text import decode_html
from brandhound.image_fingerprint import ImageRefused, fingerprint

#: How much each feature family counts in the HTML similarity.
HTML_WEIGHTS = {"paths": 0.4, "attrs": 0.3, "text": 0.3}
#: Tag-path depth: an element with its parent and grandparent ("main>section.grid>div.card").
PATH_DEPTH = 3
TEXT_SHINGLE = 3
#: Height of the top viewport, as a share of the screenshot's width (the capture viewport is 1280x900).
VIEWPORT_RATIO = 900 / 1280
_SKIP_TAGS = frozenset({"script", "style", "noscript", "template", "meta", "link", "br", "svg", "path"})
_WORD = re.compile(r"\w+", re.U)


def _h(feature: str) -> int:
    """A stable 64-bit hash (Python's own hash() changes between processes)."""
    return int.from_bytes(hashlib.blake2b(feature.encode("utf-8", "replace"), digest_size=8).digest(), "big")


def jaccard(a: frozenset, b: frozenset) -> float:
    if not a and not b:
        return 0.0
    return len(a & b) / len(a | b)


@dataclass(frozen=True)
class HtmlFingerprint:
    """Hashed structure, class/id and text features of one HTML page."""

    paths: frozenset[int] = frozenset()
    attrs: frozenset[int] = frozenset()
    text: frozenset[int] = frozenset()

    @classmethod
    def of(cls, html: str | bytes | None) -> HtmlFingerprint:
        """The fingerprint of ``html``; an empty one when it is not readable HTML."""
        if isinstance(html, bytes):
            html = decode_html(html)[0]
        if not html or not html.strip():
            return cls()
        try:
            doc = lxml_html.document_fromstring(html)
        except (ParserError, ValueError):
            return cls()
        paths: set[int] = set()
        attrs: set[int] = set()
        words: list[str] = []
        # Depth-first, in document order, without recursion: hostile pages nest deeply.
        stack: list[tuple[lxml_html.HtmlElement | str, tuple[str, ...]]] = [(doc, ())]
        while stack:
            el, ancestors = stack.pop()
            if isinstance(el, str):  # a tail: text after a child element
                words.extend(_WORD.findall(el.casefold()))
                continue
            tag = el.tag if isinstance(el.tag, str) else ""
            if not tag or tag in _SKIP_TAGS:
                continue
            classes = sorted((el.get("class") or "").split())
            chain = (*ancestors, ".".join([tag, *classes]))[-PATH_DEPTH:]
            paths.add(_h(">".join(chain)))
            attrs.update(_h("c:" + c) for c in classes)
            if el_id := el.get("id"):
                attrs.add(_h("i:" + el_id))
            if el.text:
                words.extend(_WORD.findall(el.text.casefold()))
            for child in reversed(el):
                if child.tail:
                    stack.append((child.tail, ()))
                stack.append((child, chain))
        text = {_h(" ".join(words[i:i + TEXT_SHINGLE])) for i in range(max(0, len(words) - TEXT_SHINGLE + 1))}
        return cls(frozenset(paths), frozenset(attrs), frozenset(text))

    def __bool__(self) -> bool:
        return bool(self.paths)

    def similarity(self, other: HtmlFingerprint) -> float:
        """0 (nothing shared) to 1 (the same page), a weighted mean of the families' Jaccard similarities."""
        return sum(w * jaccard(getattr(self, name), getattr(other, name)) for name, w in HTML_WEIGHTS.items())


@dataclass(frozen=True)
class ScreenshotFingerprint:
    """pHash and dHash of a screenshot and of its top viewport (hex, 64 bits each)."""

    full_phash: str
    full_dhash: str
    top_phash: str
    top_dhash: str

    @classmethod
    def of(cls, png: bytes | None) -> ScreenshotFingerprint | None:
        """The fingerprint of a screenshot; None when there is none or it is not an image we decode
        (``brandhound.image_fingerprint`` refuses decompression bombs before decoding)."""
        if not png:
            return None
        try:
            full = fingerprint(png)
        except ImageRefused:
            return None
        with Image.open(io.BytesIO(png)) as img:
            top = img.crop((0, 0, img.width, min(img.height, round(img.width * VIEWPORT_RATIO)))).convert("L")
        return cls(full.phash, full.dhash, str(imagehash.phash(top)), str(imagehash.dhash(top)))

    @staticmethod
    def _distance(a: str, b: str) -> int:
        return bin(int(a, 16) ^ int(b, 16)).count("1")

    def similarity(self, other: ScreenshotFingerprint) -> tuple[float, str]:
        """0 to 1 (1 - mean Hamming distance of pHash and dHash / 64) of the closer of the two
        views, and which view it is ("top viewport" or "full page")."""
        top = 1 - (self._distance(self.top_phash, other.top_phash)
                   + self._distance(self.top_dhash, other.top_dhash)) / 128
        full = 1 - (self._distance(self.full_phash, other.full_phash)
                    + self._distance(self.full_dhash, other.full_dhash)) / 128
        return (top, "top viewport") if top >= full else (full, "full page")


@dataclass(frozen=True)
class ReferenceMatch:
    """The official page a capture resembles most, and how much."""

    url: str
    similarity: float
    view: str | None = None  # for screenshots: which view matched


@dataclass
class OfficialReferences:
    """Fingerprints of the brand's official pages, by URL."""

    html: dict[str, HtmlFingerprint] = field(default_factory=dict)
    screenshots: dict[str, ScreenshotFingerprint] = field(default_factory=dict)

    def add(self, url: str, html: str | bytes | None = None, screenshot: bytes | None = None) -> None:
        """Fingerprint one official page (its HTML, its screenshot, or both) as a reference."""
        fp = HtmlFingerprint.of(html) if html is not None else None
        if fp:
            self.html[url] = fp
        shot = ScreenshotFingerprint.of(screenshot)
        if shot is not None:
            self.screenshots[url] = shot

    def __len__(self) -> int:
        return len(self.html.keys() | self.screenshots.keys())

    def closest_html(self, fp: HtmlFingerprint | None) -> ReferenceMatch | None:
        if not fp or not self.html:
            return None
        url, sim = max(((u, fp.similarity(ref)) for u, ref in self.html.items()), key=lambda x: x[1])
        return ReferenceMatch(url, sim)

    def closest_screenshot(self, fp: ScreenshotFingerprint | None) -> ReferenceMatch | None:
        if fp is None or not self.screenshots:
            return None
        url, (sim, view) = max(((u, fp.similarity(ref)) for u, ref in self.screenshots.items()),
                               key=lambda x: x[1][0])
        return ReferenceMatch(url, sim, view)
