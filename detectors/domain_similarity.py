"""How much a domain looks like one of the brand's: typosquats, homographs, combosquats.

:class:`DomainScorer` is built once per brand profile and scores host names
(or URLs) against the brand's official domains and names. Each way a squatter
imitates a domain is one *signal* with a strength in [0, 1] and a weight:

* ``tld_swap`` -- the official name under another TLD (kestrava.net);
* ``homoglyph`` -- the same name once look-alike characters are read as what
  they imitate: Cyrillic or accented letters in IDNs (punycode is decoded),
  ``rn`` for ``m``, ``1`` for ``l`` (kеstrava.com, késtrava.com);
* ``hyphenation`` -- the name with hyphens inserted (kes-trava.com);
* ``typo`` -- a small keyboard-typo distance: an edit distance where slips
  that happen on real keyboards (neighbouring keys, doubled or dropped
  letters, swapped letters, vowel swaps) cost less than arbitrary edits;
* ``bitsquatting`` -- one character differing by a single bit;
* ``combosquat`` -- the name plus words (kestrava-outlet.shop, secure-kestrava.net),
  also with a typo in the name;
* ``brand_in_subdomain`` -- the brand or an official domain as a subdomain
  of somebody else's domain (kestrava.com.account-verify.info), and
  ``split_brand``, the name split by a dot (kes.trava.com).

The strongest of these gives the score; context signals (an IDN imitating an
ASCII brand, a TLD popular with abusers, the wording of credential phishing such
as login or verify, a free web host or dynamic-DNS parent, a deep subdomain)
raise it a little and never flag a name alone. A brand glued to letters that
make no word squatters use (interactive, hicloudcam) and the brand's name under
a country code (google.kz: big brands hold those) are weak matches that need
such context; an official label that holds no brand name (live.com, office.com
for Microsoft) counts only as a look-alike of the whole label. Official and
allowlisted domains (and their subdomains) score 0 with a signal saying so.
Every signal keeps an evidence sentence an analyst can read, and the official
domain the host imitates is returned with the score.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Sequence
from urllib.parse import urlsplit

import numpy as np
from rapidfuzz import distance, fuzz, process

from brandhound.items import Signal
from brandhound.profile import DetectionProfile
from brandhound.urls import domain_parts, registered_domain
from brandhound.values import verdict
from detectors.brand_mentions import fold
from detectors.domain_permutations import (
    ANY_NEIGHBOURS,
    ASCII_LOOKALIKES,
    CYRILLIC,
    DEFAULT_DICTIONARY,
    DEFAULT_TLDS,
    REGISTRY_LOOKALIKES,
    UNICODE_LOOKALIKES,
    latin_base,
    to_ascii,
    to_unicode,
)

#: Score at or above which a domain is reported as a look-alike (the example brand's threshold).
DOMAIN_THRESHOLD = 0.7

#: Words that, added to a brand name, make a combosquat (besides the permutation dictionary).
SQUAT_WORDS = frozenset({
    *(w.replace("-", "") for w in DEFAULT_DICTIONARY), *(t.replace(".", "") for t in DEFAULT_TLDS),
    "replica", "replicas", "fake", "copy", "factory", "wholesale", "clearance", "cheap", "outlets", "stores",
    "shops", "official", "originals", "original", "authentic", "genuine", "www", "site", "web", "center",
    "centre", "team", "customer", "care", "security", "confirm", "recovery", "reset", "password", "checkout",
    "order", "orders", "tracking", "delivery", "shipping", "refund", "promo", "coupon", "coupons", "free",
    "best", "new", "hot", "sale", "sales", "design", "home", "online", "direct", "finland", "nordic",
})
#: Wording of credential phishing: with the brand in the name it raises the score; alone it flags nothing.
PHISHING_WORDS = frozenset({
    "login", "logon", "signin", "signon", "verify", "verification", "verified", "validate", "validation", "secure",
    "security", "account", "accounts", "update", "confirm", "confirmation", "auth", "authentication", "authorize",
    "password", "unlock", "locked", "suspended", "suspend", "limited", "restore", "recover", "recovery", "billing",
    "invoice", "payment", "wallet", "alert", "alerts", "notice", "notification", "support", "helpdesk", "service",
    "services", "customer", "client", "online", "banking", "webscr", "session", "token", "identity", "id",
    "refund", "deposit", "transfer", "etransfer", "delivery", "deliver", "redeliver", "parcel", "package", "track",
    "tracking", "shipment", "customs", "fee", "fees", "pending", "claim", "reward", "rewards", "gift", "prime",
    "member", "members", "manage", "portal", "mobile", "app", "apps", "access", "check", "info", "mail",
    "courier", "express", "post", "postal", "reschedule", "schedule", "status", "notify", "tax", "gov",
})
#: Parents under which anyone gets a host name for free (web hosts, site builders, dynamic DNS).
FREE_HOSTING = frozenset({
    "000webhostapp.com", "weebly.com", "weeblysite.com", "blogspot.com", "web.app", "firebaseapp.com",
    "wixsite.com", "github.io", "gitlab.io", "herokuapp.com", "netlify.app", "vercel.app", "glitch.me",
    "pages.dev", "workers.dev", "repl.co", "replit.app", "godaddysites.com", "webcindario.com", "yolasite.com",
    "wordpress.com", "square.site", "mystrikingly.com", "webflow.io", "framer.app", "site123.me", "jimdosite.com",
    "altervista.org", "ukit.me", "tilda.ws", "carrd.co", "azurewebsites.net", "appspot.com", "duckdns.org",
    "no-ip.org", "no-ip.biz", "hopto.org", "ddns.net", "zapto.org", "sytes.net", "myftp.org", "myftp.biz",
    "servehttp.com", "serveftp.com", "freeddns.org", "dynu.net", "ngrok.io", "ngrok-free.app", "my.id",
    "cloudns.asia", "cloudns.cc", "ooguy.com", "ferozo.com", "hostingerapp.com", "web.core.windows.net",
})
#: Zones of CDNs and DNS traffic managers, where brands' own hosts get alias names that repeat their official
#: domain (www.apple.com.edgekey.net): the official domain in a subdomain there is no phishing sign.
CDN_ZONES = frozenset({
    "akadns.net", "edgekey.net", "edgesuite.net", "akamaiedge.net", "akamaihd.net", "akamai.net", "akamaized.net",
    "trafficmanager.net", "azurefd.net", "azureedge.net", "cloudfront.net", "fastly.net", "fastlylb.net",
    "cdn.cloudflare.net", "edgecastcdn.net", "llnwd.net", "cdngc.net", "footprint.net", "msedge.net",
    "aaplimg.com", "apple-dns.net", "mcas.ms", "gslb.com",
})
#: TLDs over-represented in abuse reports: a small extra signal, never enough alone.
ABUSED_TLDS = frozenset({"xyz", "top", "shop", "store", "online", "site", "club", "icu", "cyou", "buzz", "info",
                         "live", "click", "link", "fun", "vip", "win", "bid", "loan", "work", "rest", "bar"})

# Signal weights: what a signal at full strength contributes.
WEIGHTS = {
    "official_domain": 0.0, "allowlisted_domain": 0.0,
    "tld_swap": 0.9, "known_misspelling": 0.9, "homoglyph": 0.95, "hyphenation": 0.88, "typo": 1.0,
    "bitsquatting": 0.85, "combosquat": 0.9, "brand_in_subdomain": 0.95, "split_brand": 0.85,
    "idn": 0.25, "abused_tld": 0.1, "phishing_words": 0.3, "free_hosting": 0.2, "deep_subdomain": 0.1,
}
_MATCH_SIGNALS = frozenset({"tld_swap", "known_misspelling", "homoglyph", "hyphenation", "typo", "bitsquatting",
                            "combosquat", "brand_in_subdomain", "split_brand"})

# --------------------------------------------------------------------------- skeletons

#: Look-alike letters of the permutation tables, Cyrillic twins, read as the ASCII they imitate.
_GLYPH_TO_ASCII: dict[str, str] = {}
for _ch in UNICODE_LOOKALIKES + "".join(REGISTRY_LOOKALIKES.values()):
    _base = latin_base(_ch)
    if _base:
        _GLYPH_TO_ASCII[_ch] = _base
_GLYPH_TO_ASCII.update({cyr: latin for latin, cyr in CYRILLIC.items()})
_GLYPH_TRANS = str.maketrans(_GLYPH_TO_ASCII)
#: ASCII sequences read alike, collapsed to one form on both sides of a comparison.
_ASCII_COLLAPSE = (("rn", "m"), ("vv", "w"), ("cl", "d"), ("i", "l"), ("lc", "k"))
#: Single ASCII characters a reader confuses (substitution at half cost in :func:`typo_distance`).
_VISUAL_PAIRS = frozenset((a, b) for a, b in ASCII_LOOKALIKES if len(a) == len(b) == 1)
_VOWELS = frozenset("aeiouy")


def fold_domain(text: str) -> str:
    """``text`` with look-alike letters of any script, leetspeak digits and accents read as ASCII."""
    return fold(text.lower().translate(_GLYPH_TRANS))


def _collapse(text: str) -> str:
    for seq, repl in _ASCII_COLLAPSE:
        text = text.replace(seq, repl)
    return text


def skeleton(text: str) -> str:
    """What ``text`` reads as: :func:`fold_domain`, only letters and digits kept, and confusable
    sequences (``rn``/``m``, ``vv``/``w``, ``cl``/``d``, ``i``/``l``, ``lc``/``k``) collapsed to one form."""
    return _collapse(_squash(fold_domain(text)))


def _squash(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text)


# --------------------------------------------------------------------------- keyboard-typo distance


def _sub_cost(a: str, b: str) -> float:
    if a in ANY_NEIGHBOURS.get(b, "") or (a, b) in _VISUAL_PAIRS:
        return 0.5
    if a in _VOWELS and b in _VOWELS:
        return 0.75
    return 1.0


def _ins_cost(observed: str, term: str, i: int, j: int) -> float:
    """Cost of ``observed[i - 1]`` typed in excess, after ``term[:j]``."""
    o = observed[i - 1]
    near = (observed[i - 2] if i > 1 else "") + (term[j - 1] if j > 0 else "") + (term[j] if j < len(term) else "")
    return 0.5 if o in near or any(o in ANY_NEIGHBOURS.get(c, "") for c in near) else 1.0


def _del_cost(term: str, j: int) -> float:
    """Cost of ``term[j - 1]`` left out: half when it is one of a doubled letter."""
    t = term[j - 1]
    return 0.5 if (j > 1 and term[j - 2] == t) or (j < len(term) and term[j] == t) else 1.0


def _swapped(observed: str, term: str, i: int, j: int) -> bool:
    return (i > 1 and j > 1 and observed[i - 1] == term[j - 2] and observed[i - 2] == term[j - 1]
            and observed[i - 1] != observed[i - 2])


def typo_distance(observed: str, term: str) -> tuple[float, list[str]]:
    """Weighted edit distance from ``term`` to ``observed`` and the edits, in words.

    Keyboard slips cost half an edit: a neighbouring key instead of the right one or typed next
    to it, a letter doubled or a doubled letter typed once, two letters swapped, a character
    read as another (``c``/``e``). A vowel for another vowel costs 0.75; anything else 1.
    """
    n, m = len(observed), len(term)
    d = [[0.0] * (m + 1) for _ in range(n + 1)]
    for i in range(1, n + 1):
        d[i][0] = d[i - 1][0] + _ins_cost(observed, term, i, 0)
    for j in range(1, m + 1):
        d[0][j] = d[0][j - 1] + _del_cost(term, j)
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            o, t = observed[i - 1], term[j - 1]
            best = d[i - 1][j - 1] + (0.0 if o == t else _sub_cost(o, t))
            best = min(best, d[i - 1][j] + _ins_cost(observed, term, i, j), d[i][j - 1] + _del_cost(term, j))
            if _swapped(observed, term, i, j):
                best = min(best, d[i - 2][j - 2] + 0.5)
            d[i][j] = best
    return d[n][m], _edits(observed, term, d)


def _close(a: float, b: float) -> bool:
    return abs(a - b) < 1e-9


def _edits(observed: str, term: str, d: list[list[float]]) -> list[str]:
    """The edits of a cheapest path through ``d``, described for an analyst."""
    i, j = len(observed), len(term)
    edits: list[str] = []
    while i > 0 or j > 0:
        here = d[i][j]
        if i > 0 and j > 0 and observed[i - 1] == term[j - 1] and _close(here, d[i - 1][j - 1]):
            i, j = i - 1, j - 1
        elif _swapped(observed, term, i, j) and _close(here, d[i - 2][j - 2] + 0.5):
            edits.append(f"'{term[j - 2]}{term[j - 1]}' swapped")
            i, j = i - 2, j - 2
        elif i > 0 and j > 0 and _close(here, d[i - 1][j - 1] + _sub_cost(observed[i - 1], term[j - 1])):
            o, t = observed[i - 1], term[j - 1]
            why = (" (neighbouring key)" if o in ANY_NEIGHBOURS.get(t, "")
                   else " (looks alike)" if (o, t) in _VISUAL_PAIRS else "")
            edits.append(f"'{o}' for '{t}'{why}")
            i, j = i - 1, j - 1
        elif j > 0 and (i == 0 or _close(here, d[i][j - 1] + _del_cost(term, j))):
            edits.append(f"'{term[j - 1]}' left out")
            j -= 1
        else:
            edits.append(f"'{observed[i - 1]}' added")
            i -= 1
    return edits[::-1]


def _typo_strength(cost: float, term: str) -> float:
    """How surely a keyboard-typo distance ``cost`` from ``term`` is a typo of it, in [0, 1]. One slip
    on a name of 6 to 9 letters gives 0.83, two 0.32; shorter names need to be closer, longer ones less."""
    scaled = cost * (1.3 if len(term) < 6 else 1.0 if len(term) < 10 else 0.75)
    return max(0.0, 1.0 - 0.17 * scaled * scaled)


# --------------------------------------------------------------------------- the scorer


@dataclass(frozen=True)
class _Term:
    text: str         # the brand term as written
    squashed: str     # lowercase, letters and digits only
    skeleton: str
    source: str       # "domain" (an official domain's name), "name", "misspelling" or "secondary" (an
                      # official domain's name that is no brand name, such as live or office: matched whole only)
    official: str     # the official domain it stands for


@dataclass
class DomainScore:
    """The score of one host name against the brand."""

    domain: str                              # host, Unicode
    punycode: str                            # host, on-the-wire form
    registered_domain: str | None
    score: float
    signals: list[Signal] = field(default_factory=list)
    matched_official: str | None = None      # the official domain imitated
    explanation: str = ""

    def verdict(self, threshold: float = DOMAIN_THRESHOLD) -> str:
        return verdict(self.score, threshold)


@dataclass
class _Hit:
    name: str
    strength: float
    value: str
    evidence: str
    term: _Term | None = None


def _host_of(text: str) -> str:
    text = text.strip()
    host = urlsplit(text).hostname if "://" in text else text.split("/", 1)[0].rsplit("@", 1)[-1]
    host = (host or "").lower().rstrip(".")
    if ":" in host and not host.startswith("["):
        host = host.split(":", 1)[0]
    # idna.decode leaves a plain ASCII name as it is (lower case already) and is most of the cost of a CT name.
    return host if host.isascii() and "xn--" not in host else to_unicode(host)


def _wire(host: str) -> str:
    """The host's on-the-wire form (punycode); an ASCII host is its own (the IDNA checks are costly)."""
    return host if host.isascii() else (to_ascii(host) or host)


