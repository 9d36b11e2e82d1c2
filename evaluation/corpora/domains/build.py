"""Rebuild domains.csv.gz from the public sources listed in SOURCES.md (needs the fetched files; CI only reads the result).

    .venv/bin/python evaluation/corpora/domains/build.py RAW_DIR

RAW_DIR holds the fetched files: ``phishtank-*.csv`` (PhishTank ``online-valid.csv`` snapshots),
``labhost.txt``, ``blp_phishing.txt``, ``majestic.csv`` and ``umbrella100k.txt``.

The labelling rule is our own and independent of brandhound's scorer: a phishing host is
credited to a brand when one of the brand's *tokens* (its names and the labels of its official
domains, from the profiles in ``brands/``) is in it literally (``brand_name``; ``free_host`` when
its registered domain is a free web host or dynamic-DNS zone), once dots and dashes are removed
(``split_brand``), or once look-alike characters are read as the letters they imitate, or one letter
is swapped, dropped or replaced after the first in a token of six or more letters at the start of a
label part (``lookalike``). Tokens of three or four letters count only at the start of a label part. PhishTank rows
carry the feed's own ``target``: those are kept when the host names the target as above, or, with
none of those forms, when the host uses phishing wording (``keyword_only``). The rest (compromised
sites whose name says nothing) are left out and counted.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import html
import io
import re
import sys
import unicodedata
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

from rapidfuzz import fuzz

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2]))

from brandhound.profile import load_profiles  # noqa: E402
from brandhound.urls import registered_domain  # noqa: E402

#: PhishTank ``target`` values -> our brand ids.
FEED_TARGETS = {
    "PayPal": "paypal", "Facebook": "facebook", "Amazon.com": "amazon", "Microsoft": "microsoft", "Apple": "apple",
    "eBay, Inc.": "ebay", "Steam": "steam", "Internal Revenue Service": "irs", "RuneScape": "runescape",
    "Blizzard": "blizzard", "Google": "google", "Allegro": "allegro", "Netflix": "netflix", "DHL": "dhl",
    "JPMorgan Chase and Co.": "chase", "Wells Fargo": "wellsfargo", "Bank of America Corporation": "bankofamerica",
    "Royal Bank of Canada": "rbc", "Bank of Montreal": "bmo", "Scotiabank": "scotiabank", "Interac": "interac",
    "Canada Post": "canadapost", "An Post": "anpost", "Australia Post": "auspost", "Uber": "uber",
}
#: Free web hosts and dynamic-DNS zones (for the ``free_host`` category only).
FREE_HOSTS = {
    "000webhostapp.com", "weebly.com", "blogspot.com", "web.app", "firebaseapp.com", "wixsite.com", "github.io",
    "herokuapp.com", "netlify.app", "vercel.app", "glitch.me", "duckdns.org", "no-ip.org", "hopto.org", "ddns.net",
    "zapto.org", "sytes.net", "myftp.org", "serveo.net", "ngrok.io", "repl.co", "pages.dev", "workers.dev",
    "godaddysites.com", "webcindario.com", "yolasite.com", "wordpress.com", "square.site", "mystrikingly.com",
    "azurewebsites.net", "appspot.com", "sharepoint.com", "webflow.io", "framer.app", "site123.me", "jimdosite.com",
    "altervista.org", "tk", "ml", "ga", "cf", "gq",
}
PHISH_WORDS = re.compile(r"log-?in|sign-?in|verif|secur|account|update|confirm|support|service|billing|webscr|auth"
                         r"|wallet|recover|unlock|limit|suspend|client|customer|online|banking|password|alert"
                         r"|notice|refund|deliver|parcel|track|payment|invoice|helpdesk|id-?check|validat")
_CONFUSABLE = str.maketrans({"0": "o", "1": "l", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a",
                             "а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "у": "y", "х": "x", "і": "i",
                             "ј": "j", "ѕ": "s", "ԁ": "d", "ɡ": "g", "ɩ": "l", "ı": "i", "ο": "o", "α": "a"})


def host_of(text: str) -> str | None:
    text = html.unescape(text.strip())
    try:
        host = urlsplit(text if "://" in text else "http://" + text).hostname
    except ValueError:
        return None
    host = (host or "").strip(".").lower()
    if not host or "." not in host or re.fullmatch(r"[\d.]+", host):
        return None
    if "xn--" in host:
        try:
            host = host.encode("ascii").decode("idna")
        except UnicodeError:
            pass
    return host


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", text.translate(_CONFUSABLE))
    text = "".join(c for c in text if not unicodedata.combining(c))
    return text.replace("rn", "m").replace("vv", "w")


def _squash(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text)


def _near(window: str, token: str) -> bool:
    """One letter replaced, dropped or two swapped, the first letter kept (no insertions: 'stream' is
    not 'steam'; 'mail' is not 'gmail')."""
    if not window or window[0] != token[0]:
        return False
    if len(window) == len(token):
        diff = [i for i, (a, b) in enumerate(zip(window, token)) if a != b]
        return len(diff) == 1 or (len(diff) == 2 and diff[1] == diff[0] + 1
                                  and window[diff[0]] == token[diff[1]] and window[diff[1]] == token[diff[0]])
    if len(window) == len(token) - 1:
        return any(token[:i] + token[i + 1:] == window for i in range(len(token)))
    return False


def tokens_of(profile) -> list[str]:
    """The brand's names, and the labels of its official domains that hold a name (paypalobjects, not
    live or office: common words say nothing of the brand)."""
    out = {_squash(n.lower()) for n in profile.names}
    names = [n for n in out if len(n) >= 3]
    for d in profile.official_domains:
        reg = registered_domain(d) or d
        label = _squash(reg.split(".")[0])
        if any(n in label for n in names):
            out.add(label)
    return sorted((t for t in out if len(t) >= 3), key=len, reverse=True)


def _short_ok(host: str, token: str) -> bool:
    """Tokens of three or four letters count only at the start of a label part (irs-refund, rbcroyal; not
    repairs, whalebay)."""
    return any(p.startswith(token) for p in re.split(r"[.\-]", host))


def categorise(host: str, tokens: list[str]) -> str | None:
    reg = registered_domain(host) or host
    suffix = reg.split(".", 1)[1] if "." in reg else ""
    full = host
    host = host[: -len(suffix) - 1] if suffix and host.endswith("." + suffix) else host   # not the TLD (.live)
    for t in tokens:
        if t in host and (len(t) > 4 or _short_ok(host, t)):
            return "free_host" if reg in FREE_HOSTS or full.rsplit(".", 1)[-1] in FREE_HOSTS else "brand_name"
    squashed = _squash(host)
    parts = re.split(r"[.\-]", host)
    for t in tokens:
        # Split: found only across a dot or dash, in no single part (not uber in joubertbotha).
        if len(t) >= 4 and t in squashed and not any(t in p for p in parts):
            return "split_brand"
    folded = _squash(_fold(host))
    for t in tokens:
        if len(t) >= 4 and t in folded and t not in squashed:   # only once the look-alikes are read
            return "lookalike"
    for t in tokens:
        # partial_ratio (fast, C) only preselects; the rule itself is _near's.
        if len(t) >= 6 and fuzz.partial_ratio(t, squashed) >= 75:
            # Only at the start of a label part: inside a longer word a near-miss is mostly another word.
            for part in re.split(r"[.\-]", host):
                if any(_near(part[:size], t) for size in (len(t), len(t) - 1)):
                    return "lookalike"
    return None


def _under(host: str, domains) -> bool:
    return any(host == d or host.endswith("." + d) for d in domains)


def _draw(key: str) -> float:
    """A stable number in [0, 1) for sampling; salted so that it does not follow the dev/test split's hash."""
    return int.from_bytes(hashlib.sha256(b"domains-sample:" + key.encode()).digest()[:8], "big") / 2**64


