"""A streaming scanner for leak dumps: corporate credentials, payment cards and secrets.

Dumps are big (combo lists of gigabytes), dirty (binary garbage, several encodings in one
file, lines of any length) and mostly irrelevant: nearly every line is someone else's
account. The scanner is built for that:

* It reads in bounded chunks (:attr:`LeakScanner.chunk_size`) and works on *blocks* of whole
  lines. A line longer than :attr:`LeakScanner.max_line` is never held whole: it is scanned in
  overlapping windows, so memory stays bounded even for a 1 GB line.
* Each block is first searched, at the byte level, for every corporate e-mail domain and every
  secret prefix at once with an Aho-Corasick automaton (``pyahocorasick``), on the lowercased
  bytes. Only the lines where something matched are decoded (UTF-8, else cp1252, else
  latin-1, which never fails) and parsed with regular expressions. Card numbers, which have no
  fixed prefix, are found with one compiled byte pattern per block and checked with Luhn.
* The clear secret exists only inside the parse functions here: it is turned into a
  :class:`~brandhound.items.Secret` (masked, length, HMAC) right away, and a :class:`LeakHit`
  carries only that. Account names (e-mail, user name) are kept in clear: they are what a
  security team acts on.

Credential formats: ``email:password``, ``email;password``, ``email|password``,
``url:login:password`` (and with spaces or ``;``/``|``), URL user info
(``https://user:pass@host``) and stealer-log blocks (``URL:`` / ``USER:`` / ``PASS:`` lines).
Only credentials of the brand's corporate domains are parsed at all: a line without one of
them is never decoded. A password is the token after the separator up to the next white space.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urlsplit

import ahocorasick

from brandhound.config import HmacKey
from brandhound.items import Secret
from brandhound.profile import BrandProfile
from detectors.secret_masking import protect, protect_card

CHUNK_SIZE = 1 << 20
#: Longest line scanned as one piece; longer lines are scanned in windows of this size.
MAX_LINE = 1 << 20
#: Overlap between windows of a long line: a token shorter than this is never cut in two.
WINDOW_OVERLAP = 16 << 10
#: Longest password accepted (longer "passwords" are text, not credentials).
MAX_PASSWORD = 256
#: How far back a block keeps an unfinished private key or stealer record for the next block.
MAX_HOLDBACK = 64 << 10


@dataclass(frozen=True)
class LeakHit:
    """One leaked credential, card or secret found in a dump. Never holds the clear secret."""

    #: credential, card or secret.
    kind: str
    secret: Secret
    #: 1-based line number in the dump.
    line: int
    #: Byte offset in the dump where the credential, card number or secret starts.
    offset: int
    #: The account in clear, for credentials: lowercase e-mail address or user name.
    user: str | None = None
    #: Domain of the account's e-mail address (or of the service URL, for a bare user name).
    domain: str | None = None
    #: Credentials: the line format (email:password, url:login:password, stealer_log...);
    #: secrets: the key type (aws_access_key_id, github_token, private_key...); cards: None.
    secret_type: str | None = None
    #: The service URL the credential is for, when the dump says.
    service: str | None = None
    #: Corporate domain (credentials), brand BIN range (cards) or brand secret prefix (secrets).
    matched: str | None = None
    #: The hit belongs to the brand: corporate account, brand BIN, brand key prefix.
    brand: bool = False
    #: Card: an expiry date follows the number. Secret: it is assigned (``NAME=value``).
    context: str | None = None

    @property
    def account(self) -> str:
        return self.user or ""


# --------------------------------------------------------------------------- helpers


def luhn_valid(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def decode_line(raw: bytes) -> tuple[str, str]:
    """``raw`` as text and the encoding used: UTF-8, else cp1252, else latin-1 (never fails)."""
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        return raw.decode("latin-1"), "latin-1"


def _byte_index(text: str, encoding: str, index: int) -> int:
    return len(text[:index].encode("utf-8", "surrogatepass")) if encoding == "utf-8" else index


def _domain_forms(domain: str) -> set[str]:
    forms = {domain.lower()}
    try:
        forms.add(domain.encode("idna").decode("ascii").lower())
    except UnicodeError:
        pass
    return forms


@dataclass(frozen=True)
class _SecretRule:
    name: str
    anchors: tuple[str, ...]
    pattern: re.Pattern[bytes]
    #: The value is this group of the match (0: the whole match).
    group: int = 0
    brand: bool = False
    #: What to show as the match (the brand prefix as written in the profile).
    label: str | None = None
    #: The anchor must not follow a letter or digit.
    boundary: bool = True


_ALNUM = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")

_BUILTIN_RULES = (
    _SecretRule("aws_access_key_id", ("akia", "asia", "abia", "acca", "a3t"),
                re.compile(rb"(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}(?![A-Za-z0-9])")),
    _SecretRule("aws_secret_access_key", ("secret_access_key", "secretaccesskey", "aws_secret_key"),
                re.compile(rb"(?i:secret_?access_?key|aws_secret_key)[\"']?\s*[:=]\s*[\"']?"
                           rb"([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])"), group=1, boundary=False),
    _SecretRule("github_token", ("ghp_", "gho_", "ghu_", "ghs_", "ghr_"),
                re.compile(rb"gh[pousr]_[A-Za-z0-9]{36,251}(?![A-Za-z0-9])")),
    _SecretRule("github_token", ("github_pat_",), re.compile(rb"github_pat_[A-Za-z0-9_]{22,255}(?![A-Za-z0-9_])")),
    _SecretRule("gitlab_token", ("glpat-",), re.compile(rb"glpat-[A-Za-z0-9_-]{20,50}(?![A-Za-z0-9_-])")),
    _SecretRule("slack_token", ("xox",),
                re.compile(rb"xox[abposr]-(?:[A-Za-z0-9]{1,40}-){1,4}[A-Za-z0-9]{8,64}(?![A-Za-z0-9-])")),
    _SecretRule("slack_webhook", ("hooks.slack.com/services/",),
                re.compile(rb"hooks\.slack\.com/services/T[A-Z0-9]{6,}/B[A-Z0-9]{6,}/[A-Za-z0-9]{16,}"),
                boundary=False),
    _SecretRule("stripe_key", ("sk_live_", "sk_test_", "rk_live_", "rk_test_"),
                re.compile(rb"[sr]k_(?:live|test)_[A-Za-z0-9]{16,247}(?![A-Za-z0-9])")),
    _SecretRule("google_api_key", ("aiza",), re.compile(rb"AIza[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])")),
    _SecretRule("jwt", ("eyj",),
                re.compile(rb"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,}(?![A-Za-z0-9_-])")),
    _SecretRule("private_key", ("-----begin",),
                re.compile(rb"-----BEGIN ((?:[A-Z0-9]+ )*)PRIVATE KEY( BLOCK|)-----(?:(?!-----).){16,20000}?"
                           rb"-----END \1PRIVATE KEY\2-----", re.DOTALL), boundary=False),
)

# Card numbers: 13-19 digits, or 4-4-4-4(-3) / 4-6-5 groups with one separator, not inside a
# longer run of letters and digits. The first digit is matched before the look-behind so that
# the engine's fast first-character scan applies.
_CARD = re.compile(
    rb"[2-6](?<![0-9A-Za-z][2-6])"
    rb"(?:[0-9]{12,18}|[0-9]{3}(?P<s>[ -])[0-9]{4}(?P=s)[0-9]{4}(?P=s)[0-9]{4}(?:(?P=s)[0-9]{3})?"
    rb"|[0-9]{3}(?P<a>[ -])[0-9]{6}(?P=a)[0-9]{5})(?![0-9A-Za-z])"
)
_EXPIRY = re.compile(rb"\D{0,6}(?:0[1-9]|1[0-2])\s?/\s?(?:[0-9]{4}|[0-9]{2})(?![0-9])")
_ASSIGNMENT = re.compile(rb"[A-Za-z0-9_.\-\"']\s*[:=]\s*[\"']?$")

_EMAIL = re.compile(r"(?<![\w.%+\-])([\w.%+\-]{1,64})@((?:[\w\-]{1,63}\.)+[\w\-]{2,63})")
_AFTER_EMAIL = re.compile(r"[ \t]*([:;|\t])[ \t]*(\S{1,%d})(?!\S)" % MAX_PASSWORD)
_URL_PREFIX = re.compile(r"^\s*((?:https?|ftp|android)://\S+?)[ \t]*[:;|\t ][ \t]*$", re.I)
_URL_LOGIN = re.compile(
    r"^\s*(?P<url>(?:https?|ftp)://[^\s:;|/]+(?::\d{1,5})?(?:/[^\s:;|]*)?)[ \t]*[ \t:;|][ \t]*"
    r"(?P<login>[^\s:;|]{1,128})[ \t]*[ \t:;|][ \t]*(?P<pw>\S{1,%d})[ \t]*$" % MAX_PASSWORD, re.I)
_USERINFO = re.compile(r"\b[a-z][a-z0-9+.\-]{1,15}://([^\s:@/]{1,128}):([^\s@/]{1,%d})@([\w.\-]+)" % MAX_PASSWORD,
                       re.I)
_FIELD = re.compile(r"^\s*(url|host|soft|software|user(?:name)?|login|pass(?:word)?)\s*[:=]\s?(.*?)\s*$", re.I)
_FIELD_BYTES = re.compile(rb"[ \t]*(?i:url|host|soft|software|user(?:name)?|login|pass(?:word)?)\s*[:=]")


def _parse_bin_ranges(ranges: Iterable[str]) -> list[tuple[str, str, str]]:
    out = []
    for r in ranges:
        low, _, high = r.partition("-")
        out.append((low, high or low, r))
    return out


# --------------------------------------------------------------------------- the scanner


class LeakScanner:
    """Scans dumps for one brand's leaks. Build once per brand (the automaton), reuse for every dump."""

    def __init__(self, key: HmacKey, *, corporate_domains: Iterable[str], card_bin_ranges: Iterable[str] = (),
                 secret_prefixes: Iterable[str] = (), other_cards: bool = True, chunk_size: int = CHUNK_SIZE,
                 max_line: int = MAX_LINE, overlap: int = WINDOW_OVERLAP):
        if not overlap < max_line:
            raise ValueError("the window overlap must be smaller than the longest line")
        self.key = key
        #: Report Luhn-valid cards outside the brand's BIN ranges too (as ``brand=False`` hits).
        self.other_cards = other_cards
        self.chunk_size = chunk_size
        self.max_line = max_line
        self.overlap = overlap
        # Longest first, so corp.kestrava.com wins over kestrava.com.
        self.domains: list[str] = sorted({f for d in corporate_domains for f in _domain_forms(d)},
                                         key=lambda d: (-len(d), d))
        self.bins = _parse_bin_ranges(card_bin_ranges)
        rules = list(_BUILTIN_RULES)
        for prefix in dict.fromkeys(secret_prefixes):
            rules.append(_SecretRule("brand_api_key", (prefix.lower(),),
                                     re.compile(re.escape(prefix.encode("utf-8")) + rb"[A-Za-z0-9_\-]{8,200}(?![A-Za-z0-9_\-])"),
                                     brand=True, label=prefix, boundary=prefix[:1].isalnum()))
        self.rules = rules
        self.automaton = ahocorasick.Automaton()
        patterns: dict[str, list] = {}
        for domain in self.domains:
            for encoding in ("utf-8", "cp1252"):
                try:
                    needle = domain.encode(encoding).lower().decode("latin-1")
                except UnicodeEncodeError:
                    continue
                patterns.setdefault(needle, []).append(("domain", domain))
        for rule in rules:
            for anchor in rule.anchors:
                patterns.setdefault(anchor.encode("utf-8").lower().decode("latin-1"), []).append(("secret", rule))
        for needle, targets in patterns.items():
            self.automaton.add_word(needle, (len(needle), tuple(targets)))
        self.automaton.make_automaton()

    @classmethod
    def from_profile(cls, profile: BrandProfile, key: HmacKey, **kwargs) -> LeakScanner:
        return cls(key, corporate_domains=profile.corporate_email_domains, card_bin_ranges=profile.card_bin_ranges,
                   secret_prefixes=profile.secret_prefixes, **kwargs)

    # ----------------------------------------------------------------- sources

    def scan(self, source: str | bytes | bytearray | os.PathLike | BinaryIO | Iterable[bytes]) -> Iterator[LeakHit]:
        """Hits in ``source``, in order: ``str`` is dump *text*; a :class:`~pathlib.Path` is a file;
        a binary file object is read in chunks; any other iterable yields byte chunks."""
        if isinstance(source, str):
            return self.scan_text(source)
        if isinstance(source, (bytes, bytearray, memoryview)):
            data = memoryview(source)
            return self._scan_chunks(bytes(data[i:i + self.chunk_size]) for i in range(0, len(data), self.chunk_size))
        if isinstance(source, os.PathLike):
            return self.scan_path(source)
        if hasattr(source, "read"):
            return self._scan_chunks(self._read_chunks(source))
        return self._scan_chunks(source)

    def scan_text(self, text: str) -> Iterator[LeakHit]:
        step = self.chunk_size
        return self._scan_chunks(text[i:i + step].encode("utf-8", "surrogatepass") for i in range(0, len(text), step))

    def scan_path(self, path: str | os.PathLike) -> Iterator[LeakHit]:
        """Hits in the file at ``path``; ``-`` is standard input."""
        if str(path) == "-":
            yield from self._scan_chunks(self._read_chunks(sys.stdin.buffer))
            return
        with open(Path(path), "rb") as fh:
            yield from self._scan_chunks(self._read_chunks(fh))

    def _read_chunks(self, fh: BinaryIO) -> Iterator[bytes]:
        while chunk := fh.read(self.chunk_size):
            yield chunk

    # ----------------------------------------------------------------- blocks and windows

    def _scan_chunks(self, chunks: Iterable[bytes]) -> Iterator[LeakHit]:
        max_line, overlap = self.max_line, self.overlap
        buf = b""
        base = 0        # offset of buf[0] in the dump
        line_no = 1     # line number of buf[0]
        in_long_line = False
        chunks = iter(chunks)
        eof = False
        while not eof:
            chunk = next(chunks, None)
            if chunk is None:
                eof = True
            else:
                # A source may hand over anything: never let one chunk exceed the bound.
                if len(chunk) > self.chunk_size:
                    chunks = _chain_split(chunk, self.chunk_size, chunks)
                    continue
                buf += chunk
            while buf:
                if in_long_line:
                    end = buf.find(b"\n")
                    if end != -1 or (eof and len(buf) <= max_line):
                        end = len(buf) if end == -1 else end
                        yield from self._scan_piece(buf[:end], base, line_no, report_below=end, lines=False)
                        buf, base, line_no, in_long_line = buf[end + 1:], base + end + 1, line_no + 1, False
                        continue
                    if len(buf) >= max_line:
                        step = max_line - overlap
                        yield from self._scan_piece(buf[:max_line], base, line_no, report_below=step, lines=False)
                        buf, base = buf[step:], base + step
                        continue
                    break
                nl = buf.rfind(b"\n")
                if nl == -1:
                    if len(buf) >= max_line:
                        in_long_line = True
                        continue
                    if eof:
                        yield from self._scan_piece(buf, base, line_no, report_below=len(buf), lines=True)
                        buf = b""
                    break
                cut = nl + 1
                if not eof:
                    cut = self._holdback(buf, cut)
                    if cut == 0:
                        if len(buf) < max_line:
                            break
                        cut = nl + 1
                block = buf[:cut]
                yield from self._scan_piece(block, base, line_no, report_below=cut, lines=True)
                line_no += block.count(b"\n")
                buf, base = buf[cut:], base + cut
                if len(buf) < max_line and not eof:
                    break

    def _holdback(self, buf: bytes, cut: int) -> int:
        """Where to end a block so that a private key or a stealer record at its end is not cut."""
        start = buf.rfind(b"-----BEGIN", max(0, cut - MAX_HOLDBACK), cut)
        if start != -1 and buf.find(b"-----END", start, cut) == -1:
            cut = buf.rfind(b"\n", 0, start) + 1
        # A run of URL:/USER:/PASS: lines touching the end of the block goes to the next block whole.
        for _ in range(12):
            if cut == 0:
                break
            line_start = buf.rfind(b"\n", 0, cut - 1) + 1
            if not _FIELD_BYTES.match(buf, line_start, cut):
                break
            cut = line_start
        return cut

    def _scan_piece(self, piece: bytes, base: int, line_no: int, *, report_below: int, lines: bool) -> Iterator[LeakHit]:
        """Hits in ``piece``: a block of whole lines (``lines``) or a window of one long line.
        Only hits starting before ``report_below`` are reported (the rest is in the next window)."""
        found: dict[tuple[int, str], LeakHit] = {}
        credential_lines: set[int] = set()
        secret_starts: dict[int, list[_SecretRule]] = {}
        lowered = piece.lower().decode("latin-1")
        for end, (length, targets) in self.automaton.iter(lowered):
            start = end - length + 1
            for kind, target in targets:
                if kind == "domain":
                    credential_lines.add(piece.rfind(b"\n", 0, start) + 1 if lines else 0)
                else:
                    secret_starts.setdefault(start, []).append(target)
        newlines = _LineCounter(piece, line_no) if lines else None

        def line_of(pos: int) -> int:
            return newlines.at(pos) if newlines is not None else line_no

        for start, rules in sorted(secret_starts.items()):
            if start >= report_below:
                continue
            hit = self._secret_at(piece, start, rules, base, line_of)
            if hit is not None:
                found.setdefault((hit.offset, "secret"), hit)
        for match in _CARD.finditer(piece, 0, len(piece)):
            if match.start() >= report_below:
                break
            hit = self._card(piece, match, base, line_of)
            if hit is not None:
                found.setdefault((hit.offset, "card"), hit)
        done_records: set[int] = set()
        for line_start in sorted(credential_lines):
            if line_start >= report_below:
                continue
            line_end = piece.find(b"\n", line_start) if lines else -1
            line_end = len(piece) if line_end == -1 else line_end
            for hit in self._credentials(piece, line_start, line_end, base, line_of, lines, done_records,
                                         report_below):
                found.setdefault((hit.offset, "credential"), hit)
        yield from sorted(found.values(), key=lambda h: (h.offset, h.kind))

    # ----------------------------------------------------------------- secrets and cards

    def _secret_at(self, piece: bytes, start: int, rules: list[_SecretRule], base: int, line_of) -> LeakHit | None:
        for rule in sorted(rules, key=lambda r: not r.brand):  # a brand prefix wins over a generic rule
            if rule.boundary and start > 0 and piece[start - 1] in _ALNUM:
                continue
            match = rule.pattern.match(piece, start)
            if match is None:
                continue
            value = match.group(rule.group).decode("ascii", "replace")
            if rule.name == "private_key":
                value = "\n".join(ln.strip() for ln in value.replace("\\n", "\n").splitlines() if ln.strip())
            value_start = match.start(rule.group)
            context = "assignment" if _ASSIGNMENT.search(piece, max(0, value_start - 64), value_start) else None
            return LeakHit(kind="secret", secret=protect(value, self.key), line=line_of(value_start),
                           offset=base + value_start, secret_type=rule.name, brand=rule.brand,
                           matched=rule.label, context=context)
        return None

    def _card(self, piece: bytes, match: re.Match[bytes], base: int, line_of) -> LeakHit | None:
        digits = match.group().replace(b" ", b"").replace(b"-", b"").decode("ascii")
        if not 13 <= len(digits) <= 19:
            return None
        matched = next((label for low, high, label in self.bins
                        if int(low) <= int(digits[:len(low)]) and int(digits[:len(high)]) <= int(high)), None)
        if (matched is None and not self.other_cards) or len(set(digits)) < 3 or not luhn_valid(digits):
            return None
        context = "expiry" if _EXPIRY.match(piece, match.end(), match.end() + 24) else None
        return LeakHit(kind="card", secret=protect_card(digits, self.key), line=line_of(match.start()),
                       offset=base + match.start(), matched=matched, brand=matched is not None, context=context)

    # ----------------------------------------------------------------- credentials

    def corporate_domain(self, domain: str | None) -> str | None:
        """The corporate domain ``domain`` is or is under, else None."""
        if not domain:
            return None
        domain = domain.lower().rstrip(".")
        for corp in self.domains:
            if domain == corp or domain.endswith("." + corp):
                return corp
        return None

    def _credentials(self, piece: bytes, line_start: int, line_end: int, base: int, line_of, lines: bool,
                     done_records: set[int], report_below: int) -> Iterator[LeakHit]:
        raw = piece[line_start:line_end]
        if raw.endswith(b"\r"):
            raw = raw[:-1]
        if lines and _FIELD_BYTES.match(raw):
            yield from self._stealer_record(piece, line_start, base, line_of, done_records)
            return
        text, encoding = decode_line(raw)
        line = line_of(line_start)

        def offset(index: int) -> int:
            return base + line_start + _byte_index(text, encoding, index)

        taken: list[tuple[int, int]] = []
        for m in (_USERINFO.finditer(text) if "://" in text else ()):
            taken.append(m.span())
            corp = self.corporate_domain(m.group(3))
            if corp and line_start + m.start() < report_below:
                yield self._credential(m.group(1), m.group(2), line, offset(m.start()), corp, "url_userinfo",
                                       service=f"{text[m.start():m.start(1)]}{m.group(3)}")
        for m in _EMAIL.finditer(text):
            if any(a <= m.start() < b for a, b in taken) or line_start + m.start() >= report_below:
                continue
            corp = self.corporate_domain(m.group(2))
            if corp is None:
                continue
            after = _AFTER_EMAIL.match(text, m.end())
            if after is None or _EMAIL.fullmatch(after.group(2)):
                continue
            service = None
            prefix = _URL_PREFIX.match(text, 0, m.start()) if lines else None
            sep = after.group(1)
            if prefix:
                service, fmt = prefix.group(1), "url:login:password"
            else:
                fmt = {":": "email:password", ";": "email;password", "|": "email|password"}.get(sep, "email\tpassword")
            yield self._credential(m.group(0), after.group(2), line, offset(m.start()), corp, fmt, service=service)
        if lines and "://" in text:
            m = _URL_LOGIN.match(text)
            if m and "@" not in m.group("login"):
                host = urlsplit(m.group("url")).hostname
                corp = self.corporate_domain(host)
                if corp:
                    yield self._credential(m.group("login"), m.group("pw"), line, offset(m.start("login")), corp,
                                           "url:login:password", service=m.group("url"), email=False)

    def _credential(self, user: str, password: str, line: int, offset: int, corp: str, fmt: str, *,
                    service: str | None = None, email: bool | None = None) -> LeakHit:
        is_email = ("@" in user) if email is None else email
        account = user.lower() if is_email else user
        domain = account.rpartition("@")[2] if is_email else (urlsplit(service).hostname if service else corp)
        return LeakHit(kind="credential", secret=protect(password, self.key), line=line, offset=offset,
                       user=account, domain=domain, secret_type=fmt, service=service, matched=corp, brand=True)

    def _stealer_record(self, piece: bytes, line_start: int, base: int, line_of,
                        done_records: set[int]) -> Iterator[LeakHit]:
        """The URL/USER/PASS run of lines around ``line_start``, split into records."""
        run_start = line_start
        for _ in range(12):
            if run_start == 0:
                break
            prev = piece.rfind(b"\n", 0, run_start - 1) + 1
            if not _FIELD_BYTES.match(piece, prev, run_start - 1):
                break
            run_start = prev
        if run_start in done_records:
            return
        done_records.add(run_start)
        records: list[dict[str, tuple[str, int]]] = []
        current: dict[str, tuple[str, int]] = {}
        pos = run_start
        for _ in range(64):
            end = piece.find(b"\n", pos)
            end = len(piece) if end == -1 else end
            raw = piece[pos:end].rstrip(b"\r")
            text, encoding = decode_line(raw)
            m = _FIELD.match(text)
            if m is None:
                break
            name = m.group(1).lower()
            field_name = {"host": "url", "username": "user", "login": "user", "password": "pass",
                          "software": "soft"}.get(name, name)
            if field_name in current or (field_name == "url" and current):
                records.append(current)
                current = {}
            current[field_name] = (m.group(2), pos + _byte_index(text, encoding, m.start(2)))
            if end >= len(piece):
                break
            pos = end + 1
        records.append(current)
        for record in records:
            if "user" not in record or "pass" not in record or not record["pass"][0]:
                continue
            user, user_at = record["user"]
            password = record["pass"][0]
            url = record.get("url", ("", 0))[0] or None
            if " " in password or len(password) > MAX_PASSWORD or not user:
                continue
            if "@" in user:
                corp = self.corporate_domain(user.rpartition("@")[2])
            else:
                corp = self.corporate_domain(_host(url))
            if corp:
                yield self._credential(user, password, line_of(user_at), base + user_at, corp, "stealer_log",
                                       service=url, email="@" in user)


def _host(url: str | None) -> str | None:
    if not url:
        return None
    try:
        return urlsplit(url if "://" in url else f"//{url}").hostname
    except ValueError:
        return None


def _chain_split(chunk: bytes, size: int, rest: Iterator[bytes]) -> Iterator[bytes]:
    view = memoryview(chunk)
    for i in range(0, len(chunk), size):
        yield bytes(view[i:i + size])
    yield from rest


class _LineCounter:
    """Line numbers of positions in a block, for positions asked in any order (cached by position)."""

    def __init__(self, block: bytes, first_line: int):
        self.block = block
        self.first_line = first_line
        self.pos = 0
        self.line = first_line

    def at(self, pos: int) -> int:
        if pos < self.pos:
            self.pos, self.line = 0, self.first_line
        self.line += self.block.count(b"\n", self.pos, pos)
        self.pos = pos
        return self.line