def _is_under(host: str, domains: set[str]) -> str | None:
    for d in domains:
        if host == d or host.endswith("." + d):
            return d
    return None


class DomainScorer:
    """Scores host names against a brand's official domains and names. Build once per brand."""

    def __init__(self, official_domains: list[str], names: Sequence[str] = (), misspellings: Sequence[str] = (),
                 allowlist: Sequence[str] = ()):
        if not official_domains:
            raise ValueError("a brand needs at least one official domain to score domains against")
        self.official = [to_unicode(d.lower()) for d in official_domains]
        self._official_regs = [(d, registered_domain(d) or d) for d in self.official]
        self.official_zones = {reg for _, reg in self._official_regs} | set(self.official)
        self.allowlist = {to_unicode(d.lower()) for d in allowlist}
        self.allow_zones = {registered_domain(d) or d for d in self.allowlist} | self.allowlist
        primary = self.official[0]
        terms: dict[str, _Term] = {}

        def add(text: str, source: str, official: str) -> None:
            squashed = _squash(fold(text))
            if len(squashed) >= 3 and squashed not in terms:
                terms[squashed] = _Term(text, squashed, _collapse(squashed), source, official)

        named = [_squash(fold(n)) for n in names]
        named = [n for n in named if len(n) >= 3]
        for d in self.official:
            reg = registered_domain(d) or d
            _, suffix = domain_parts(reg)
            label = reg[: -len(suffix) - 1] if suffix else reg.split(".")[0]
            # An official label that holds none of the brand's names (live.com, office.com for Microsoft) is
            # a common word: a look-alike of it counts, a longer name containing it does not.
            names_it = not named or any(n in _squash(fold(label)) for n in named)
            add(label, "domain" if names_it else "secondary", d)
        for n in names:
            add(n, "name", primary)
        for n in misspellings:
            add(n, "misspelling", primary)
        self.terms = list(terms.values())
        self._squashed = [t.squashed for t in self.terms]
        self._fuzzy = [i for i, t in enumerate(self.terms) if t.source != "misspelling"]
        self.ascii_brand = all(d.isascii() for d in self.official)

    @classmethod
    def from_profile(cls, profile: DetectionProfile) -> DomainScorer:
        return cls(list(profile.official_domains), list(profile.names), list(profile.misspellings),
                   list(profile.allowlist.domains))

    # ------------------------------------------------------------------ scoring

    def score(self, domain: str) -> DomainScore:
        return self.score_many([domain])[0]

    def score_many(self, domains: list[str]) -> list[DomainScore]:
        """Scores of many hosts; the fuzzy comparisons run as one matrix over all of them."""
        hosts = [_host_of(d) for d in domains]
        parts = [self._parts(h) for h in hosts]
        labels = [_squash(fold_domain(p[1])) for p in parts]
        # Edit distances of every label to every brand term, and how well each term fits inside each label.
        dist = process.cdist(labels, self._squashed, scorer=distance.OSA.distance, dtype=np.int32, workers=1)
        inside = process.cdist(labels, self._squashed, scorer=fuzz.partial_ratio, dtype=np.uint8, workers=1)
        return [self._score_one(h, p, dist[k], inside[k]) for k, (h, p) in enumerate(zip(hosts, parts))]

    def _parts(self, host: str) -> tuple[str, str, str, str | None]:
        """``(subdomain, label, suffix, registered domain)`` of a host."""
        reg, suffix = domain_parts(host) if host else (None, None)
        if not reg or not suffix:
            return "", host.split(".")[0] if host else "", "", None
        label = reg[: -len(suffix) - 1]
        sub = host[: -len(reg) - 1] if host != reg else ""
        return sub, label, suffix, reg

    def _score_one(self, host: str, parts, dist_row, inside_row) -> DomainScore:
        sub, label, suffix, reg = parts
        puny = _wire(host)
        zone = _is_under(host, self.official_zones)
        if zone:
            return self._cleared(host, puny, reg, "official_domain", zone,
                                 f"{host} is an official domain of the brand" if host == zone
                                 else f"{host} is under the brand's official domain {zone}")
        zone = _is_under(host, self.allow_zones)
        if zone:
            return self._cleared(host, puny, reg, "allowlisted_domain", zone,
                                 f"{host} is under {zone}, which the brand profile allowlists")
        if not reg:
            why = f"{host or '(empty)'} is not a domain name under a public suffix (an IP address or a bare name)"
            return DomainScore(host, puny, None, 0.0, [], None, why)
        hits: list[_Hit] = []
        if label:
            hits += self._label_hits(host, label, suffix, dist_row, inside_row)
        if sub:
            hits += self._subdomain_hits(host, sub, label, suffix, reg)
        match = [h for h in hits if h.name in _MATCH_SIGNALS]
        if match:
            if not host.isascii() and self.ascii_brand:
                hits.append(_Hit("idn", 1.0, puny, f"{host} is an internationalised name (on the wire {puny}) "
                                                   f"while the brand's own domains are plain ASCII"))
            if suffix in ABUSED_TLDS:
                hits.append(_Hit("abused_tld", 1.0, f".{suffix}",
                                 f".{suffix} is a top-level domain often used for fraudulent sites"))
            hits += self._context_hits(host, sub, label, suffix, reg)
        return self._combine(host, puny, reg, hits, suffix)

    def _cleared(self, host, puny, reg, name, zone, evidence) -> DomainScore:
        sig = Signal(name=name, value=zone, weight=0.0, contribution=0.0, evidence=evidence)
        return DomainScore(host, puny, reg, 0.0, [sig], zone if name == "official_domain" else None, evidence)

    def _official_for(self, term: _Term, suffix: str) -> str:
        if term.source == "domain":
            same = [d for d, reg in self._official_regs if reg == f"{term.squashed}.{suffix}"]
            label_matches = [d for d, reg in self._official_regs if _squash(reg.rsplit(".", 1)[0]) == term.squashed]
            return (same or label_matches or [term.official])[0]
        return term.official

    def _label_hits(self, host, label, suffix, dist_row, inside_row) -> list[_Hit]:
        hits: list[_Hit] = []
        plain = label.lower()
        folded = fold_domain(plain)           # still with its hyphens, for telling words apart
        squashed = _squash(folded)
        skel = _collapse(squashed)
        for k, term in enumerate(self.terms):
            official = self._official_for(term, suffix)
            if term.source == "secondary":
                hits += self._secondary_hits(host, label, plain, squashed, skel, term, dist_row[k])
                continue
            if plain == term.squashed or plain == _squash(term.text.lower()):
                if term.source == "misspelling":
                    hits.append(_Hit("known_misspelling", 1.0, label,
                                     f"{label} is a misspelling of the brand listed in its profile "
                                     f"({term.text})", term))
                else:
                    what = "official name" if term.source == "domain" else f"brand name {term.text!r}"
                    # Big brands hold their name under most country codes (google.kz, amazon.com.mx), and
                    # those registries seldom hand a famous name to a stranger: alone, that is not enough.
                    country = _country_code(suffix)
                    hits.append(_Hit("tld_swap", 0.75 if country else 1.0, f".{suffix}",
                                     f"{host} uses the {what} {term.squashed} under .{suffix}; the brand's "
                                     f"domain is {official}" + (f" (.{suffix} is a country code, where brands "
                                                                 f"register their names too)" if country else ""),
                                     term))
                continue
            if "-" in plain and _squash(plain) == term.squashed:
                hits.append(_Hit("hyphenation", 1.0, label,
                                 f"{label} is {term.squashed} with hyphens inserted", term))
                continue
            if skel == term.skeleton:
                hits.append(_Hit("homoglyph", 1.0, label, self._glyph_evidence(host, label, term), term))
                continue
            if term.source == "misspelling":
                # Known misspellings count exactly or inside a longer name, never fuzzily.
                if len(term.squashed) >= 6 and term.squashed in squashed:
                    hits += filter(None, [self._combo(label, folded, term.squashed, term, 0.9)])
                continue
            if 0 < dist_row[k] <= 3 and abs(len(squashed) - len(term.squashed)) <= 2 and _same_start(squashed, term):
                cost, edits = typo_distance(squashed, term.squashed)
                strength = _typo_strength(cost, term.squashed)
                if strength > 0:
                    hits.append(_Hit("typo", strength, f"{cost:g}",
                                     f"{label} reads as {squashed}, which is {term.squashed} with "
                                     f"{'; '.join(edits)} (keyboard-typo distance {cost:g}, edit distance "
                                     f"{int(dist_row[k])})" if squashed != plain else
                                     f"{label} is {term.squashed} with {'; '.join(edits)} (keyboard-typo "
                                     f"distance {cost:g}, edit distance {int(dist_row[k])})", term))
                flip = _bit_flip(plain, term.squashed)
                if flip:
                    hits.append(_Hit("bitsquatting", 1.0, label, f"{label} differs from {term.squashed} by one "
                                     f"bit: {flip}", term))
            if len(squashed) > len(term.squashed):
                hit = None
                if term.squashed in plain:   # as written: digits next to it are word edges (netflix01)
                    hit = self._combo(label, plain, term.squashed, term, 1.0)
                elif term.squashed in squashed:
                    hit = self._combo(label, folded, term.squashed, term, 1.0)
                elif len(term.squashed) >= 4 and term.skeleton in skel:
                    hit = self._combo(label, skel, term.skeleton, term, 1.0)
                if hit:
                    hits.append(hit)
                elif len(term.squashed) >= 6 and inside_row[k] >= 80:
                    align = fuzz.partial_ratio_alignment(term.squashed, squashed)
                    found = squashed[align.dest_start:align.dest_end] if align else ""
                    cost, edits = typo_distance(found, term.squashed)
                    if found and _typo_strength(cost, term.squashed) >= 0.8:
                        hit = self._combo(label, squashed, found, term, 0.85)
                        if hit:
                            hit.evidence += f"; {found} is {term.squashed} with {'; '.join(edits)}"
                            hits.append(hit)
        return hits

    def _combo(self, label: str, text: str, found: str, term: _Term, strength: float) -> _Hit | None:
        """The brand inside a longer label. Glued to letters that make no word squatters use
        (interactive, applebees), it is most likely another word: too weak to flag on its own."""
        at = text.find(found)
        if at < 0:   # only with the hyphens taken out: the name split by hyphens (d-h-l-delivery)
            return _Hit("hyphenation", 0.95 * strength, label,
                        f"{label} holds the brand {term.squashed} split by hyphens", term)
        left, right = text[:at], text[at + len(found):]
        glued = [side for side, ok in (("before", _word_edge(left, before=True)),
                                       ("after", _word_edge(right, before=False))) if not ok]
        if glued and len(term.squashed) < 4 and (glued != ["after"] or (left and left[-1].isalpha())):
            return None   # three letters inside others are part of another word (irs in first)
        rest = [w for w in re.split(r"[^a-z]+", text.replace(found, " ", 1)) if w]
        known = [w for w in rest if _known_words(w)]
        n = len(term.squashed)
        if len(glued) == 2:
            strength *= 0.6   # inside a longer word on both sides (hicloudcam): most likely another word
        elif glued:
            # The longer the name, the less likely another word holds it (netflixafrica, but interactive).
            strength *= 0.85 if n >= 7 else 0.8 if n == 6 else 0.78 if n == 5 else 0.7
        elif len(known) < len(rest):
            strength *= 0.9 if n >= 6 else 0.85
        words = ", ".join(repr(w) for w in rest) or "digits"
        note = (f" glued to letters {'and'.join(glued)} it, as in another word" if glued
                else " (words squatters use)" if rest and len(known) == len(rest) else "")
        return _Hit("combosquat", strength, label,
                    f"{label} combines the brand {term.squashed} with {words}{note}", term)

    def _secondary_hits(self, host, label, plain, squashed, skel, term: _Term, dist: int) -> list[_Hit]:
        """Look-alikes of an official label that is a common word (live, office): the whole label only."""
        if plain == term.squashed or len(term.squashed) < 5:
            return []
        if skel == term.skeleton:
            return [_Hit("homoglyph", 1.0, label, self._glyph_evidence(host, label, term), term)]
        if (len(term.squashed) >= 6 and 0 < dist <= 2 and abs(len(squashed) - len(term.squashed)) <= 1
                and _same_start(squashed, term)):
            cost, edits = typo_distance(squashed, term.squashed)
            strength = _typo_strength(cost, term.squashed)
            if strength > 0:
                return [_Hit("typo", strength, f"{cost:g}", f"{label} is {term.squashed} with {'; '.join(edits)} "
                                                            f"(keyboard-typo distance {cost:g})", term)]
        return []

    def _context_hits(self, host: str, sub: str, label: str, suffix: str, reg: str) -> list[_Hit]:
        """Small signals that only raise a match: phishing wording, a free host, a deep subdomain."""
        hits: list[_Hit] = []
        words = sorted({w for part in re.split(r"[^a-z]+", fold_domain(f"{sub}.{label}")) if part
                        for w in _known_words(part, PHISHING_WORDS)})
        if words:
            hits.append(_Hit("phishing_words", 1.0 if len(words) > 1 else 0.7, ", ".join(words),
                             f"{host} uses the wording of credential phishing: {', '.join(words)}"))
        parent = next((p for p in FREE_HOSTING if reg == p or reg.endswith("." + p) or host.endswith("." + p)), None)
        if parent and sub:
            hits.append(_Hit("free_hosting", 1.0, parent,
                             f"{host} is a name under {parent}, where anyone gets a host name for free"))
        if sub.count(".") >= 3:
            hits.append(_Hit("deep_subdomain", 1.0, str(sub.count(".") + 1),
                             f"{host} has {sub.count('.') + 1} levels of subdomain, as phishing links padded "
                             f"to hide their real domain do"))
        return hits

    def _subdomain_hits(self, host, sub, label, suffix, reg) -> list[_Hit]:
        if _cdn_parent(reg):
            return []   # an alias name of the brand's own hosts at its CDN
        hits: list[_Hit] = []
        dotted = f".{sub}."
        for d in self.official:
            if f".{d}." in dotted or dotted.endswith(f".{d}.") or sub == d:
                term = next((t for t in self.terms if t.official == d or t.source == "domain"), None)
                hits.append(_Hit("brand_in_subdomain", 1.0, sub,
                                 f"the official domain {d} is used as a subdomain of {reg}, "
                                 f"so the address starts like the brand's own", term))
                return hits
        sub_labels = sub.split(".")
        for term in self.terms:
            if (term.source == "misspelling" and len(term.squashed) < 5) or term.source == "secondary":
                continue
            for lb in sub_labels:
                s = skeleton(_squash(lb))
                if s and s == term.skeleton:
                    hits.append(_Hit("brand_in_subdomain", 0.9, lb,
                                     f"the brand {term.squashed} is a subdomain ({lb}) of {reg}", term))
                    return hits
                words = [_squash(p) for p in fold_domain(lb).split("-") if p]
                parts = [_collapse(p) for p in words]
                # As written or as it reads: skeletons alone would merge letters across the brand's edge (dhlc).
                lead = next((w for w, p in zip(words, parts)
                             if w.startswith(term.squashed) or p.startswith(term.skeleton)), None)
                if lead:
                    rest = lead[len(term.squashed):] if lead.startswith(term.squashed) else ""
                    strength = (0.85 if lead in (term.squashed, term.skeleton) else
                                0.8 if len(term.skeleton) >= 4 or _word_edge(rest, before=False) else 0.7)
                    hits.append(_Hit("brand_in_subdomain", strength, lb,
                                     f"a word of the subdomain {lb} of {reg} starts with the brand {term.squashed}",
                                     term))
                    return hits
                near = next((p for p in parts if len(term.squashed) >= 6 and p[:1] == term.skeleton[:1]
                             and 0 < distance.OSA.distance(p, term.skeleton, score_cutoff=1) <= 1), None)
                if near:
                    hits.append(_Hit("brand_in_subdomain", 0.85, lb,
                                     f"the subdomain {lb} of {reg} reads as {near}, one letter from the brand "
                                     f"{term.squashed}", term))
                    return hits
                if len(parts) > 1 and any(p == term.skeleton or (len(term.skeleton) >= 4 and p.startswith(term.skeleton))
                                          for p in parts):
                    hits.append(_Hit("brand_in_subdomain", 0.85, lb,
                                     f"the subdomain {lb} of {reg} starts a word with the brand {term.squashed}",
                                     term))
                    return hits
                if len(term.skeleton) >= 5 and term.skeleton in s:
                    hits.append(_Hit("brand_in_subdomain", 0.8, lb,
                                     f"the subdomain {lb} of {reg} contains the brand {term.squashed}", term))
                    return hits
            joined = skeleton(_squash(sub_labels[-1] + label))
            if joined != term.skeleton and len(term.skeleton) >= 5 and joined.startswith(term.skeleton) \
                    and not skeleton(_squash(label)).startswith(term.skeleton):
                hits.append(_Hit("split_brand", 0.9, f"{sub_labels[-1]}.{label}",
                                 f"{sub_labels[-1]}.{label} starts with {term.squashed} split by a dot", term))
                return hits
            if joined == term.skeleton:
                hits.append(_Hit("split_brand", 1.0, f"{sub_labels[-1]}.{label}",
                                 f"{sub_labels[-1]}.{label} reads as {term.squashed} split by a dot", term))
                return hits
        return hits

    def _glyph_evidence(self, host: str, label: str, term: _Term) -> str:
        swaps = []
        if len(label) == len(term.squashed):
            for a, b in zip(label, term.squashed):
                if a != b:
                    swaps.append(f"'{a}' (U+{ord(a):04X}) for '{b}'" if not a.isascii() else f"'{a}' for '{b}'")
        detail = ", ".join(swaps) if swaps else "look-alike characters"
        wire = to_ascii(host)
        idn = f"; on the wire it is {wire}" if wire and wire != host else ""
        return f"{label} reads as {term.squashed}: {detail}{idn}"

    def _combine(self, host, puny, reg, hits: list[_Hit], suffix: str) -> DomainScore:
        if not hits:
            return DomainScore(host, puny, reg, 0.0, [], None, f"{host} does not resemble the brand's domains")
        strongest: dict[str, _Hit] = {}   # one signal per name: its strongest instance
        for h in hits:
            if h.name not in strongest or h.strength > strongest[h.name].strength:
                strongest[h.name] = h
        match = sorted((h for h in strongest.values() if h.name in _MATCH_SIGNALS),
                       key=lambda h: -h.strength * WEIGHTS[h.name])
        context = [h for h in strongest.values() if h.name not in _MATCH_SIGNALS]
        signals: list[Signal] = []
        score = 0.0
        best = match[0] if match else None
        for h in match:
            value = h.strength * WEIGHTS[h.name]
            contribution = value if h is best else 0.0  # the best match sets the score; others corroborate
            score = max(score, value)
            signals.append(Signal(name=h.name, value=h.value, weight=WEIGHTS[h.name],
                                  contribution=round(contribution, 4), evidence=h.evidence))
        for h in context:
            before = score
            score += (1.0 - score) * h.strength * WEIGHTS[h.name]
            signals.append(Signal(name=h.name, value=h.value, weight=WEIGHTS[h.name],
                                  contribution=round(score - before, 4), evidence=h.evidence))
        score = round(min(1.0, score), 4)
        official = self._official_for(best.term, suffix) if best and best.term else (self.official[0] if best else None)
        explanation = (f"{host} imitates {official}: {best.evidence}" if best
                       else f"{host} does not resemble the brand's domains")
        return DomainScore(host, puny, reg, score, signals, official, explanation)


