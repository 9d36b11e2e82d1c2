"""phishing_catcher's published method, re-implemented in our own words for measurement (its code is GPL-3 and not on PyPI).

x0rz/phishing_catcher (2017) scores each name seen in certificate-transparency logs by adding up
points: a suspicious top-level domain, the Shannon entropy of the name without its suffix (ten
points per bit), suspicious keywords with a weight each (brand names weigh most, phishing wording
less), a word one edit away from a heavy keyword, and many dashes or dots. This module follows that
method with our own keyword table (its weights in the spirit of the original's, not copied from its
data file); the brand keywords are the protected brands' profile names. No code of it is used.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable

from rapidfuzz.distance import Levenshtein

from brandhound.urls import domain_parts
from detectors.domain_similarity import fold_domain

#: The method's levels: at or above 65 "potential", 80 "likely", 90 "suspicious".
LIKELY = 80
#: Points for a brand keyword, and for a word one edit from it.
BRAND_WEIGHT = 60
NEAR_BRAND_WEIGHT = 70
#: Phishing wording and its points (our own table).
KEYWORDS = {
    "login": 25, "log-in": 25, "signin": 25, "sign-in": 25, "logon": 25, "account": 25, "verify": 25,
    "verification": 25, "password": 25, "credential": 25, "authenticate": 25, "authentication": 25,
    "webscr": 25, "wallet": 25, "recover": 25, "recovery": 25, "unlock": 25, "suspended": 25, "limited": 25,
    "security": 20, "confirm": 20, "update": 20, "support": 20, "alert": 20, "billing": 20, "transaction": 20,
    "refund": 20, "invoice": 15, "payment": 15, "service": 15, "manage": 15, "portal": 15, "helpdesk": 15,
    "delivery": 15, "parcel": 15, "tracking": 15, "banking": 15, "secure": 10, "customer": 10, "client": 10,
    "online": 10, "safe": 10, "form": 10, "mail": 10, "bill": 10, "app": 5, "web": 5,
}
#: Top-level domains the method treats as suspicious, 20 points each.
SUSPICIOUS_TLDS = frozenset({
    "ga", "gq", "ml", "cf", "tk", "xyz", "top", "club", "online", "site", "website", "space", "pw", "cc", "icu",
    "cyou", "buzz", "link", "click", "work", "info", "live", "win", "bid", "loan", "review", "country", "stream",
    "download", "racing", "party", "science", "date", "faith", "accountant", "cricket", "host", "support",
    "email", "services", "help", "men", "kim", "ink", "rest", "shop", "store", "vip", "fun",
})


def entropy(text: str) -> float:
    """Shannon entropy of ``text`` in bits per character."""
    if not text:
        return 0.0
    counts = Counter(text)
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())


class PhishingCatcher:
    """The keyword-and-entropy score of host names, with the protected brands' names as brand keywords."""

    def __init__(self, brand_names: Iterable[str]):
        self.brands = sorted({re.sub(r"[^a-z0-9]", "", n.lower()) for n in brand_names} - {""})
        self.brands = [b for b in self.brands if len(b) >= 3]

    def score(self, host: str) -> int:
        host = host.lower().strip(".")
        points = 0
        registered, suffix = domain_parts(host) if host else (None, None)
        name = host[: -len(suffix) - 1] if suffix and host.endswith("." + suffix) else host
        if suffix and suffix.rsplit(".", 1)[-1] in SUSPICIOUS_TLDS:
            points += 20
        points += round(entropy(name) * 10)
        name = fold_domain(name)          # look-alike letters read as what they imitate
        words = [w for w in re.split(r"[^a-z0-9]+", name) if w]
        for brand in self.brands:
            if brand in name:
                points += BRAND_WEIGHT
        for word, weight in KEYWORDS.items():
            if word in name:
                points += weight
        for w in words:
            if any(w != b and len(b) >= 5 and Levenshtein.distance(w, b) == 1 for b in self.brands):
                points += NEAR_BRAND_WEIGHT
        if "xn--" not in name and name.count("-") >= 4:
            points += 3 * name.count("-")
        if name.count(".") >= 3:
            points += 3 * name.count(".")
        return points
