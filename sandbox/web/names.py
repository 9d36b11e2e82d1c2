"""How counterfeiters and squatters write a brand: misspellings, homoglyphs,
leetspeak, and look-alike domain names.

Everything is derived from the brand profile so that another brand gets its
own variants; choices that need randomness take an explicit ``random.Random``
so a build is reproducible from its seed.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

# Latin letters and the Cyrillic or Greek letters that render the same in most fonts.
HOMOGLYPHS: dict[str, tuple[str, ...]] = {
    "a": ("\u0430",),            # Cyrillic a
    "c": ("\u0441",),            # Cyrillic es
    "e": ("\u0435",),            # Cyrillic ie
    "i": ("\u0456",),            # Cyrillic byelorussian-ukrainian i
    "o": ("\u043e", "\u03bf"),   # Cyrillic o, Greek omicron
    "p": ("\u0440",),            # Cyrillic er
    "x": ("\u0445",),            # Cyrillic ha
    "y": ("\u0443",),            # Cyrillic u
    "A": ("\u0410", "\u0391"),   # Cyrillic A, Greek Alpha
    "B": ("\u0412", "\u0392"),
    "E": ("\u0415", "\u0395"),
    "H": ("\u041d", "\u0397"),
    "K": ("\u039a", "\u041a"),   # Greek Kappa, Cyrillic Ka
    "M": ("\u041c", "\u039c"),
    "O": ("\u041e", "\u039f"),
    "P": ("\u0420", "\u03a1"),
    "T": ("\u0422", "\u03a4"),
    "X": ("\u0425", "\u03a7"),
}

LEET: dict[str, str] = {"a": "4", "e": "3", "i": "1", "l": "1", "o": "0", "s": "5", "t": "7"}

# Accented letters that IDN squatters put in place of plain ones (késtrava.com).
ACCENTED: dict[str, str] = {"a": "á", "e": "é", "i": "í", "o": "ö", "u": "ü"}

VOWELS = "aeiou"


def homoglyph_variant(word: str, rng: random.Random, swaps: int = 1) -> str:
    """``word`` with ``swaps`` letters replaced by look-alikes from other scripts."""
    positions = [i for i, ch in enumerate(word) if ch in HOMOGLYPHS]
    if not positions:
        raise ValueError(f"{word!r} has no letter with a homoglyph")
    chars = list(word)
    for i in rng.sample(positions, min(swaps, len(positions))):
        chars[i] = rng.choice(HOMOGLYPHS[chars[i]])
    return "".join(chars)


def leet_variant(word: str, rng: random.Random, swaps: int = 1) -> str:
    """``word`` with ``swaps`` letters written as digits (K3strava)."""
    positions = [i for i, ch in enumerate(word) if ch.lower() in LEET and i > 0]
    if not positions:
        raise ValueError(f"{word!r} has no letter with a leetspeak digit")
    chars = list(word)
    for i in rng.sample(positions, min(swaps, len(positions))):
        chars[i] = LEET[chars[i].lower()]
    return "".join(chars)


def omission(word: str) -> str:
    """One interior letter dropped (the middle one, so the result stays recognisable)."""
    i = len(word) // 2
    return word[:i] + word[i + 1:]


def transposition(word: str) -> str:
    """Two adjacent interior letters swapped."""
    i = len(word) // 2 - 1
    return word[:i] + word[i + 1] + word[i] + word[i + 2:]


def vowel_swap(word: str) -> str:
    """The last vowel replaced by the next vowel (kestrava -> kestrave)."""
    for i in range(len(word) - 1, 0, -1):
        low = word[i].lower()
        if low in VOWELS:
            repl = VOWELS[(VOWELS.index(low) + 1) % len(VOWELS)]
            return word[:i] + (repl.upper() if word[i].isupper() else repl) + word[i + 1:]
    raise ValueError(f"{word!r} has no vowel after its first letter")


def doubling(word: str) -> str:
    """A consonant written twice (kesstrava)."""
    for i in range(1, len(word) - 1):
        if word[i].isalpha() and word[i].lower() not in VOWELS:
            return word[:i + 1] + word[i] + word[i + 1:]
    raise ValueError(f"{word!r} has no interior consonant")


def hyphenate(word: str) -> str:
    """A hyphen inside the word, a third of the way in (kes-trava)."""
    i = max(1, len(word) * 3 // 8)
    return word[:i] + "-" + word[i:]


def accent_variant(word: str) -> str:
    """The first plain vowel after the first letter replaced by an accented one (késtrava)."""
    for i in range(1, len(word)):
        if word[i] in ACCENTED:
            return word[:i] + ACCENTED[word[i]] + word[i + 1:]
    raise ValueError(f"{word!r} has no vowel to accent")


def misspellings(brand: str, listed: list[str]) -> list[str]:
    """The profile's own misspellings first, then derived ones; unique, never the brand itself."""
    seen = {brand.casefold()}
    out: list[str] = []
    for candidate in [*listed, omission(brand), transposition(brand), vowel_swap(brand), doubling(brand)]:
        if candidate.casefold() not in seen:
            seen.add(candidate.casefold())
            out.append(candidate)
    return out