_WORDS = SQUAT_WORDS | PHISHING_WORDS


def _same_start(observed: str, term: _Term) -> bool:
    """Typos keep the first letter (or put a look-alike there): 'cloud' is a word, not a slip for 'icloud'."""
    a, b = observed[:1], term.squashed[:1]
    return a == b or (a, b) in _VISUAL_PAIRS


#: Country codes sold to anyone as if generic (search engines treat them so), and the free ones.
_GENERIC_CCTLDS = frozenset({"ai", "cc", "co", "io", "me", "tv", "tk", "ml", "ga", "cf", "gq"})


def _country_code(suffix: str) -> bool:
    """Whether a public suffix is a country's (de, co.uk, com.mx), bar the ones given away free to anyone."""
    last = suffix.rsplit(".", 1)[-1]
    return "." in suffix or (len(last) == 2 and last not in _GENERIC_CCTLDS)


def _cdn_parent(reg: str | None) -> str | None:
    return reg if reg in CDN_ZONES else None


def _known_words(text: str, vocabulary: frozenset[str] = _WORDS) -> list[str]:
    """The vocabulary's words in ``text``: the whole of it, or words of four letters or more inside it."""
    if text in vocabulary:
        return [text]
    return [w for w in vocabulary if len(w) >= 4 and w in text]


def _word_edge(side: str, *, before: bool) -> bool:
    """Whether the brand found next to ``side`` stands as a word: a hyphen, a digit or nothing there, or a
    word squatters use (secure, login, shop) right against it."""
    if not side or not side[-1 if before else 0].isalpha():
        return True
    run = re.split(r"[^a-z]", side)[-1 if before else 0]
    # A two-letter word (a country code) only as the whole run (paypaluk): as a prefix it would make an
    # edge of almost anything (hicloudcam).
    return run in _WORDS or any((run.endswith(w) if before else run.startswith(w)) for w in _WORDS if len(w) >= 3)


def _bit_flip(a: str, b: str) -> str | None:
    if len(a) != len(b):
        return None
    diff = [(x, y) for x, y in zip(a, b) if x != y]
    if len(diff) == 1:
        x, y = diff[0]
        xor = ord(x) ^ ord(y)
        if xor & (xor - 1) == 0:
            return f"'{x}' (0x{ord(x):02x}) for '{y}' (0x{ord(y):02x})"
    return None
