"""Look-alike domains a squatter could register for a brand's domain.

:func:`permutations` turns ``kestrava.com`` into the few thousand names a
typosquatter, homograph attacker or combosquatter would pick: typing slips
(omission, insertion and replacement of neighbouring keys, transposition,
repetition), bit flips in memory (bitsquatting), look-alike letters from
Unicode and ASCII (homoglyph, cyrillic), added words (dictionary), other
top-level domains (tld-swap) and the rest of the families that domain
monitoring tools such as dnstwist report, under the same kind names
(:data:`KINDS`), so results can be compared with theirs one to one.

Every candidate is a valid host name: IDNs are checked against IDNA 2008
(the rules registries apply) and come in both Unicode and punycode. The
registered label is what is permuted; subdomains and the public suffix of the
input are kept (``shop.kestrava.com`` gives ``shop.kestrava.net``, ``shop.kestrva.com``...).

Speed: every family is built as whole sets of strings; IDNA validity is decided
per character from a cache (only labels with unusual characters go through the
``idna`` package), ASCII labels are checked with set operations, and punycode
comes from an encoder written for short labels (twice as fast as the codec).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import NamedTuple

import idna
from idna import idnadata, intranges

from brandhound.urls import domain_parts
from detectors.brand_mentions import HOMOGLYPHS as TEXT_HOMOGLYPHS

#: Every permutation family, in the order a domain produced by several is credited to the first.
KINDS: tuple[str, ...] = (
    "addition", "bitsquatting", "cyrillic", "homoglyph", "hyphenation", "insertion", "omission", "plural",
    "repetition", "replacement", "subdomain", "transposition", "vowel-swap", "dictionary", "tld-swap", "various",
)

#: Words squatters add to a brand (kestrava-outlet.com, secure-kestrava.com).
DEFAULT_DICTIONARY: tuple[str, ...] = (
    "outlet", "login", "secure", "shop", "official", "store", "sale", "support", "account", "verify",
    "online", "web", "app", "my", "help", "service", "update", "pay", "payment", "billing", "auth", "signin",
    "wallet", "bank", "mail", "id", "portal", "deals", "discount", "cheap", "clearance", "buy", "shopping",
    "sales", "gift", "promo", "offer", "black-friday", "europe", "eu", "us", "uk", "usa", "global", "store-online",
)

#: Top-level domains for tld-swap: the big generic ones, country codes squatters favour, and cheap
#: new gTLDs often seen in abuse reports.
DEFAULT_TLDS: tuple[str, ...] = (
    "com", "net", "org", "info", "biz", "co", "io", "me", "cc", "tv", "ws", "mobi", "name", "pro",
    "us", "uk", "co.uk", "eu", "de", "fr", "es", "it", "nl", "be", "ch", "at", "pl", "se", "no", "dk", "fi",
    "pt", "ru", "cn", "in", "br", "com.br", "au", "com.au", "ca", "jp", "mx", "ar", "cl", "ie", "cz", "sk",
    "shop", "store", "online", "site", "website", "xyz", "top", "club", "live", "app", "dev", "page", "link",
    "click", "buzz", "cyou", "icu", "fun", "space", "tech", "email", "support", "services", "help", "sale",
    "deals", "market", "boutique", "fashion", "luxury", "design", "art", "gallery", "world", "global", "ltd",
    "agency", "company", "business", "life", "today", "one", "vip", "win", "bid", "loan", "work", "rest", "bar",
)

# --------------------------------------------------------------------------- keyboards

#: Character rows of the keyboard layouts whose slips we model; each row sits half a key to the
#: right of the row above it, so a key touches two keys above and two below.
KEYBOARD_ROWS: dict[str, tuple[str, ...]] = {
    "qwerty": ("1234567890", "qwertyuiop", "asdfghjkl", "zxcvbnm"),
    "qwertz": ("1234567890", "qwertzuiop", "asdfghjkl", "yxcvbnm"),
    "azerty": ("1234567890", "azertyuiop", "qsdfghjklm", "wxcvbn"),
}


def _layout_neighbours(rows: Sequence[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for r, row in enumerate(rows):
        for j, key in enumerate(row):
            near = [(r, j - 1), (r, j + 1), (r - 1, j), (r - 1, j + 1), (r + 1, j - 1), (r + 1, j)]
            out[key] = "".join(rows[a][b] for a, b in near if 0 <= a < len(rows) and 0 <= b < len(rows[a]))
    return out


#: Keys next to each key, per layout.
NEIGHBOURS: dict[str, dict[str, str]] = {name: _layout_neighbours(rows) for name, rows in KEYBOARD_ROWS.items()}
#: Keys next to each key on any layout.
ANY_NEIGHBOURS: dict[str, str] = {
    key: "".join(dict.fromkeys(c for layout in NEIGHBOURS.values() for c in layout.get(key, "")))
    for key in sorted({k for layout in NEIGHBOURS.values() for k in layout})
}

# --------------------------------------------------------------------------- look-alike characters

#: ASCII sequences that read as another ASCII sequence: ``(written, read as)``. Both directions
#: are listed where the confusion goes both ways.
ASCII_LOOKALIKES: tuple[tuple[str, str], ...] = (
    ("0", "o"), ("o", "0"), ("1", "l"), ("1", "i"), ("l", "1"), ("l", "i"), ("i", "1"), ("i", "l"),
    ("3", "8"), ("8", "3"), ("6", "9"), ("9", "6"), ("b", "d"), ("d", "b"), ("c", "e"), ("e", "c"),
    ("g", "q"), ("q", "g"), ("u", "v"), ("v", "u"), ("m", "n"), ("n", "m"), ("n", "r"),
    ("m", "rn"), ("rn", "m"), ("m", "nn"), ("d", "cl"), ("cl", "d"), ("w", "vv"),
    ("b", "lb"), ("d", "dl"), ("h", "lh"), ("k", "lc"),
)

#: Non-ASCII letters that pass for ASCII in most fonts and are valid in IDNs under generic TLDs.
#: What each stands for is read from its Unicode name (see :func:`latin_base`).
UNICODE_LOOKALIKES = (
    "àáâãäåæçèéêëìíîïñòóôõöøùúûüýÿāăąćĉċčďđēĕėęěĝğġģĥħĩīĭįıĵķĸĺļľłńņňŋōŏőœŕŗřśŝşšţťŧũūŭůűųŵŷźżž"
    "ƅƈƒơƥƫưƴƶƻƽƿǎǐǔǥǧǩǰǵǹȋȑȓȕȗșțȟȧȩȯȳɇɉɍɏɑɓɖɗəɡɢɦɨɩɪɫɱɼɽɾʀʂʉʏʐʒʙʝʠᴄᴋᴍᴏᴜᴠᴡᴢᶌ"
    "ḃḅḇḋḍḏḑḓḛḟḣḥḧḩḫḳḵḿṁṃṅṇṉṕṗṙṛṟṡṣṫṭṽṿẁẃẅẇẉẋẍẏẓẕẖẘạẹỉịọỏụỵỿⱨⱪⱬⱱⱳⱴꜱꞑ"
)

#: Registries that restrict IDN labels to a language's letters: their repertoire of look-alikes
#: (an empty string: the registry takes no Latin IDNs). Other TLDs get :data:`UNICODE_LOOKALIKES`.
REGISTRY_LOOKALIKES: dict[str, str] = {
    **dict.fromkeys(("ad", "cz", "sk", "uk", "co.uk", "nl", "edu", "us", "jp", "co.jp", "ad.jp", "ne.jp",
                     "cn", "com.cn", "tw", "com.tw", "net.tw"), ""),
    "info": "áäåæéíñóöøúüąćčėęįłńőśšūűųźżž",
    **dict.fromkeys(("br", "com.br"), "àáâãçéêíóôõúüýÿ"),
    "dk": "äåæéöøü",
    **dict.fromkeys(("eu", "de", "pl"),
                    "àáâãäåæçèéêëìíîïñòóôõöøùúûüýÿāăąćĉċčďđēĕėęěĝğġģĥħĩīĭįĵķĸĺļľłńņňōŏőœŕŗřśŝşšţťŧũūŭůűųŵŷźżž"),
    "fi": "áâäåõöčđŋšŧžǥǧǩʒ",
    "no": "àáäåæçèéêïñòóôöøüčńŋšŧž",
    **dict.fromkeys(("be", "fr", "re", "yt", "pm", "wf", "tf", "ch", "li"), "àáâãäåæçèéêëìíîïñòóôõöùúûüýÿœ"),
    "ca": "àâæçèéêëîïôùûüÿœ",
}

# Letters whose Unicode name does not say which ASCII letter they pass for.
_BASE_BY_NAME = {
    "ALPHA": "a", "SCHWA": "a", "TONE SIX": "b", "SCRIPT G": "g", "DOTLESS I": "i", "IOTA": "i", "KRA": "k",
    "ENG": "n", "WYNN": "p", "EZH": "3", "TWO": "2", "TONE FIVE": "5", "AE": "ae", "OE": "oe",
}
_LATIN_NAME = re.compile(r"^LATIN (?:SMALL |CAPITAL )?(?:LETTER |LIGATURE )(?:SMALL CAPITAL )?(.+?)(?: WITH .*)?$")


@lru_cache(maxsize=4096)
def latin_base(ch: str) -> str | None:
    """The ASCII letter(s) a Latin look-alike stands for: ``é`` -> ``e``, ``ł`` -> ``l``, ``ʙ`` -> ``b``,
    ``æ`` -> ``ae``, ``ʒ`` -> ``3``; None for anything else."""
    base = unicodedata.normalize("NFD", ch)[0]
    if base != ch and base.isascii():
        return base.lower()
    match = _LATIN_NAME.match(unicodedata.name(ch, ""))
    if not match:
        return None
    name = match.group(1)
    if name in _BASE_BY_NAME:
        return _BASE_BY_NAME[name]
    first = name.split(" ", 1)[0]        # "U BAR", "L WITH MIDDLE TILDE", "SMALL CAPITAL B"
    return first.lower() if len(first) == 1 else None


def _glyph_table(repertoire: str) -> dict[str, tuple[str, ...]]:
    table: dict[str, list[str]] = {}
    for written, read in ASCII_LOOKALIKES:
        table.setdefault(written, []).append(read)
    for ch in repertoire:
        base = latin_base(ch)
        if base is None:
            raise ValueError(f"{ch!r} ({unicodedata.name(ch, '?')}) stands for no ASCII letter")
        table.setdefault(base, []).append(ch)
    return {k: tuple(dict.fromkeys(v)) for k, v in table.items()}


@lru_cache(maxsize=64)
def glyph_table(suffix: str) -> dict[str, tuple[str, ...]]:
    """ASCII sequence -> look-alikes allowed under ``suffix`` (ASCII ones and the registry's IDN letters)."""
    return _glyph_table(REGISTRY_LOOKALIKES.get(suffix, UNICODE_LOOKALIKES))


#: Latin letter -> the Cyrillic letter that renders like it. Built from the text detector's
#: homoglyph table (first Cyrillic twin listed), completed with letters it lacks and corrected
#: where another Cyrillic letter is the closer twin of the lowercase form.
_CYRILLIC_EXTRA = {"b": "ь", "g": "ԍ", "h": "һ", "v": "ѵ", "w": "ԝ"}
CYRILLIC: dict[str, str] = {}
for _ch, _latin in TEXT_HOMOGLYPHS.items():
    if "CYRILLIC" in unicodedata.name(_ch, "") and _latin not in CYRILLIC:
        CYRILLIC[_latin] = _ch
CYRILLIC.update(_CYRILLIC_EXTRA)
_CYRILLIC_TRANS = str.maketrans(CYRILLIC)

#: Characters a host name label may hold (before IDNA).
LDH = "abcdefghijklmnopqrstuvwxyz0123456789-"
_LDH = frozenset(LDH)
_ALNUM = "abcdefghijklmnopqrstuvwxyz0123456789"
VOWELS = "aeiou"

# --------------------------------------------------------------------------- validity and encoding

_PVALID = idnadata.codepoint_classes["PVALID"]


@lru_cache(maxsize=8192)
def _simple_char(ch: str) -> bool:
    """True when IDNA 2008 accepts ``ch`` anywhere in a label without context or bidi rules."""
    return (intranges.intranges_contain(ord(ch), _PVALID) and not unicodedata.combining(ch)
            and unicodedata.bidirectional(ch) not in ("R", "AL", "AN"))


_SIMPLE_CACHE: set[str] = set(LDH)


_DIGITS = "abcdefghijklmnopqrstuvwxyz0123456789"


def punycode(label: str) -> str:
    """RFC 3492 encoding of one label (without the ``xn--`` prefix). Same output as Python's
    ``punycode`` codec, in half the time: this is most of the cost of generating IDNs."""
    basic = label.encode("ascii", "ignore").decode("ascii")
    out = [basic, "-"] if basic else []
    b = h = len(basic)
    n, delta, bias = 128, 0, 72
    for m in sorted(set(label).difference(basic)):
        code = ord(m)
        delta += (code - n) * (h + 1)
        for c in label:
            if c < m:
                delta += 1
            elif c == m:
                q, k = delta, 36
                while True:     # delta as a generalised variable-length integer
                    t = 1 if k <= bias else 26 if k >= bias + 26 else k - bias
                    if q < t:
                        break
                    out.append(_DIGITS[t + (q - t) % (36 - t)])
                    q, k = (q - t) // (36 - t), k + 36
                out.append(_DIGITS[q])
                d = delta // 700 if h == b else delta // 2      # bias adaptation
                d += d // (h + 1)
                k = 0
                while d > 455:
                    d //= 35
                    k += 36
                bias = k + 36 * d // (d + 38)
                delta = 0
                h += 1
        delta += 1
        n = code + 1
    return "".join(out)


def _label_to_ascii(label: str) -> str | None:
    """The A-label of one label, or None when no registry would accept it."""
    if label.isascii():
        if not label or len(label) > 63 or label[0] == "-" or label[-1] == "-":
            return None
        if label[2:4] == "--" or not _LDH.issuperset(label):
            try:  # "xn--" labels and the like: let the reference implementation decide.
                return idna.encode(label).decode("ascii")
            except (idna.IDNAError, UnicodeError, ValueError):
                return None
        return label
    chars = set(label)
    if not _SIMPLE_CACHE.issuperset(chars):
        unusual = chars - _SIMPLE_CACHE
        if all(_simple_char(c) for c in unusual):
            _SIMPLE_CACHE.update(unusual)
        else:
            try:
                return idna.encode(label).decode("ascii")
            except (idna.IDNAError, UnicodeError, ValueError):
                return None
    if label[0] == "-" or label[-1] == "-" or label[2:4] == "--" or not unicodedata.is_normalized("NFC", label):
        return None
    encoded = "xn--" + punycode(label)
    return encoded if len(encoded) <= 63 else None


def to_ascii(name: str) -> str | None:
    """Punycode form of a host name, or None when it is not a valid host name."""
    return _encode_cached(name.lower(), {})


def to_unicode(name: str) -> str:
    try:
        return idna.decode(name)
    except (idna.IDNAError, UnicodeError, ValueError):
        return name


# --------------------------------------------------------------------------- the families


def split_domain(domain: str) -> tuple[str, str, str]:
    """``(subdomain, label, suffix)`` of a host, all in Unicode: ``shop.kestrava.co.uk`` ->
    ``("shop", "kestrava", "co.uk")``. The public suffix comes from the offline suffix list."""
    host = to_unicode(domain.strip().rstrip(".").lower())
    if re.fullmatch(r"[0-9.]+|\[?[0-9a-f]*:[0-9a-f:]*\]?", host):
        raise ValueError(f"{domain!r} is an IP address, not a domain name")
    registered, suffix = domain_parts(host)
    if not registered or not suffix:
        parts = host.rsplit(".", 2)
        if len(parts) < 2:
            raise ValueError(f"{domain!r} has no top-level domain")
        return (parts[0] if len(parts) == 3 else "", parts[-2], parts[-1])
    label = registered[: -len(suffix) - 1]
    sub = host[: -len(registered) - 1] if host != registered else ""
    return sub, label, suffix


def _addition(s: str) -> set[str]:
    out = {s + c for c in _ALNUM}
    for i, ch in enumerate(s):
        if ch == "-" and i > 0:
            out.update(s[:i] + c + s[i:] for c in _ALNUM)
    return out


@lru_cache(maxsize=1024)
def _bit_flips(ch: str) -> tuple[str, ...]:
    code = ord(ch)
    return tuple(f for f in (chr(code ^ (1 << b)) for b in range(8)) if f in _LDH)


def _bitsquatting(s: str) -> set[str]:
    return {s[:i] + f + s[i + 1:] for i, ch in enumerate(s) for f in _bit_flips(ch)}


def _cyrillic(s: str) -> set[str]:
    swapped = s.translate(_CYRILLIC_TRANS)
    return {swapped} if all(a != b for a, b in zip(swapped, s)) else set()


def _glyph_swaps(s: str, table: dict[str, tuple[str, ...]], start: int, out: dict[str, int]) -> None:
    """Every one-swap look-alike of ``s`` at positions from ``start``, into ``out`` (string -> where
    the swap began). A swap replaces one character, a doubled letter by a doubled look-alike
    (``oo`` -> ``öö``), or a two-letter sequence (``rn`` -> ``m``)."""
    n = len(s)
    for i in range(start, n):
        ch = s[i]
        glyphs = table.get(ch)
        if glyphs:
            pre, post = s[:i], s[i + 1:]
            for g in glyphs:
                v = pre + g + post
                if v not in out:
                    out[v] = i
            if i + 1 < n and s[i + 1] == ch:
                post = s[i + 2:]
                for g in glyphs:
                    v = pre + g + g + post
                    if v not in out:
                        out[v] = i
        if i + 1 < n:
            glyphs = table.get(s[i:i + 2])
            if glyphs:
                pre, post = s[:i], s[i + 2:]
                for g in glyphs:
                    v = pre + g + post
                    if v not in out:
                        out[v] = i


def _homoglyph(s: str, suffix: str) -> set[str]:
    """Look-alikes with one or two swaps. The second swap is only tried from just before the first
    one on: a swap further left commutes with the first and is found from the other order."""
    table = glyph_table(suffix)
    first: dict[str, int] = {}
    _glyph_swaps(s, table, 0, first)
    second: dict[str, int] = dict(first)
    for v, i in first.items():
        _glyph_swaps(v, table, max(0, i - 1), second)
    second.pop(s, None)
    return set(second)


def _hyphenation(s: str) -> set[str]:
    return {s[:i] + "-" + s[i:] for i in range(1, len(s))}


def _insertion(s: str) -> set[str]:
    out: set[str] = set()
    for i, ch in enumerate(s):
        near = ANY_NEIGHBOURS.get(ch, "")
        if near:
            pre, post = s[:i], s[i + 1:]
            out.update(pre + c + ch + post for c in near)
            out.update(pre + ch + c + post for c in near)
    return out


def _omission(s: str) -> set[str]:
    return {s[:i] + s[i + 1:] for i in range(len(s))}


def _plural(s: str) -> set[str]:
    return {s[:i + 1] + ("es" if s[i] in "sxz" else "s") + s[i + 1:] for i in range(2, len(s) - 2)}


def _repetition(s: str) -> set[str]:
    return {s[:i] + ch + s[i:] for i, ch in enumerate(s)}


def _replacement(s: str) -> set[str]:
    return {s[:i] + c + s[i + 1:] for i, ch in enumerate(s) for c in ANY_NEIGHBOURS.get(ch, "")}


def _subdomain(s: str) -> set[str]:
    return {s[:i] + "." + s[i:] for i in range(1, len(s) - 1) if s[i] not in "-." and s[i - 1] not in "-."}


def _transposition(s: str) -> set[str]:
    return {s[:i] + s[i + 1] + s[i] + s[i + 2:] for i in range(len(s) - 1)}


def _vowel_swap(s: str) -> set[str]:
    return {s[:i] + v + s[i + 1:] for i, ch in enumerate(s) if ch in VOWELS for v in VOWELS if v != ch}


def _dictionary(s: str, words: Iterable[str]) -> set[str]:
    out: set[str] = set()
    parts = s.split("-")
    for w in words:
        if not (s.startswith(w) and s.endswith(w)):
            out.update((f"{s}-{w}", s + w, f"{w}-{s}", w + s))
        if len(parts) > 1:
            out.add("-".join(parts[:-1]) + "-" + w)
            out.add(w + "-" + "-".join(parts[1:]))
    return out


class Candidate(NamedTuple):
    """A look-alike host name and the family that made it."""

    domain: str     # Unicode form
    punycode: str   # on-the-wire form (equal to ``domain`` for ASCII names)
    kind: str


def _join(*parts: str) -> str:
    return ".".join(p for p in parts if p)


def permutation_names(domain: str, kinds: Iterable[str] | None = None, *,
                      dictionary: Iterable[str] | None = None,
                      tlds: Iterable[str] | None = None) -> dict[str, str]:
    """Unicode host name -> kind, before validation (see :func:`permutations`)."""
    wanted = list(KINDS) if kinds is None else list(dict.fromkeys(kinds))
    unknown = [k for k in wanted if k not in KINDS]
    if unknown:
        raise ValueError(f"unknown permutation kind(s) {', '.join(unknown)}; known: {', '.join(KINDS)}")
    sub, s, suffix = split_domain(domain)
    words = [w.lower() for w in (DEFAULT_DICTIONARY if dictionary is None else dictionary)]
    prefix = sub + "." if sub else ""
    tail = "." + suffix
    original = prefix + s + tail
    found: dict[str, str] = {original: ""}
    for kind in KINDS:
        if kind not in wanted:
            continue
        if kind in ("tld-swap", "various"):
            names = _tld_swap(sub, s, suffix, tlds) if kind == "tld-swap" else _various(sub, s, suffix)
        else:
            labels = (_homoglyph(s, suffix) if kind == "homoglyph"
                      else _dictionary(s, words) if kind == "dictionary"
                      else _FAMILIES[kind](s))
            names = {prefix + v + tail for v in labels}
        names.difference_update(found)
        found.update(dict.fromkeys(sorted(names), kind))
    del found[original]
    return found


def _tld_swap(sub: str, s: str, suffix: str, tlds: Iterable[str] | None) -> set[str]:
    return {_join(sub, s, t) for t in (DEFAULT_TLDS if tlds is None else tlds) if t != suffix}


def _various(sub: str, s: str, suffix: str) -> set[str]:
    out = set()
    if "." in suffix:
        out.add(_join(sub, s, suffix.rsplit(".", 1)[1]))        # kestrava.co.uk -> kestrava.uk
        out.add(_join(sub, s + suffix))                         # kestrava.co.uk -> kestravaco.uk
    else:
        out.add(_join(sub, s + suffix, suffix))                 # kestrava.fi -> kestravafi.fi
        if suffix != "com":
            out.add(_join(sub, f"{s}-{suffix}", "com"))         # kestrava-fi.com
            out.add(_join(sub, s + suffix, "com"))              # kestravafi.com
    if sub:
        out.update({_join(sub + s, suffix), _join(sub.replace(".", "") + s, suffix),
                    _join(f"{sub}-{s}", suffix), _join(sub.replace(".", "-") + "-" + s, suffix)})
    return out


_FAMILIES = {
    "addition": _addition, "bitsquatting": _bitsquatting, "cyrillic": _cyrillic, "hyphenation": _hyphenation,
    "insertion": _insertion, "omission": _omission, "plural": _plural, "repetition": _repetition,
    "replacement": _replacement, "subdomain": _subdomain, "transposition": _transposition,
    "vowel-swap": _vowel_swap,
}


def permutations(domain: str, kinds: Iterable[str] | None = None, *,
                 dictionary: Iterable[str] | None = None,
                 tlds: Iterable[str] | None = None) -> list[Candidate]:
    """Look-alikes of ``domain`` (Unicode or punycode; subdomains kept), one per host name, each
    tagged with the first family in :data:`KINDS` that produces it; only valid host names.

    ``kinds`` limits the families; ``dictionary`` (words for the ``dictionary`` family) and
    ``tlds`` (for ``tld-swap``) default to :data:`DEFAULT_DICTIONARY` and :data:`DEFAULT_TLDS`.
    Grouped by kind in the order of :data:`KINDS`, sorted by name within a kind.
    """
    names = permutation_names(domain, kinds, dictionary=dictionary, tlds=tlds)
    sub, label, suffix = split_domain(domain)
    prefix, tail = (sub + "." if sub else ""), "." + suffix
    cache: dict[str, str | None] = {}
    head_ascii, tail_ascii = _fixed_part(prefix, cache), _fixed_part(tail, cache)
    start, cut = len(prefix), len(tail)
    out: list[Candidate] = []
    append = out.append
    for name, kind in names.items():
        variant = name[start:-cut]
        if "." not in variant and name.startswith(prefix) and name.endswith(tail):
            a = cache.get(variant, "")
            if a == "":
                a = cache[variant] = _label_to_ascii(variant)
            if a is not None:
                host = head_ascii + a + tail_ascii
                if len(host) <= 253:
                    append(Candidate(name, host, kind))
            continue
        encoded = _encode_cached(name, cache)
        if encoded is not None:
            append(Candidate(name, encoded, kind))
    return out


def _fixed_part(part: str, cache: dict[str, str | None]) -> str:
    """A subdomain prefix (``"shop."``) or suffix (``".co.uk"``) of the input, in punycode."""
    labels = part.split(".")
    encoded = [_label_to_ascii(x) if x else "" for x in labels]
    if None in encoded:
        raise ValueError(f"{part.strip('.')!r} is not a valid host name part")
    return ".".join(encoded)  # type: ignore[arg-type]


def _encode_cached(name: str, cache: dict[str, str | None]) -> str | None:
    labels = name.split(".")
    ascii_labels = []
    for label in labels:
        a = cache.get(label, "")
        if a == "":
            a = cache[label] = _label_to_ascii(label)
        if a is None:
            return None
        ascii_labels.append(a)
    host = ".".join(ascii_labels)
    if not 4 <= len(host) <= 253 or len(ascii_labels) < 2 or len(ascii_labels[-1]) < 2:
        return None
    return host