def to_ascii_host(name: str) -> str:
    """The on-the-wire (punycode) form of a host name."""
    return name.encode("idna").decode("ascii")


def to_unicode_host(name: str) -> str:
    try:
        return name.encode("ascii").decode("idna")
    except UnicodeError:
        return name


@dataclass(frozen=True)
class LookalikeDomain:
    """A domain squatting on the brand's primary domain."""

    unicode: str
    permutation: str          # typo | homoglyph | combosquat | tld_swap | hyphenation | subdomain
    technique: str            # the finer kind: omission, transposition, vowel_swap, ...
    purpose: str = "store"    # what the squatter runs there: a fake "store" or a "phishing" page

    @property
    def host(self) -> str:
        return to_ascii_host(self.unicode)


def lookalike_domains(primary: str, taken: set[str]) -> list[LookalikeDomain]:
    """About a dozen look-alikes of ``primary`` (e.g. kestrava.com), none of them in ``taken``.

    The kinds follow the permutation families that domain-monitoring tools
    (dnstwist and the like) report, so a detector can be scored per family.
    """
    label, _, tld = primary.partition(".")
    other_tlds = [t for t in ("co", "net") if t != tld]
    candidates = [
        LookalikeDomain(f"{vowel_swap(label)}.{tld}", "typo", "vowel_swap"),
        LookalikeDomain(f"{omission(label)}.{tld}", "typo", "omission"),
        LookalikeDomain(f"{transposition(label)}.{tld}", "typo", "transposition"),
        LookalikeDomain(f"{accent_variant(label)}.{tld}", "homoglyph", "idn_accent", "phishing"),
        LookalikeDomain(f"{label}-outlet.shop", "combosquat", "suffix_word"),
        LookalikeDomain(f"{label}shop.store", "combosquat", "suffix_word"),
        LookalikeDomain(f"{label}-official.net", "combosquat", "suffix_word"),
        *(LookalikeDomain(f"{label}.{t}", "tld_swap", "tld_swap") for t in other_tlds),
        LookalikeDomain(f"{hyphenate(label)}.{tld}", "hyphenation", "hyphenation"),
        LookalikeDomain(f"{primary}.account-verify.info", "subdomain", "brand_subdomain", "phishing"),
        LookalikeDomain(f"{label}-login.{tld}", "combosquat", "suffix_word", "phishing"),
        LookalikeDomain(f"secure-{label}.net", "combosquat", "prefix_word", "phishing"),
    ]
    seen = {t.casefold() for t in taken}
    out = []
    for c in candidates:
        if c.unicode not in seen:
            seen.add(c.unicode)
            out.append(c)
    return out