def _keep(key: str, share: float) -> bool:
    return _draw(key) < share


def main(raw: Path) -> None:
    profiles = load_profiles(HERE / "brands", detect_only=True)
    tokens = {p.id: tokens_of(p) for p in profiles}
    official = {p.id: [d.lower() for d in p.official_domains] for p in profiles}
    every_official = [d for ds in official.values() for d in ds]
    positives: dict[str, tuple[str, str, str]] = {}   # host -> (brand, category, source)
    dropped: Counter[str] = Counter()

    for path in sorted(raw.glob("phishtank-*.csv")):
        with path.open(encoding="utf-8", errors="replace") as fh:
            for row in csv.DictReader(fh):
                brand = FEED_TARGETS.get(html.unescape(row.get("target") or ""))
                host = host_of(row.get("url") or "")
                if not brand or not host or host in positives:
                    continue
                if _under(host, every_official):
                    dropped["phishtank: on an official domain"] += 1
                    continue
                category = categorise(host, tokens[brand])
                if category is None and PHISH_WORDS.search(host):
                    category = "keyword_only"
                if category is None:
                    dropped["phishtank: name says nothing of the target"] += 1
                    continue
                positives[host] = (brand, category, "phishtank")

    for name, source in (("labhost.txt", "labhost"), ("blp_phishing.txt", "blocklistproject")):
        for line in (raw / name).read_text(encoding="utf-8", errors="replace").splitlines():
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            host = host_of(line.split()[-1])
            if not host or host in positives or _under(host, every_official):
                continue
            found = [(b, c) for b in tokens if (c := categorise(host, tokens[b]))]
            if len(found) != 1:
                dropped[f"{source}: {'no' if not found else 'several'} brand(s) in the name"] += 1
                continue
            positives[host] = (found[0][0], found[0][1], source)

    # At most 200 hosts per brand and source, chosen by a hash of the host, so no brand or feed dominates.
    per: Counter[tuple[str, str]] = Counter()
    kept: dict[str, tuple[str, str, str]] = {}
    for host in sorted(positives, key=_draw):
        brand, category, source = positives[host]
        if per[brand, source] >= 200:
            dropped["over the per-brand cap"] += 1
            continue
        per[brand, source] += 1
        kept[host] = positives[host]

    rows: list[tuple[str, str, str, str, str]] = [(h, "phishing", b, c, s) for h, (b, c, s) in kept.items()]
    seen = set(positives)
    with (raw / "majestic.csv").open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            host = row["Domain"].strip().lower()
            if host and host not in seen:
                seen.add(host)
                rows.append((host, "popular", "", "popular", "majestic"))
    brand_words = [t for ts in tokens.values() for t in ts if len(t) >= 4]
    per_zone: Counter[str] = Counter()   # at most 20 names of one registered domain (googlevideo.com has thousands)
    for line in (raw / "umbrella100k.txt").read_text(encoding="utf-8").splitlines():
        host = line.strip().lower()
        reg = registered_domain(host)
        if not host or host in seen or not reg or reg == host:
            continue
        # A sample of each kind: the brands' own hosts, hosts with a brand's word in them, and any others.
        if _under(host, every_official):
            category = "brand_official" if _keep(host, 0.15) else ""
        elif any(t in host for t in brand_words):
            category = "brand_word" if _keep(host, 0.2) else ""
        elif _keep(host, 0.08):
            category = "subdomain"
        else:
            continue
        if not category or per_zone[reg] >= 20:
            continue
        per_zone[reg] += 1
        seen.add(host)
        rows.append((host, "benign", "", category, "umbrella"))

    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(("host", "label", "brand", "category", "source"))
    writer.writerows(sorted(rows, key=lambda r: (r[1], r[0])))
    with gzip.open(HERE / "domains.csv.gz", "wt", encoding="utf-8", compresslevel=9) as out:
        out.write(buf.getvalue())
    print(Counter((r[1], r[3]) for r in rows), file=sys.stderr)
    print(Counter(r[2] for r in rows if r[1] == "phishing"), file=sys.stderr)
    print(Counter(r[4] for r in rows), dropped, file=sys.stderr)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
