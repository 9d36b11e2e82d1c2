"""Find the brand and its products in listing text, through misspellings, homoglyphs and leetspeak.

Counterfeiters write ``Kеstrava`` (Cyrillic e), ``K3strava``, ``Kes-trava`` or
``Kesrtava`` so that exact searches miss them. Text is first *folded*: letters
that look alike in another script become their Latin twin, digits and symbols
used as letters become those letters, accents go, case goes. Folded tokens are
then compared with the folded brand names by edit similarity (rapidfuzz), and
joined neighbours are tried too, so a name split by a hyphen or a space still
matches. Every match keeps the text it was found in, so a finding can quote it.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

from rapidfuzz import fuzz, process

from brandhound.profile import BrandProfile

#: Characters from other scripts that render like a Latin letter (a curated subset of Unicode's
#: confusables for the Latin alphabet: Cyrillic, Greek, and a few symbols).
HOMOGLYPHS = {
    **dict.fromkeys("аαа", "a"), **dict.fromkeys("вβ", "b"), **dict.fromkeys("сϲ", "c"), "ԁ": "d",
    **dict.fromkeys("еεё", "e"), "ғ": "f", "ɡ": "g", **dict.fromkeys("һн", "h"), **dict.fromkeys("іιї", "i"),
    "ј": "j", **dict.fromkeys("кκ", "k"), "ӏ": "l", "м": "m", **dict.fromkeys("ηп", "n"),
    **dict.fromkeys("оοσ", "o"), **dict.fromkeys("рρ", "p"), "ԛ": "q", "г": "r", "ѕ": "s", **dict.fromkeys("тτ", "t"),
    **dict.fromkeys("υ", "u"), "ν": "v", "ѡ": "w", **dict.fromkeys("хχ", "x"), **dict.fromkeys("уγ", "y"),
    "ᴢ": "z",
}
#: Digits and symbols written for letters. Applied to whole text, so they must also be applied to
#: the terms searched for (which :func:`fold` does): "50x70" folds the same way on both sides.
LEET = {"0": "o", "1": "l", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s", "|": "l", "€": "e"}

_TOKEN = re.compile(r"[a-z0-9]+")

#: Edit similarity (0-100) a folded token window needs to count as the brand name.
BRAND_SIMILARITY = 84.0
#: Partial similarity a product name or alias needs within the folded text.
PRODUCT_SIMILARITY = 92.0


def _fold_char(ch: str) -> str:
    lowered = ch.lower()
    if lowered in HOMOGLYPHS:
        return HOMOGLYPHS[lowered]
    if lowered in LEET:
        return LEET[lowered]
    decomposed = unicodedata.normalize("NFKD", lowered)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


#: Folding of the characters that fold to exactly one character (all of ASCII among them): one
#: str.translate call instead of a Python loop, for the texts that hold nothing else.
_ONE_TO_ONE = {ord(c): f for c in map(chr, range(128)) if len(f := (LEET.get(c.lower()) or c.lower())) == 1}


def fold_with_offsets(text: str) -> tuple[str, list[int]] | tuple[str, range]:
    """The folded text, and for each of its characters the index of the character it came from."""
    if text.isascii():
        return text.translate(_ONE_TO_ONE), range(len(text))
    out: list[str] = []
    offsets: list[int] = []
    for i, ch in enumerate(text):
        folded = _fold_char(ch)
        out.append(folded)
        offsets.extend([i] * len(folded))
    return "".join(out), offsets


def fold(text: str) -> str:
    return fold_with_offsets(text)[0]


def _squash(text: str) -> str:
    """Folded, with everything but letters and digits removed: the form names are compared in."""
    return "".join(_TOKEN.findall(fold(text)))


@dataclass(frozen=True)
class Mention:
    #: ``brand``: one of the brand's names or known misspellings; ``product``: a product name or alias.
    kind: Literal["brand", "product"]
    #: The profile's term that matched, as written in the profile.
    term: str
    #: The text as found (original characters, homoglyphs and all).
    found: str
    #: Similarity 0-100 between the folded text and the folded term.
    score: float


class BrandMatcher:
    """Finds a brand's names and products in text. Built once per brand, used for every listing."""

    def __init__(self, brand_terms: list[str], product_terms: list[str],
                 brand_similarity: float = BRAND_SIMILARITY, product_similarity: float = PRODUCT_SIMILARITY):
        self.brand_terms = [(t, _squash(t), len(_TOKEN.findall(fold(t)))) for t in dict.fromkeys(brand_terms)]
        self.brand_terms = [t for t in self.brand_terms if t[1]]
        self.product_terms = [(t, " ".join(_TOKEN.findall(fold(t)))) for t in dict.fromkeys(product_terms)]
        self.product_terms = [t for t in self.product_terms if t[1]]
        self.brand_similarity = brand_similarity
        self.product_similarity = product_similarity
        self._recent: dict[str, tuple[Mention, ...]] = {}

    @classmethod
    def from_profile(cls, profile: BrandProfile) -> BrandMatcher:
        products = [name for p in profile.products for name in (p.name, *p.aliases)]
        return cls([*profile.names, *profile.misspellings], products)

    def mentions(self, text: str | None) -> list[Mention]:
        """Every brand and product mention in ``text``, best match per term, strongest first.
        The last few answers are kept: a crawl asks about one listing's text in several places."""
        if not text:
            return []
        if text in self._recent:
            return list(self._recent[text])
        found = self._mentions(text)
        self._recent[text] = tuple(found)
        if len(self._recent) > 256:
            self._recent.pop(next(iter(self._recent)))
        return found

    def _mentions(self, text: str) -> list[Mention]:
        folded, offsets = fold_with_offsets(text)
        tokens = [(m.group(), m.start(), m.end()) for m in _TOKEN.finditer(folded)]
        found: dict[str, Mention] = {}
        windows = self._windows(tokens)
        if windows and self.brand_terms:
            # Every window against every brand term in one call (rapidfuzz's C loop, not ours).
            scores = process.cdist([w[0] for w in windows], [t[1] for t in self.brand_terms], scorer=fuzz.ratio,
                                   score_cutoff=self.brand_similarity, workers=1)
            for col, (term, _, _) in enumerate(self.brand_terms):
                row = int(scores[:, col].argmax())
                if scores[row, col] >= self.brand_similarity:
                    _, start, end = windows[row]
                    found[term] = Mention("brand", term, text[offsets[start]:offsets[end - 1] + 1],
                                          round(float(scores[row, col]), 1))
        spaced = " ".join(t for t, _, _ in tokens)
        product_names = [t[1] for t in self.product_terms]
        for _, score, i in process.extract(spaced, product_names, scorer=fuzz.partial_ratio,
                                           score_cutoff=self.product_similarity, limit=None):
            term, folded_term = self.product_terms[i]
            alignment = fuzz.partial_ratio_alignment(folded_term, spaced)
            assert alignment is not None, "without a score cutoff rapidfuzz always aligns"
            found[term] = Mention("product", term, spaced[alignment.dest_start:alignment.dest_end], round(score, 1))
        return sorted(found.values(), key=lambda m: (m.kind != "brand", -m.score, m.term))

    def mentions_brand(self, text: str | None) -> bool:
        """True when ``text`` names the brand or one of its products (the cheap question of :meth:`mentions`)."""
        return bool(self.mentions(text))

    def _windows(self, tokens: list[tuple[str, int, int]]) -> list[tuple[str, int, int]]:
        """Runs of neighbouring tokens joined (a name split by a hyphen or a space is whole again),
        as long as some brand term could still match them: (joined, start, end)."""
        if not self.brand_terms:
            return []
        low = 0.75 * min(len(t[1]) for t in self.brand_terms)
        high = 1.34 * max(len(t[1]) for t in self.brand_terms)
        longest = max(t[2] for t in self.brand_terms) + 1
        out = []
        for i in range(len(tokens)):
            joined = ""
            for j in range(i, min(i + longest, len(tokens))):
                joined += tokens[j][0]
                if len(joined) > high:
                    break
                if len(joined) >= low:
                    out.append((joined, tokens[i][1], tokens[j][2]))
        return out
